// Locale-aware formatting (ru-RU / en-US). Formatters are cached: the leads
// table formats a few dozen cells per scroll frame. Dates are shown in a
// time zone given by IANA name (the account's, `AccountView.time_zone`);
// `undefined` means this computer's.
import type { Language } from "./bindings";

export type Locale = "ru-RU" | "en-US";

export const localeOf = (lang: Language): Locale => (lang === "en" ? "en-US" : "ru-RU");

const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per locale and options: building an Intl formatter is slow. */
function cached<F>(cache: Map<string, F>, locale: Locale, opts: object, make: () => F): F {
  const key = locale + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = make();
    cache.set(key, f);
  }
  return f;
}

function nf(locale: Locale, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  return cached(numberFormats, locale, opts, () => new Intl.NumberFormat(locale, opts));
}

function df(locale: Locale, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return cached(dateFormats, locale, opts, () => new Intl.DateTimeFormat(locale, opts));
}

export function formatNumber(locale: Locale, n: number): string {
  return nf(locale, { maximumFractionDigits: 0 }).format(n);
}

export function formatMoney(locale: Locale, amount: number, currency: string): string {
  try {
    return nf(locale, { style: "currency", currency, currencyDisplay: "narrowSymbol", maximumFractionDigits: 0 }).format(
      amount,
    );
  } catch {
    return `${formatNumber(locale, amount)} ${currency}`;
  }
}

/** `ratio` in 0..1. */
export function formatPercent(locale: Locale, ratio: number): string {
  return nf(locale, { style: "percent", maximumFractionDigits: 1 }).format(ratio);
}

const ms = (unixSeconds: number) => unixSeconds * 1000;

/** `timeZone` when this runtime knows it, else `undefined` (this computer's zone). */
export function knownZone(timeZone: string | null | undefined): string | undefined {
  if (!timeZone) return undefined;
  try {
    df("en-US", { timeZone });
    return timeZone;
  } catch {
    return undefined;
  }
}

export function formatDateTime(locale: Locale, unixSeconds: number, timeZone?: string): string {
  return df(locale, { dateStyle: "short", timeStyle: "short", timeZone }).format(ms(unixSeconds));
}

export function formatDate(locale: Locale, unixSeconds: number, timeZone?: string): string {
  return df(locale, { dateStyle: "short", timeZone }).format(ms(unixSeconds));
}

export function formatTime(locale: Locale, unixSeconds: number, timeZone?: string): string {
  return df(locale, { hour: "2-digit", minute: "2-digit", timeZone }).format(ms(unixSeconds));
}

/** Only the time for a moment today (today in `timeZone`), the date and time otherwise. */
export function formatMoment(locale: Locale, unixSeconds: number, timeZone?: string, now = Date.now()): string {
  return formatDate(locale, unixSeconds, timeZone) === formatDate(locale, now / 1000, timeZone)
    ? formatTime(locale, unixSeconds, timeZone)
    : formatDateTime(locale, unixSeconds, timeZone);
}

/** How far `timeZone`'s wall clock is ahead of UTC at unix ms `t`, in ms. */
function zoneOffsetMs(t: number, timeZone: string): number {
  const parts = df("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(t);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"), part("second"));
  return wall - (t - (((t % 1000) + 1000) % 1000));
}

/** Unix seconds of midnight starting day `y-m-d` (`d` may overflow) in `timeZone`, or local. */
function midnight(y: number, m: number, d: number, timeZone?: string): number {
  if (!timeZone) return Math.floor(new Date(y, m - 1, d).getTime() / 1000);
  const wall = Date.UTC(y, m - 1, d);
  // The offset at the guess may differ from the one at midnight (a DST
  // change that day): look again at the instant found.
  const guess = wall - zoneOffsetMs(wall, timeZone);
  const offset = zoneOffsetMs(guess, timeZone);
  const found = wall - offset;
  // Where the clocks jump forward at midnight (Santiago, Havana), 00:00
  // does not exist: the day starts at the jump, the later of the two.
  if (zoneOffsetMs(found, timeZone) !== offset) return Math.floor(Math.max(guess, found) / 1000);
  return Math.floor(found / 1000);
}

function ymd(value: string): [number, number, number] | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

const UNITS: [Intl.NumberFormatOptions["unit"], number][] = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** A human duration of at most two units: "2 дн. 3 ч", "12 min", "40 sec". */
export function formatDuration(locale: Locale, seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const unit = (u: Intl.NumberFormatOptions["unit"], n: number) =>
    nf(locale, { style: "unit", unit: u, unitDisplay: "short" }).format(n);
  const i = UNITS.findIndex(([, size]) => s >= size);
  if (i < 0) return unit("second", 0);
  const [u1, size1] = UNITS[i];
  const a = Math.floor(s / size1);
  const parts = [unit(u1, a)];
  // Days come with hours and hours with minutes; minutes stand alone.
  if (i < 2) {
    const [u2, size2] = UNITS[i + 1];
    const b = Math.floor((s - a * size1) / size2);
    if (b > 0) parts.push(unit(u2, b));
  }
  return parts.join(" ");
}

/** `YYYY-MM-DD` (a date input's value) → unix seconds at that day's midnight in `timeZone` (or local). */
export function dayStart(value: string, timeZone?: string): number | null {
  const d = ymd(value);
  return d ? midnight(d[0], d[1], d[2], timeZone) : null;
}

/** `YYYY-MM-DD` → unix seconds at the next midnight in `timeZone` (or local): an exclusive end. */
export function dayEnd(value: string, timeZone?: string): number | null {
  const d = ymd(value);
  return d ? midnight(d[0], d[1], d[2] + 1, timeZone) : null;
}
