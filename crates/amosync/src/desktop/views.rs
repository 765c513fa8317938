//! What the desktop UI receives: flat, typed views of the store and of the
//! sync engine, exported to TypeScript (`ui/src/lib/bindings.ts`).
//!
//! These are the contract between the core and the UI. The store's own
//! records (amoCRM models plus bookkeeping) stay inside; the UI gets only
//! what it shows, with names already resolved (status, user, contact).

use amosync_store::{ChannelCount, StatusKind};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{AppError, Source};

/// An id with its display name (a user, a company).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Named {
    pub id: u64,
    pub name: String,
}

/// A status of a pipeline, for pickers and the leads table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusRef {
    pub id: u64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub sort: i64,
    pub kind: StatusKind,
}

/// A pipeline with its statuses in board order (won and lost last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PipelineRef {
    pub id: u64,
    pub name: String,
    pub is_main: bool,
    pub statuses: Vec<StatusRef>,
}

/// The account header and every choice the filters offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountView {
    pub source: Source,
    pub account_name: String,
    pub subdomain: String,
    /// `https://sub.amocrm.ru` (or the emulator's address in the demo).
    pub base_url: String,
    /// ISO 4217 code of the account's currency (`RUB` when amoCRM gives none).
    pub currency: String,
    /// The account's IANA time zone (`Asia/Tbilisi`), which every date is
    /// shown and exported in; `null` when unknown (an old store, a name the
    /// time zone database lacks): then this computer's zone, and the UI
    /// says so.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Main pipeline first.
    pub pipelines: Vec<PipelineRef>,
    /// Users, by name.
    pub users: Vec<Named>,
    /// Live leads in the store.
    pub leads: u64,
    /// Talks in the store.
    pub talks: u64,
}

/// One row of the leads table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadRow {
    pub id: u64,
    pub name: String,
    pub price: i64,
    pub pipeline_id: u64,
    pub status_id: u64,
    /// The status's name (`"?"` when the pipeline is not known yet).
    pub status_name: String,
    pub status_color: String,
    pub status_kind: StatusKind,
    pub responsible_user_id: u64,
    pub responsible_name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub tags: Vec<String>,
    /// The main contact's name, phone and email, when linked and stored.
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// A tombstoned lead (only listed with `include_deleted`).
    pub deleted: bool,
}

/// A window of the leads table: `rows` starts at `offset` of `total` matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadsPage {
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<LeadRow>,
}

/// A custom field's name and its values joined for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldValue {
    pub name: String,
    pub value: String,
}

/// A contact linked to a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContactCard {
    pub id: u64,
    pub name: String,
    pub is_main: bool,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    /// Custom fields other than phone and email.
    pub fields: Vec<FieldValue>,
}

/// A note, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NoteView {
    pub id: u64,
    /// amoCRM's note type (`common`, `call_in`, …).
    pub note_type: String,
    pub text: Option<String>,
    pub created_at: i64,
    pub author: Option<String>,
}

/// One move of a lead between statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HistoryStep {
    /// Unix seconds.
    pub at: i64,
    /// `None` for the lead's creation.
    pub from_status: Option<String>,
    pub to_status: String,
    pub by: Option<String>,
    /// How long the lead had stayed in `from_status`, when known.
    pub seconds_in_previous: Option<i64>,
}

/// What a talk needs from the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TalkState {
    /// Incoming messages nobody has read.
    Unread,
    /// Read, a manager is on it.
    InWork,
    /// The reply deadline passed.
    Missed,
    /// Closed.
    Closed,
}

/// A talk (chat) with its lead and contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TalkRow {
    pub talk_id: u64,
    /// The channel (`origin`: `telegram`, `whatsapp`, `instagram`, …).
    pub channel: String,
    pub state: TalkState,
    pub lead_id: Option<u64>,
    pub lead_name: Option<String>,
    pub contact_id: Option<u64>,
    pub contact_name: Option<String>,
    /// Unix seconds of the last message either way.
    pub last_message_at: Option<i64>,
    /// Unix seconds of the last incoming message.
    pub last_incoming_at: Option<i64>,
    /// The client has been waiting since this moment (an incoming message
    /// with no reply after it); `None` when nobody waits.
    pub waiting_since: Option<i64>,
    pub waiting_messages: u32,
    pub last_text: Option<String>,
}

/// Everything the lead panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadCard {
    pub lead: LeadRow,
    pub custom_fields: Vec<FieldValue>,
    pub contacts: Vec<ContactCard>,
    pub companies: Vec<Named>,
    /// Newest first.
    pub notes: Vec<NoteView>,
    /// Oldest first.
    pub history: Vec<HistoryStep>,
    pub talks: Vec<TalkRow>,
    /// The lead in amoCRM's web interface.
    pub amocrm_url: String,
}

/// Which talks the chats view lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatsQuery {
    /// Only this channel.
    pub channel: Option<String>,
    /// Only talks in this state.
    pub state: Option<TalkState>,
    /// At most this many (default 200).
    pub limit: Option<usize>,
}

/// The chats view: talks by last activity and counts per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatsView {
    pub talks: Vec<TalkRow>,
    pub channels: Vec<ChannelCount>,
    pub total: u64,
    pub unread: u64,
    pub in_work: u64,
    pub missed: u64,
}

/// How the desktop app reaches its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// Nothing runs yet (the wizard is open, or the app is starting).
    Starting,
    /// The built-in emulator's sample account.
    Demo,
    /// The sync engine runs inside the app.
    Embedded,
    /// A headless `amosync serve` holds the store; the app asks it.
    Attached,
    /// The engine stopped with an error (see `issues`).
    Stopped,
}

/// The webhook as amoCRM has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WebhookView {
    /// Not known yet (registering, or the first check pending).
    Pending,
    Registered,
    /// amoCRM switched it off after failed deliveries.
    Disabled,
    /// The connected user is not an account admin.
    NotAdmin,
    /// The account has 100 webhooks already.
    LimitReached,
    /// No public address (no tunnel chosen): catch-up only.
    NoPublicUrl,
    /// The last attempt failed; it is retried.
    Error,
}

/// The tunnel that makes the receiver reachable from amoCRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TunnelView {
    /// None needed (the account is on this machine, e.g. the demo).
    Local,
    /// None chosen.
    None,
    Starting,
    Up,
    Reconnecting,
    Down,
}

/// What the user can do about an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncAction {
    /// Run the OAuth connection again.
    Reconnect,
    /// Ask the keeper to check and re-register the webhook now.
    ReregisterWebhook,
    /// Run a catch-up pass now.
    SyncNow,
    /// Open the settings (tunnel choice).
    OpenSettings,
}

/// Why an issue is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncIssueCode {
    ReconnectNeeded,
    WebhookDisabled,
    NotAdmin,
    WebhookLimit,
    NoTunnel,
    TunnelDown,
    Offline,
    RateLimited,
    AccountBlocked,
    PaymentRequired,
    Other,
}

/// One problem, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncIssue {
    pub code: SyncIssueCode,
    /// English detail from the core (the UI shows its own text per code).
    pub message: String,
    pub action: Option<SyncAction>,
}

/// The sync pill and the sync page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SyncView {
    pub mode: SessionMode,
    pub account_name: Option<String>,
    /// amoCRM answered the last request (or nothing failed yet).
    pub online: bool,
    /// Unix seconds since which amoCRM has not answered.
    pub offline_since: Option<i64>,
    pub webhook: WebhookView,
    pub webhook_message: Option<String>,
    pub tunnel: TunnelView,
    pub tunnel_provider: Option<String>,
    /// The tunnel's public base address (never the secret webhook path).
    pub tunnel_url: Option<String>,
    /// Unix milliseconds of the last webhook received.
    pub last_event_at_ms: Option<i64>,
    /// Webhooks received in the last minute.
    pub events_per_minute: f64,
    /// API requests per second over the last 10 s, against `api_limit_per_second`.
    pub api_per_second: f64,
    pub api_limit_per_second: f64,
    pub api_requests_total: u64,
    pub api_429s: u64,
    pub catching_up: bool,
    pub last_catchup_at: Option<i64>,
    /// The first full read of the account finished.
    pub first_sync_done: bool,
    pub leads_synced: u64,
    pub events_pending: u64,
    pub fetch_pending: u64,
    pub issues: Vec<SyncIssue>,
}

/// Where the account lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    Amocrm,
    Kommo,
    /// Any other address (the local emulator).
    Custom,
}

/// The wizard's form. `Debug` hides the client secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetupRequest {
    pub site: SiteKind,
    /// `mycompany` of `mycompany.amocrm.ru` (amoCRM / Kommo).
    pub subdomain: String,
    /// The full address (`Custom` only).
    pub base_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// As entered in the integration (default [`crate::cli::oauth::CALLBACK_URL_PREFIX`]).
    pub redirect_uri: String,
}

impl std::fmt::Debug for SetupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupRequest")
            .field("site", &self.site)
            .field("subdomain", &self.subdomain)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

impl std::fmt::Display for SetupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {} (client {})",
            self.site, self.subdomain, self.client_id
        )
    }
}

/// The started connection: the page to open in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetupStart {
    pub authorize_url: String,
}

/// The wizard's live checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SetupProgress {
    /// A connection was started and waits for the browser.
    pub waiting_for_browser: bool,
    /// The code was exchanged and the tokens are in the vault.
    pub authorised: bool,
    pub account_name: Option<String>,
    pub webhook: WebhookView,
    pub leads_synced: u64,
    pub first_sync_done: bool,
    pub error: Option<AppError>,
}

/// UI language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Ru,
    En,
}

/// UI theme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// The user's preferences (`DATA/desktop.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Preferences {
    pub language: Language,
    pub theme: Theme,
    /// Start with the session (hidden in the tray).
    pub autostart: bool,
    /// Desktop notifications (new lead, incoming message, webhook disabled, reconnect).
    pub notifications: bool,
    /// Closing the window keeps receiving in the tray.
    pub close_to_tray: bool,
    /// The wizard was finished or skipped ("Try the demo").
    pub wizard_done: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            language: Language::Ru,
            theme: Theme::System,
            autostart: false,
            notifications: true,
            close_to_tray: true,
            wizard_done: false,
        }
    }
}

/// The tunnel choice as the settings show it: no secret, only whether one is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TunnelSettings {
    /// `none`, `ngrok`, `cloudflared`, `url` or `bore`.
    pub provider: String,
    /// ngrok's static domain, the own URL, or the bore server.
    pub address: Option<String>,
    /// An ngrok authtoken / bore secret is saved.
    pub has_secret: bool,
}

/// A new tunnel choice from the settings. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TunnelInput {
    pub provider: String,
    pub address: Option<String>,
    /// Kept as saved when `None`.
    pub secret: Option<String>,
}

impl std::fmt::Debug for TunnelInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelInput")
            .field("provider", &self.provider)
            .field("address", &self.address)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

impl std::fmt::Display for TunnelInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.provider, self.address)
    }
}

/// The settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SettingsView {
    pub preferences: Preferences,
    pub data_dir: String,
    /// `keychain` or `encrypted_file`.
    pub vault_backend: Option<String>,
    pub connected: bool,
    pub account_name: Option<String>,
    pub tunnel: TunnelSettings,
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    Leads,
    Funnel,
}

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// An export request: the leads filter or the funnel query in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportRequest {
    pub kind: ExportKind,
    pub format: ExportFormat,
    pub leads: Option<amosync_store::LeadsQuery>,
    pub funnel: Option<amosync_store::FunnelQuery>,
}

/// A written export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportResult {
    pub path: String,
    pub rows: u64,
}

/// Names of the events the shell pushes to the UI.
pub mod events {
    /// Payload: `u64`, the store's change generation.
    pub const STORE_CHANGED: &str = "amosync://store-changed";
    /// Payload: [`super::SyncView`].
    pub const SYNC: &str = "amosync://sync";
    /// Payload: [`super::SetupProgress`].
    pub const SETUP: &str = "amosync://setup";
    /// Payload: none. The account was connected (by the wizard or a deep link).
    pub const CONNECTED: &str = "amosync://connected";
    /// Payload: [`crate::AppError`].
    pub const CONNECT_FAILED: &str = "amosync://connect-failed";
    /// Payload: none. The tray's "Sync now" etc. asked to show a view: `String` view name.
    pub const SHOW: &str = "amosync://show";
    /// Payload: [`super::Notice`]; the shell shows it as a desktop notification.
    pub const NOTICE: &str = "amosync://notice";
}

/// Why a desktop notification is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    NewLead,
    IncomingMessage,
    WebhookDisabled,
    ReconnectNeeded,
}

/// A desktop notification, already in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    /// The lead to open on click, if any.
    pub lead_id: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secrets() {
        let setup = SetupRequest {
            site: SiteKind::Amocrm,
            subdomain: "office".into(),
            base_url: None,
            client_id: "client-1".into(),
            client_secret: "S3CRET-client".into(),
            redirect_uri: "amosync://oauth/callback".into(),
        };
        let text = format!("{setup:?} {setup:#?} {setup}");
        assert!(!text.contains("S3CRET"), "{text}");
        assert!(text.contains("client_secret: \"***\""), "{text}");
        assert!(
            text.contains("client-1") && text.contains("office"),
            "{text}"
        );

        let tunnel = TunnelInput {
            provider: "ngrok".into(),
            address: Some("office.ngrok.app".into()),
            secret: Some("2abcTOKEN".into()),
        };
        let text = format!("{tunnel:?} {tunnel:#?} {tunnel}");
        assert!(!text.contains("2abcTOKEN"), "{text}");
        assert!(text.contains("secret: Some(\"***\")"), "{text}");
        assert!(text.contains("office.ngrok.app"), "{text}");
        let none = TunnelInput {
            secret: None,
            ..tunnel
        };
        assert!(format!("{none:?}").contains("secret: None"));
    }
}
