// Sample data in the shapes of the generated bindings (Cyrillic kept as is).
import type {
  AccountView,
  ChatsView,
  Funnel,
  LeadCard,
  LeadRow,
  LeadsPage,
  LeadsQuery,
  SettingsView,
  SetupProgress,
  SyncView,
  TalkRow,
} from "../lib/bindings";

export const MAIN = 8580102;
export const CORP = 9000001;
export const NEW_LEAD = 69641338;
export const TALKS = 69641341;

export const account = (over: Partial<AccountView> = {}): AccountView => ({
  source: "demo",
  account_name: "Прокат авто",
  subdomain: "rentacar",
  base_url: "http://127.0.0.1:8080",
  currency: "RUB",
  time_zone: null,
  pipelines: [
    {
      id: MAIN,
      name: "Первичка",
      is_main: true,
      statuses: [
        { id: NEW_LEAD, name: "Новый лид", color: "#ff8f92", sort: 10, kind: "open" },
        { id: TALKS, name: "Переговоры", color: "#99ccff", sort: 20, kind: "open" },
        { id: 142, name: "Успешно реализовано", color: "#ccff66", sort: 10000, kind: "won" },
        { id: 143, name: "Закрыто и не реализовано", color: "#d5d8db", sort: 11000, kind: "lost" },
      ],
    },
    { id: CORP, name: "Корпоративные клиенты", is_main: false, statuses: [] },
  ],
  users: [
    { id: 1, name: "Анна Петрова" },
    { id: 2, name: "Иван Сидоров" },
  ],
  leads: 17,
  talks: 3,
  ...over,
});

export const funnel = (pipelineId = MAIN, withMedians = false): Funnel => ({
  pipeline_id: pipelineId,
  pipeline_name: pipelineId === MAIN ? "Первичка" : "Корпоративные клиенты",
  statuses: [
    {
      status_id: NEW_LEAD, name: "Новый лид", color: "#ff8f92", sort: 10, kind: "open",
      count: 12, price_sum: 3400, reached: 20, conversion_to_next: 0.4, conversion_to_won: 0.25,
      median_seconds_in_status: withMedians ? 2 * 86400 + 3 * 3600 : null,
    },
    {
      status_id: TALKS, name: "Переговоры", color: "#99ccff", sort: 20, kind: "open",
      count: 3, price_sum: 90000, reached: 8, conversion_to_next: null, conversion_to_won: 0.625,
      median_seconds_in_status: withMedians ? 720 : null,
    },
    {
      status_id: 142, name: "Успешно реализовано", color: "#ccff66", sort: 10000, kind: "won",
      count: 5, price_sum: 9100, reached: 5, conversion_to_next: null, conversion_to_won: null, median_seconds_in_status: null,
    },
    {
      status_id: 143, name: "Закрыто и не реализовано", color: "#d5d8db", sort: 11000, kind: "lost",
      count: 2, price_sum: 500, reached: 2, conversion_to_next: null, conversion_to_won: null, median_seconds_in_status: null,
    },
  ],
  total_count: 22,
  total_price: 103000,
  open_count: 15,
  won_count: 5,
  won_price: 9100,
  lost_count: 2,
  lost_price: 500,
  win_rate: 5 / 7,
});

export const emptyFunnel = (): Funnel => ({
  ...funnel(),
  statuses: funnel().statuses.map((s) => ({ ...s, count: 0, price_sum: 0, reached: 0, conversion_to_next: null, conversion_to_won: null })),
  total_count: 0,
  total_price: 0,
  open_count: 0,
  won_count: 0,
  won_price: 0,
  lost_count: 0,
  lost_price: 0,
  win_rate: null,
});

export const leadRow = (id: number, over: Partial<LeadRow> = {}): LeadRow => ({
  id,
  name: `Сделка №${id}`,
  price: 1000 + id,
  pipeline_id: MAIN,
  status_id: NEW_LEAD,
  status_name: "Новый лид",
  status_color: "#ff8f92",
  status_kind: "open",
  responsible_user_id: 1,
  responsible_name: "Анна Петрова",
  created_at: 1_770_000_000,
  updated_at: 1_770_000_000 + id,
  closed_at: null,
  tags: [],
  contact_name: `Клиент ${id}`,
  phone: `+7 900 000-${String(id).padStart(4, "0").slice(-4)}`,
  email: null,
  deleted: false,
  ...over,
});

/** A page of a virtual list of `total` leads whose ids are their index + 1. */
export function leadsPage(query: LeadsQuery, total: number): LeadsPage {
  const limit = query.limit ?? 100;
  const rows: LeadRow[] = [];
  for (let i = query.offset; i < Math.min(total, query.offset + limit); i++) rows.push(leadRow(i + 1));
  return { total, offset: query.offset, rows };
}

export const leadCard = (id = 1): LeadCard => ({
  lead: leadRow(id, { tags: ["VIP", "сайт"] }),
  custom_fields: [{ name: "Марка авто", value: "Лада Веста" }],
  contacts: [
    {
      id: 501, name: "Мария Иванова", is_main: true, phones: ["+7 999 123-45-67"], emails: ["maria@example.ru"],
      fields: [{ name: "Должность", value: "директор" }],
    },
  ],
  companies: [{ id: 700, name: "ООО «Ромашка»" }],
  notes: [{ id: 900, note_type: "common", text: "Перезвонить в пятницу", created_at: 1_770_000_500, author: "Анна Петрова" }],
  history: [
    { at: 1_770_000_000, from_status: null, to_status: "Новый лид", by: "Анна Петрова", seconds_in_previous: null },
    { at: 1_770_086_400, from_status: "Новый лид", to_status: "Переговоры", by: "Анна Петрова", seconds_in_previous: 86_400 },
  ],
  talks: [talk(11, "whatsapp", "unread", null)],
  amocrm_url: `https://rentacar.amocrm.ru/leads/detail/${id}`,
});

export function talk(id: number, channel: string, state: TalkRow["state"], waitingSince: number | null, over: Partial<TalkRow> = {}): TalkRow {
  return {
    talk_id: id,
    channel,
    state,
    lead_id: 100 + id,
    lead_name: `Сделка чата ${id}`,
    contact_id: 200 + id,
    contact_name: `Контакт ${id}`,
    last_message_at: 1_770_000_000 + id,
    last_incoming_at: 1_770_000_000 + id,
    waiting_since: waitingSince,
    waiting_messages: waitingSince ? 2 : 0,
    last_text: `Здравствуйте, сообщение ${id}`,
    ...over,
  };
}

export const chatsView = (now = Date.now() / 1000): ChatsView => ({
  talks: [
    talk(1, "telegram", "unread", now - 12 * 60, { last_message_at: now - 12 * 60 }),
    talk(2, "whatsapp", "in_work", null, { last_message_at: now - 3600 }),
    talk(3, "instagram", "missed", now - 3 * 3600, { last_message_at: now - 30, lead_id: null, lead_name: null }),
  ],
  channels: [
    { origin: "telegram", talks: 1, unread: 1, in_work: 0 },
    { origin: "whatsapp", talks: 1, unread: 0, in_work: 1 },
    { origin: "instagram", talks: 1, unread: 0, in_work: 0 },
  ],
  total: 3,
  unread: 1,
  in_work: 1,
  missed: 1,
});

export const syncView = (over: Partial<SyncView> = {}): SyncView => ({
  mode: "embedded",
  account_name: "Прокат авто",
  online: true,
  offline_since: null,
  webhook: "registered",
  webhook_message: null,
  tunnel: "up",
  tunnel_provider: "ngrok",
  tunnel_url: "https://office.ngrok.app",
  last_event_at_ms: 1_770_000_000_000,
  events_per_minute: 4,
  api_per_second: 3.5,
  api_limit_per_second: 7,
  api_requests_total: 1234,
  api_429s: 0,
  catching_up: false,
  last_catchup_at: 1_770_000_000,
  first_sync_done: true,
  leads_synced: 17,
  events_pending: 0,
  fetch_pending: 0,
  issues: [],
  ...over,
});

export const settingsView = (over: Partial<SettingsView> = {}): SettingsView => ({
  preferences: {
    language: "ru",
    theme: "system",
    autostart: false,
    notifications: true,
    close_to_tray: true,
    wizard_done: true,
  },
  data_dir: "/home/office/.local/share/amosync",
  vault_backend: "keychain",
  connected: true,
  account_name: "Прокат авто",
  tunnel: { provider: "ngrok", address: "office.ngrok.app", has_secret: true },
  ...over,
});

export const progress = (over: Partial<SetupProgress> = {}): SetupProgress => ({
  waiting_for_browser: true,
  authorised: false,
  account_name: null,
  webhook: "pending",
  leads_synced: 0,
  first_sync_done: false,
  error: null,
  ...over,
});
