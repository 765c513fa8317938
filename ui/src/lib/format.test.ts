import { describe, expect, it, vi } from "vitest";
import { debounce } from "./events";
import {
  dayEnd,
  dayStart,
  formatDate,
  formatDateTime,
  formatDuration,
  formatMoney,
  formatMoment,
  formatNumber,
  formatPercent,
  knownZone,
} from "./format";

const s = (x: string) => x.replace(/[\u00a0\u202f]/g, " ");

describe("formatting by locale", () => {
  it("formats numbers, money in the account currency and percents", () => {
    expect(s(formatNumber("ru-RU", 100000))).toBe("100 000");
    expect(formatNumber("en-US", 100000)).toBe("100,000");
    expect(s(formatMoney("ru-RU", 1234567, "RUB"))).toBe("1 234 567 ₽");
    expect(formatMoney("en-US", 9100, "USD")).toBe("$9,100");
    expect(s(formatMoney("ru-RU", 10, "XYZ1"))).toBe("10 XYZ1");
    expect(s(formatPercent("ru-RU", 0.714))).toBe("71,4 %");
    expect(formatPercent("en-US", 0.25)).toBe("25%");
  });

  it("writes durations with at most two units", () => {
    expect(s(formatDuration("ru-RU", 12 * 60))).toBe("12 мин");
    expect(s(formatDuration("ru-RU", 2 * 86400 + 3 * 3600 + 59))).toBe("2 дн. 3 ч");
    expect(s(formatDuration("ru-RU", 3 * 3600))).toBe("3 ч");
    expect(s(formatDuration("en-US", 3600 + 5 * 60))).toBe("1 hr 5 min");
    expect(s(formatDuration("en-US", 40))).toBe("40 sec");
    expect(s(formatDuration("en-US", 0))).toBe("0 sec");
  });

  it("shows only the time for a moment today", () => {
    const today = new Date();
    today.setHours(9, 5, 0, 0);
    expect(formatMoment("ru-RU", today.getTime() / 1000)).toBe("09:05");
    expect(formatMoment("ru-RU", today.getTime() / 1000, undefined)).toBe("09:05");
    expect(formatMoment("ru-RU", new Date(2020, 0, 2, 9, 5).getTime() / 1000)).toBe("02.01.2020, 09:05");
  });

  it("turns date inputs into a local-day range", () => {
    expect(dayStart("2026-05-01")).toBe(new Date(2026, 4, 1).getTime() / 1000);
    expect(dayEnd("2026-05-31")).toBe(new Date(2026, 5, 1).getTime() / 1000);
    expect(dayStart("")).toBeNull();
  });
});

describe("dates in the account's time zone", () => {
  // 2025-11-21 13:30 UTC.
  const t = Date.UTC(2025, 10, 21, 13, 30) / 1000;

  it("formats in the zone given, not the computer's", () => {
    expect(formatDateTime("ru-RU", t, "Asia/Tbilisi")).toBe("21.11.2025, 17:30");
    expect(formatDateTime("ru-RU", t, "America/Los_Angeles")).toBe("21.11.2025, 05:30");
    expect(s(formatDateTime("en-US", t, "Asia/Tbilisi"))).toBe("11/21/25, 5:30 PM");
    // 22:00 UTC is already the next day in Tbilisi.
    expect(formatDate("ru-RU", Date.UTC(2025, 10, 21, 22) / 1000, "Asia/Tbilisi")).toBe("22.11.2025");
  });

  it("judges 'today' in the zone", () => {
    const now = Date.UTC(2025, 10, 21, 20, 30); // 00:30 on the 22nd in Tbilisi
    const before = Date.UTC(2025, 10, 21, 19, 30) / 1000; // 23:30 on the 21st in Tbilisi
    expect(formatMoment("ru-RU", before, "Asia/Tbilisi", now)).toBe("21.11.2025, 23:30");
    expect(formatMoment("ru-RU", before, "UTC", now)).toBe("19:30");
  });

  it("cuts days at the zone's midnight, across DST changes", () => {
    expect(dayStart("2026-05-01", "Asia/Tbilisi")).toBe(Date.UTC(2026, 3, 30, 20) / 1000);
    expect(dayEnd("2026-05-31", "Asia/Tbilisi")).toBe(Date.UTC(2026, 4, 31, 20) / 1000);
    // Berlin springs forward on 2026-03-29: that day has 23 hours.
    expect(dayStart("2026-03-29", "Europe/Berlin")).toBe(Date.UTC(2026, 2, 28, 23) / 1000);
    expect(dayEnd("2026-03-29", "Europe/Berlin")).toBe(Date.UTC(2026, 2, 29, 22) / 1000);
    // New York springs forward on 2026-03-08 and falls back on 2026-11-01.
    expect(dayStart("2026-03-08", "America/New_York")).toBe(Date.UTC(2026, 2, 8, 5) / 1000);
    expect(dayEnd("2026-03-08", "America/New_York")).toBe(Date.UTC(2026, 2, 9, 4) / 1000);
    expect(dayEnd("2026-11-01", "America/New_York")).toBe(Date.UTC(2026, 10, 2, 5) / 1000);
    // Santiago springs forward at midnight on 2024-09-08: 00:00 never
    // happens, the day starts at the jump (01:00 local, 04:00 UTC).
    expect(dayStart("2024-09-08", "America/Santiago")).toBe(Date.UTC(2024, 8, 8, 4) / 1000);
    expect(dayEnd("2024-09-07", "America/Santiago")).toBe(Date.UTC(2024, 8, 8, 4) / 1000);
    expect(dayStart("2024-09-09", "America/Santiago")).toBe(Date.UTC(2024, 8, 9, 3) / 1000);
    expect(dayStart("nope", "Asia/Tbilisi")).toBeNull();
  });

  it("knows which zones it can use", () => {
    expect(knownZone("Asia/Tbilisi")).toBe("Asia/Tbilisi");
    expect(knownZone("Mars/Olympus_Mons")).toBeUndefined();
    expect(knownZone(null)).toBeUndefined();
    expect(knownZone("")).toBeUndefined();
  });
});

describe("debounce", () => {
  it("runs once per burst, no later than maxWait after it started", () => {
    vi.useFakeTimers();
    try {
      const fn = vi.fn();
      const d = debounce(fn, 100, 150);
      d();
      vi.advanceTimersByTime(80);
      d();
      vi.advanceTimersByTime(60);
      expect(fn).not.toHaveBeenCalled();
      vi.advanceTimersByTime(10);
      expect(fn).toHaveBeenCalledTimes(1);
      d();
      d.cancel();
      vi.advanceTimersByTime(500);
      expect(fn).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
