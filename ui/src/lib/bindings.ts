// Generated from the Rust types in crates/amosync by ts-rs. Do not edit by hand:
// UPDATE_BINDINGS=1 cargo test -p amosync --test bindings

export type ErrorCode = "DemoUnavailable" | "AuthRevoked" | "OAuthDenied" | "AccountBlocked" | "Forbidden" | "PaymentRequired" | "RateLimited" | "Unreachable" | "Api" | "NotConnected" | "AccountMismatch" | "NotFound" | "StoreUnavailable" | "Local" | "InvalidInput";

export type AppError = { code: ErrorCode, message: string, };

export type Source = "demo" | "account";

export type StatusSummary = { id: number, name: string, 
/**
 * `#rrggbb`.
 */
color: string, sort: number, 
/**
 * Live (not deleted) leads in this status.
 */
leads: number, 
/**
 * Sum of their prices, in the account's currency.
 */
price_sum: number, };

export type PipelineSummary = { id: number, name: string, is_main: boolean, statuses: Array<StatusSummary>, };

export type Overview = { source: Source, account_name: string, subdomain: string, currency: string, pipelines: Array<PipelineSummary>, };

export type TimeRange = { 
/**
 * Inclusive start.
 */
from: number | null, 
/**
 * Exclusive end.
 */
to: number | null, };

export type StatusKind = "open" | "won" | "lost";

export type FunnelQuery = { 
/**
 * The pipeline.
 */
pipeline_id: number, 
/**
 * Only leads created in this range.
 */
created: TimeRange | null, 
/**
 * Only leads closed (won/lost) in this range; open leads are then left out.
 */
closed: TimeRange | null, 
/**
 * Only leads of these responsible users (empty = all).
 */
responsible_user_ids: Array<number>, 
/**
 * Also compute the median time in each status from the history (slower).
 */
with_time_in_status: boolean, };

export type FunnelStatus = { 
/**
 * Status id.
 */
status_id: number, 
/**
 * Name (Cyrillic kept as is).
 */
name: string, 
/**
 * `#rrggbb`.
 */
color: string, 
/**
 * Sort order in the pipeline.
 */
sort: number, 
/**
 * Open / won / lost.
 */
kind: StatusKind, 
/**
 * Leads currently in the status (not deleted).
 */
count: number, 
/**
 * Sum of their prices.
 */
price_sum: number, 
/**
 * Leads that reached this status or went further (open statuses): leads
 * now in it or a later open status, every won lead, and lost leads whose
 * last open status was this one or later (a lost lead whose last open
 * status is unknown counts only at the first status). For the won and
 * lost rows: their `count`.
 */
reached: number, 
/**
 * `reached(next open status) / reached(this)`; `None` for the last open status, won, lost, or 0 reached.
 */
conversion_to_next: number | null, 
/**
 * `won / reached(this)`; `None` for won/lost or 0 reached.
 */
conversion_to_won: number | null, 
/**
 * Median seconds a lead stayed in this status (only `with_time_in_status`;
 * open statuses only). Counts finished stays only, from entering the
 * status to the lead's next move in the history; leads still in the
 * status are left out. `None` when no stay finished.
 */
median_seconds_in_status: number | null, };

export type Funnel = { 
/**
 * Pipeline id.
 */
pipeline_id: number, 
/**
 * Pipeline name.
 */
pipeline_name: string, 
/**
 * Every status, in `sort` order, 142 and 143 last.
 */
statuses: Array<FunnelStatus>, 
/**
 * Leads in the funnel (all statuses).
 */
total_count: number, 
/**
 * Their price sum.
 */
total_price: number, 
/**
 * Leads in open statuses.
 */
open_count: number, 
/**
 * Won leads (142).
 */
won_count: number, 
/**
 * Won money.
 */
won_price: number, 
/**
 * Lost leads (143).
 */
lost_count: number, 
/**
 * Lost money.
 */
lost_price: number, 
/**
 * `won / (won + lost)`, `None` when nothing is closed.
 */
win_rate: number | null, };

export type LeadsOrder = "updated_desc" | "created_desc" | "id_asc" | "price_desc";

export type LeadsQuery = { 
/**
 * Case-insensitive text: lead name, tag, or a linked contact's name,
 * phone (digits compared) or email.
 */
search: string | null, 
/**
 * Only this pipeline.
 */
pipeline_id: number | null, 
/**
 * Only this status (with `pipeline_id`).
 */
status_id: number | null, 
/**
 * Only these responsible users (empty = all).
 */
responsible_user_ids: Array<number>, 
/**
 * Only leads created in this range.
 */
created: TimeRange | null, 
/**
 * Only leads closed (won/lost) in this range; open leads are then left
 * out (the rule of [`FunnelQuery::closed`]).
 */
closed: TimeRange | null, 
/**
 * Include tombstoned leads.
 */
include_deleted: boolean, 
/**
 * Order.
 */
order: LeadsOrder, 
/**
 * Skip this many.
 */
offset: number, 
/**
 * At most this many (default 100, max 100 000).
 */
limit: number | null, };

export type ChannelCount = { 
/**
 * Channel (`origin`).
 */
origin: string, 
/**
 * Talks.
 */
talks: number, 
/**
 * Unread talks.
 */
unread: number, 
/**
 * Talks in work.
 */
in_work: number, };

export type Named = { id: number, name: string, };

export type StatusRef = { id: number, name: string, 
/**
 * `#rrggbb`.
 */
color: string, sort: number, kind: StatusKind, };

export type PipelineRef = { id: number, name: string, is_main: boolean, statuses: Array<StatusRef>, };

export type AccountView = { source: Source, account_name: string, subdomain: string, 
/**
 * `https://sub.amocrm.ru` (or the emulator's address in the demo).
 */
base_url: string, 
/**
 * ISO 4217 code of the account's currency (`RUB` when amoCRM gives none).
 */
currency: string, 
/**
 * The account's IANA time zone (`Asia/Tbilisi`), which every date is
 * shown and exported in; `null` when unknown (an old store, a name the
 * time zone database lacks): then this computer's zone, and the UI
 * says so.
 */
time_zone: string | null, 
/**
 * Main pipeline first.
 */
pipelines: Array<PipelineRef>, 
/**
 * Users, by name.
 */
users: Array<Named>, 
/**
 * Live leads in the store.
 */
leads: number, 
/**
 * Talks in the store.
 */
talks: number, };

export type LeadRow = { id: number, name: string, price: number, pipeline_id: number, status_id: number, 
/**
 * The status's name (`"?"` when the pipeline is not known yet).
 */
status_name: string, status_color: string, status_kind: StatusKind, responsible_user_id: number, responsible_name: string | null, 
/**
 * Unix seconds.
 */
created_at: number, updated_at: number, closed_at: number | null, tags: Array<string>, 
/**
 * The main contact's name, phone and email, when linked and stored.
 */
contact_name: string | null, phone: string | null, email: string | null, 
/**
 * A tombstoned lead (only listed with `include_deleted`).
 */
deleted: boolean, };

export type LeadsPage = { total: number, offset: number, rows: Array<LeadRow>, };

export type FieldValue = { name: string, value: string, };

export type ContactCard = { id: number, name: string, is_main: boolean, phones: Array<string>, emails: Array<string>, 
/**
 * Custom fields other than phone and email.
 */
fields: Array<FieldValue>, };

export type NoteView = { id: number, 
/**
 * amoCRM's note type (`common`, `call_in`, …).
 */
note_type: string, text: string | null, created_at: number, author: string | null, };

export type HistoryStep = { 
/**
 * Unix seconds.
 */
at: number, 
/**
 * `None` for the lead's creation.
 */
from_status: string | null, to_status: string, by: string | null, 
/**
 * How long the lead had stayed in `from_status`, when known.
 */
seconds_in_previous: number | null, };

export type TalkState = "unread" | "in_work" | "missed" | "closed";

export type TalkRow = { talk_id: number, 
/**
 * The channel (`origin`: `telegram`, `whatsapp`, `instagram`, …).
 */
channel: string, state: TalkState, lead_id: number | null, lead_name: string | null, contact_id: number | null, contact_name: string | null, 
/**
 * Unix seconds of the last message either way.
 */
last_message_at: number | null, 
/**
 * Unix seconds of the last incoming message.
 */
last_incoming_at: number | null, 
/**
 * The client has been waiting since this moment (an incoming message
 * with no reply after it); `None` when nobody waits.
 */
waiting_since: number | null, waiting_messages: number, last_text: string | null, };

export type LeadCard = { lead: LeadRow, custom_fields: Array<FieldValue>, contacts: Array<ContactCard>, companies: Array<Named>, 
/**
 * Newest first.
 */
notes: Array<NoteView>, 
/**
 * Oldest first.
 */
history: Array<HistoryStep>, talks: Array<TalkRow>, 
/**
 * The lead in amoCRM's web interface.
 */
amocrm_url: string, };

export type ChatsQuery = { 
/**
 * Only this channel.
 */
channel: string | null, 
/**
 * Only talks in this state.
 */
state: TalkState | null, 
/**
 * At most this many (default 200).
 */
limit: number | null, };

export type ChatsView = { talks: Array<TalkRow>, channels: Array<ChannelCount>, total: number, unread: number, in_work: number, missed: number, };

export type SessionMode = "starting" | "demo" | "embedded" | "attached" | "stopped";

export type WebhookView = "pending" | "registered" | "disabled" | "not_admin" | "limit_reached" | "no_public_url" | "error";

export type TunnelView = "local" | "none" | "starting" | "up" | "reconnecting" | "down";

export type SyncAction = "reconnect" | "reregister_webhook" | "sync_now" | "open_settings";

export type SyncIssueCode = "reconnect_needed" | "webhook_disabled" | "not_admin" | "webhook_limit" | "no_tunnel" | "tunnel_down" | "offline" | "rate_limited" | "account_blocked" | "payment_required" | "other";

export type SyncIssue = { code: SyncIssueCode, 
/**
 * English detail from the core (the UI shows its own text per code).
 */
message: string, action: SyncAction | null, };

export type SyncView = { mode: SessionMode, account_name: string | null, 
/**
 * amoCRM answered the last request (or nothing failed yet).
 */
online: boolean, 
/**
 * Unix seconds since which amoCRM has not answered.
 */
offline_since: number | null, webhook: WebhookView, webhook_message: string | null, tunnel: TunnelView, tunnel_provider: string | null, 
/**
 * The tunnel's public base address (never the secret webhook path).
 */
tunnel_url: string | null, 
/**
 * Unix milliseconds of the last webhook received.
 */
last_event_at_ms: number | null, 
/**
 * Webhooks received in the last minute.
 */
events_per_minute: number, 
/**
 * API requests per second over the last 10 s, against `api_limit_per_second`.
 */
api_per_second: number, api_limit_per_second: number, api_requests_total: number, api_429s: number, catching_up: boolean, last_catchup_at: number | null, 
/**
 * The first full read of the account finished.
 */
first_sync_done: boolean, leads_synced: number, events_pending: number, fetch_pending: number, issues: Array<SyncIssue>, };

export type SiteKind = "amocrm" | "kommo" | "custom";

export type SetupRequest = { site: SiteKind, 
/**
 * `mycompany` of `mycompany.amocrm.ru` (amoCRM / Kommo).
 */
subdomain: string, 
/**
 * The full address (`Custom` only).
 */
base_url: string | null, client_id: string, client_secret: string, 
/**
 * As entered in the integration (default [`crate::cli::oauth::CALLBACK_URL_PREFIX`]).
 */
redirect_uri: string, };

export type SetupStart = { authorize_url: string, };

export type SetupProgress = { 
/**
 * A connection was started and waits for the browser.
 */
waiting_for_browser: boolean, 
/**
 * The code was exchanged and the tokens are in the vault.
 */
authorised: boolean, account_name: string | null, webhook: WebhookView, leads_synced: number, first_sync_done: boolean, error: AppError | null, };

export type Language = "ru" | "en";

export type Theme = "system" | "light" | "dark";

export type Preferences = { language: Language, theme: Theme, 
/**
 * Start with the session (hidden in the tray).
 */
autostart: boolean, 
/**
 * Desktop notifications (new lead, incoming message, webhook disabled, reconnect).
 */
notifications: boolean, 
/**
 * Closing the window keeps receiving in the tray.
 */
close_to_tray: boolean, 
/**
 * The wizard was finished or skipped ("Try the demo").
 */
wizard_done: boolean, };

export type TunnelSettings = { 
/**
 * `none`, `ngrok`, `cloudflared`, `url` or `bore`.
 */
provider: string, 
/**
 * ngrok's static domain, the own URL, or the bore server.
 */
address: string | null, 
/**
 * An ngrok authtoken / bore secret is saved.
 */
has_secret: boolean, };

export type TunnelInput = { provider: string, address: string | null, 
/**
 * Kept as saved when `None`.
 */
secret: string | null, };

export type SettingsView = { preferences: Preferences, data_dir: string, 
/**
 * `keychain` or `encrypted_file`.
 */
vault_backend: string | null, connected: boolean, account_name: string | null, tunnel: TunnelSettings, };

export type ExportKind = "leads" | "funnel";

export type ExportFormat = "csv" | "xlsx";

export type ExportRequest = { kind: ExportKind, format: ExportFormat, leads: LeadsQuery | null, funnel: FunnelQuery | null, };

export type ExportResult = { path: string, rows: number, };

export type NoticeKind = "new_lead" | "incoming_message" | "webhook_disabled" | "reconnect_needed";

export type Notice = { kind: NoticeKind, title: string, body: string, 
/**
 * The lead to open on click, if any.
 */
lead_id: number | null, };
