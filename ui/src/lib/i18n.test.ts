import { describe, expect, it } from "vitest";
import { dictionaries, ERROR_CODES, errorAdvice, errorMeaning, plural, translate, type Key } from "./i18n";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("i18n", () => {
  it("has the same keys in Russian and English", () => {
    expect(Object.keys(dictionaries.en).sort()).toEqual(Object.keys(dictionaries.ru).sort());
  });

  it("uses the same placeholders and plural form count in both languages", () => {
    for (const key of Object.keys(dictionaries.ru) as Key[]) {
      expect(placeholders(dictionaries.en[key]), key).toEqual(placeholders(dictionaries.ru[key]));
      expect(dictionaries.ru[key].trim(), key).not.toBe("");
      expect(dictionaries.en[key].trim(), key).not.toBe("");
      if (key.startsWith("units.")) {
        expect(dictionaries.ru[key].split("|"), key).toHaveLength(3);
        expect(dictionaries.en[key].split("|"), key).toHaveLength(2);
      }
    }
  });

  it("fills placeholders and leaves unknown ones", () => {
    expect(translate("ru", "pill.offlineSince", { t: "14:02" })).toBe("Нет связи с 14:02");
    expect(translate("en", "pill.offlineSince", { t: "2:02 PM" })).toBe("Offline since 2:02 PM");
    expect(translate("ru", "chats.waiting")).toBe("ждёт {d}");
  });

  it("picks Russian and English plural forms", () => {
    expect([1, 2, 5, 11, 21, 22, 25].map((n) => plural("ru", "units.leads", n))).toEqual([
      "сделка", "сделки", "сделок", "сделок", "сделка", "сделки", "сделок",
    ]);
    expect([1, 2].map((n) => plural("en", "units.leads", n))).toEqual(["lead", "leads"]);
  });

  it("explains every error code", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      for (const lang of ["ru", "en"] as const) {
        const meaning = errorMeaning(lang, code);
        const advice = errorAdvice(lang, code);
        expect(meaning, `${lang} ${code}`).not.toMatch(/^err\./);
        expect(advice, `${lang} ${code}`).not.toMatch(/^errDo\./);
        expect(meaning.trim(), `${lang} ${code}`).not.toBe("");
        expect(advice.trim(), `${lang} ${code}`).not.toBe("");
        expect(advice, `${lang} ${code}`).not.toBe(meaning);
      }
      // Really translated: the Russian texts are Russian.
      expect(errorMeaning("ru", code), code).toMatch(/[а-яё]/i);
      expect(errorAdvice("ru", code), code).toMatch(/[а-яё]/i);
      expect(errorAdvice("en", code), code).not.toMatch(/[а-яё]/i);
    }
    expect(errorMeaning("ru", "AuthRevoked")).toContain("подключитесь заново");
    expect(errorMeaning("en", "NotConnected")).toBe("No amoCRM account is connected.");
    expect(errorAdvice("ru", "Unreachable")).toContain("интернет");
  });
});
