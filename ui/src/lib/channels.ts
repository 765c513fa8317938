// Chat channels (amoCRM's `origin`) → a label, a short glyph and a brand color.
export interface Channel {
  key: string;
  label: string;
  glyph: string;
  color: string;
}

const KNOWN: [RegExp, Omit<Channel, "key">][] = [
  [/whats|waba|^wa$|wz/i, { label: "WhatsApp", glyph: "WA", color: "#25d366" }],
  [/telegram|^tg/i, { label: "Telegram", glyph: "TG", color: "#2aabee" }],
  [/insta/i, { label: "Instagram", glyph: "IG", color: "#e1306c" }],
  [/^vk|vkontakte/i, { label: "VK", glyph: "VK", color: "#0077ff" }],
  [/viber/i, { label: "Viber", glyph: "Vb", color: "#7360f2" }],
  [/avito/i, { label: "Avito", glyph: "Av", color: "#00aaff" }],
  [/facebook|messenger|^fb/i, { label: "Messenger", glyph: "FB", color: "#0084ff" }],
  [/^max$|max_/i, { label: "MAX", glyph: "MX", color: "#7b5cff" }],
  [/ok\.ru|odnoklassniki/i, { label: "OK", glyph: "OK", color: "#ee8208" }],
  [/email|mail/i, { label: "Email", glyph: "@", color: "#6b7a8c" }],
  [/amo|chat|widget|site|web/i, { label: "amoCRM чат", glyph: "💬", color: "#5f82d6" }],
];

export function channel(origin: string): Channel {
  for (const [pattern, c] of KNOWN) if (pattern.test(origin)) return { key: origin, ...c };
  const label = origin ? origin[0].toUpperCase() + origin.slice(1) : "?";
  return { key: origin, label, glyph: label.slice(0, 2), color: "#8a96a3" };
}
