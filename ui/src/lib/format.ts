// Locale-aware formatting (ru-RU / en-US). Formatters are cached: the leads
// table formats a few dozen cells per scroll frame.
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

export function formatDateTime(locale: Locale, unixSeconds: number): string {
  return df(locale, { dateStyle: "short", timeStyle: "short" }).format(ms(unixSeconds));
}

export function formatDate(locale: Locale, unixSeconds: number): string {
  return df(locale, { dateStyle: "short" }).format(ms(unixSeconds));
}

export function formatTime(locale: Locale, unixSeconds: number): string {
  return df(locale, { hour: "2-digit", minute: "2-digit" }).format(ms(unixSeconds));
}

/** Only the time for a moment today, the date and time otherwise. */
export function formatMoment(locale: Locale, unixSeconds: number, now = Date.now()): string {
  const d = new Date(ms(unixSeconds));
  return d.toDateString() === new Date(now).toDateString()
    ? formatTime(locale, unixSeconds)
    : formatDateTime(locale, unixSeconds);
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

/** `YYYY-MM-DD` (a date input's value) → unix seconds at local midnight. */
export function dayStart(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  return Math.floor(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() / 1000);
}

/** `YYYY-MM-DD` → unix seconds at the next local midnight (an exclusive end). */
export function dayEnd(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  return Math.floor(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1).getTime() / 1000);
}
