export type Lang = "ru" | "en";

const dict = {
  ru: {
    title: "AmoSync",
    subtitle: "Зеркало аккаунта amoCRM",
    loading: "Загрузка аккаунта…",
    retry: "Повторить",
    demo: "Демо: локальный эмулятор amoCRM",
    account: "Аккаунт",
    pipeline: "Воронка",
    main: "основная",
    status: "Статус",
    leads: "Сделки",
    amount: "Сумма",
    total: "Итого",
    empty: "В этой воронке пока нет статусов.",
    language: "Язык",
  },
  en: {
    title: "AmoSync",
    subtitle: "Your amoCRM account, mirrored",
    loading: "Loading the account…",
    retry: "Retry",
    demo: "Demo: local amoCRM emulator",
    account: "Account",
    pipeline: "Pipeline",
    main: "main",
    status: "Status",
    leads: "Leads",
    amount: "Amount",
    total: "Total",
    empty: "This pipeline has no statuses yet.",
    language: "Language",
  },
} as const;

export type Key = keyof (typeof dict)["ru"];

export function t(lang: Lang, key: Key): string {
  return dict[lang][key];
}

export function formatMoney(lang: Lang, amount: number, currency: string): string {
  const locale = lang === "ru" ? "ru-RU" : "en-US";
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      currencyDisplay: "narrowSymbol",
      maximumFractionDigits: 0,
    }).format(amount);
  } catch {
    return `${new Intl.NumberFormat(locale).format(amount)} ${currency}`;
  }
}

export function formatCount(lang: Lang, n: number): string {
  return new Intl.NumberFormat(lang === "ru" ? "ru-RU" : "en-US").format(n);
}
