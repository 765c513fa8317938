// The state shared by the shell and the views: language, theme, the current
// view, the account, the pushed sync/setup state and the filters handed from
// one view to another. One instance per window, given to components through
// Svelte's context (tests build their own).
import { getContext, setContext } from "svelte";
import * as api from "./api";
import type {
  AccountView,
  AppError,
  FunnelQuery,
  LeadsOrder,
  LeadsQuery,
  Preferences,
  SettingsView,
  SetupProgress,
  SyncView,
  Theme,
  TimeRange,
} from "./bindings";
import * as fmt from "./format";
import { Freshness } from "./fresh";
import { plural, translate, type Key, type Lang, type Params } from "./i18n";

export const VIEWS = ["wizard", "funnel", "leads", "chats", "sync", "settings"] as const;
export type View = (typeof VIEWS)[number];
export const isView = (s: unknown): s is View => typeof s === "string" && (VIEWS as readonly string[]).includes(s);

export type Period = "created" | "closed";

export interface FunnelFilter {
  /** `null`: the account's main pipeline. */
  pipelineId: number | null;
  period: Period;
  /** `YYYY-MM-DD` or "". */
  from: string;
  to: string;
  users: number[];
}

export interface LeadsFilter {
  search: string;
  pipelineId: number | null;
  statusId: number | null;
  users: number[];
  created: TimeRange | null;
  /** How `created` reads in a chip ("2026-05-01 – 2026-05-31"). */
  createdLabel: string;
  /** Only leads closed (won/lost) in this range (the funnel's "closed" period). */
  closed: TimeRange | null;
  /** How `closed` reads in a chip. */
  closedLabel: string;
  order: LeadsOrder;
}

export const emptyLeadsFilter = (): LeadsFilter => ({
  search: "",
  pipelineId: null,
  statusId: null,
  users: [],
  created: null,
  createdLabel: "",
  closed: null,
  closedLabel: "",
  order: "updated_desc",
});

export class AppState {
  lang = $state<Lang>("ru");
  theme = $state<Theme>("system");
  view = $state<View>("funnel");
  /** Set once boot knows which view to show first. */
  booted = $state(false);
  /** The first view painted with data (`data-ready`). */
  ready = $state(false);

  prefs = $state<Preferences | null>(null);
  settings = $state<SettingsView | null>(null);
  account = $state<AccountView | null>(null);
  accountError = $state<AppError | null>(null);
  accountLoading = $state(false);

  sync = $state<SyncView | null>(null);
  setup = $state<SetupProgress | null>(null);
  connectError = $state<AppError | null>(null);
  /** Bumped on `amosync://store-changed` (debounced): views re-fetch. */
  storeVersion = $state(0);

  funnelFilter = $state<FunnelFilter>({ pipelineId: null, period: "created", from: "", to: "", users: [] });
  leadsFilter = $state<LeadsFilter>(emptyLeadsFilter());
  /** A lead to open in the leads view's panel (from a chat). */
  openLeadId = $state<number | null>(null);

  get locale(): fmt.Locale {
    return fmt.localeOf(this.lang);
  }

  get currency(): string {
    return this.account?.currency ?? "RUB";
  }

  /**
   * The zone dates are shown in and date filters cut days by: the account's
   * (`Asia/Tbilisi`), or `undefined` — this computer's — when it is unknown.
   */
  get timeZone(): string | undefined {
    return fmt.knownZone(this.account?.time_zone);
  }

  t = (key: Key, params?: Params): string => translate(this.lang, key, params);
  /** "12 сделок". */
  count = (n: number, unit: Key): string => `${fmt.formatNumber(this.locale, n)} ${plural(this.lang, unit, n)}`;
  num = (n: number): string => fmt.formatNumber(this.locale, n);
  money = (n: number): string => fmt.formatMoney(this.locale, n, this.currency);
  percent = (r: number): string => fmt.formatPercent(this.locale, r);
  dateTime = (s: number): string => fmt.formatDateTime(this.locale, s, this.timeZone);
  date = (s: number): string => fmt.formatDate(this.locale, s, this.timeZone);
  moment = (s: number): string => fmt.formatMoment(this.locale, s, this.timeZone);
  duration = (s: number): string => fmt.formatDuration(this.locale, s);

  go = (view: View): void => {
    this.view = view;
  };

  markReady = (): void => {
    this.ready = true;
  };

  readonly #syncFresh = new Freshness();
  readonly #prefsFresh = new Freshness();

  /** The sync state pushed by `amosync://sync`: always the newest. */
  pushSync(view: SyncView): void {
    this.#syncFresh.pushed();
    this.sync = view;
  }

  /** Reads the sync state; the answer is dropped if a push came after the request started. */
  async fetchSync(): Promise<SyncView> {
    const fresh = this.#syncFresh.request();
    const view = await api.syncStatus();
    if (fresh()) this.sync = view;
    return view;
  }

  /**
   * Reads the settings and applies their preferences, unless the preferences
   * changed (a save) after the request started.
   */
  async fetchSettings(): Promise<SettingsView> {
    const fresh = this.#prefsFresh.request();
    const settings = await api.settings();
    this.settings = settings;
    if (fresh()) this.applyPreferences(settings.preferences);
    return settings;
  }

  applyPreferences(p: Preferences): void {
    this.prefs = p;
    this.lang = p.language;
    this.theme = p.theme;
  }

  /** Saves preferences, applying language and theme at once (before the core answers). */
  async savePreferences(change: Partial<Preferences>): Promise<void> {
    const base: Preferences = this.prefs ?? {
      language: this.lang,
      theme: this.theme,
      autostart: false,
      notifications: true,
      close_to_tray: true,
      wizard_done: false,
    };
    const next = { ...base, ...change };
    this.#prefsFresh.pushed();
    this.applyPreferences(next);
    const fresh = this.#prefsFresh.request();
    const saved = await api.savePreferences(next);
    if (fresh()) this.applyPreferences(saved);
  }

  async loadAccount(quiet = false): Promise<void> {
    if (!quiet) this.accountLoading = true;
    try {
      this.account = await api.account();
      this.accountError = null;
    } catch (e) {
      if (!quiet || !this.account) this.accountError = e as AppError;
    } finally {
      this.accountLoading = false;
    }
  }

  pipeline(id: number | null) {
    return this.account?.pipelines.find((p) => p.id === id) ?? null;
  }

  get funnelPipelineId(): number | null {
    const id = this.funnelFilter.pipelineId;
    if (id != null && this.pipeline(id)) return id;
    return this.account?.pipelines[0]?.id ?? null;
  }

  get funnelRange(): TimeRange | null {
    const { from, to } = this.funnelFilter;
    const range = { from: fmt.dayStart(from, this.timeZone), to: fmt.dayEnd(to, this.timeZone) };
    return range.from == null && range.to == null ? null : range;
  }

  /** The funnel's query for the current filters (`null` until the account is known). */
  get funnelQuery(): FunnelQuery | null {
    const pipeline_id = this.funnelPipelineId;
    if (pipeline_id == null) return null;
    const range = this.funnelRange;
    return {
      pipeline_id,
      created: this.funnelFilter.period === "created" ? range : null,
      closed: this.funnelFilter.period === "closed" ? range : null,
      responsible_user_ids: [...this.funnelFilter.users],
      with_time_in_status: false,
    };
  }

  /** The leads query for the current filters, at `offset`. */
  leadsQuery(offset = 0, limit: number | null = 200): LeadsQuery {
    const f = this.leadsFilter;
    return {
      search: f.search.trim() || null,
      pipeline_id: f.pipelineId,
      status_id: f.pipelineId == null ? null : f.statusId,
      responsible_user_ids: [...f.users],
      created: f.created ? { ...f.created } : null,
      closed: f.closed ? { ...f.closed } : null,
      include_deleted: false,
      order: f.order,
      offset,
      limit,
    };
  }

  /**
   * The funnel's click on a status: its leads, with the funnel's user filter and
   * its date range (created or closed, by the funnel's period), so the list
   * matches the funnel's row.
   */
  openLeads(pipelineId: number, statusId: number | null): void {
    const f = this.funnelFilter;
    const range = this.funnelRange;
    const label = range ? [f.from, f.to].map((d) => d || "…").join(" – ") : "";
    const created = f.period === "created" ? range : null;
    const closed = f.period === "closed" ? range : null;
    this.leadsFilter = {
      ...emptyLeadsFilter(),
      order: this.leadsFilter.order,
      pipelineId,
      statusId,
      users: [...f.users],
      created,
      createdLabel: created ? label : "",
      closed,
      closedLabel: closed ? label : "",
    };
    this.view = "leads";
  }

  /** Opens one lead's card in the leads view. */
  openLead(id: number): void {
    this.openLeadId = id;
    this.view = "leads";
  }
}

const KEY = Symbol("amosync-app");

export function provideApp(app: AppState): AppState {
  return setContext(KEY, app);
}

export function useApp(): AppState {
  const app = getContext<AppState | undefined>(KEY);
  if (!app) throw new Error("AppState missing: render inside <App> or pass it as context");
  return app;
}

/** For tests: the context map `render()` takes. */
export function appContext(app: AppState): Map<symbol, AppState> {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- handed to mount() once, never observed
  return new Map([[KEY, app]]);
}
