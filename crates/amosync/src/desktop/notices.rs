//! Desktop notifications ([`Notice`]): their text in the user's language,
//! and the pacing that turns a burst into one notice ("12 new leads").

use std::time::{Duration, Instant};

use super::views::{Language, Notice, NoticeKind};

/// At most one notice of a kind this often; what comes in between is
/// counted into the next one.
pub const NOTICE_EVERY: Duration = Duration::from_secs(2);
/// At most this many notices (of all kinds) per [`NOTICE_EVERY`].
const MAX_PER_PERIOD: usize = 3;

/// Russian plural: `one` for 1, 21, …; `few` for 2–4, 22–24, …; `many` else.
pub fn ru_plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (n10, n100) = (n % 10, n % 100);
    if n10 == 1 && n100 != 11 {
        one
    } else if (2..=4).contains(&n10) && !(12..=14).contains(&n100) {
        few
    } else {
        many
    }
}

/// True where notification bodies are markup: the freedesktop servers
/// (GNOME, KDE, …) render `<b>`, `<a href>`, `<img>` in them. macOS and
/// Windows show the text as it is.
const BODY_IS_MARKUP: bool = cfg!(all(unix, not(target_os = "macos")));

/// `text` as markup that shows exactly `text`: `&`, `<`, `>` and quotes escaped.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A body built from CRM text (lead names, messages): escaped where bodies are markup.
fn body_text(text: String) -> String {
    if BODY_IS_MARKUP {
        escape_markup(&text)
    } else {
        text
    }
}

/// One new lead (`name`) or `n` of them.
pub fn new_leads(lang: Language, n: u64, first: Option<(u64, &str)>) -> Notice {
    let (title, body) = match (lang, n, first) {
        (Language::Ru, 1, Some((_, name))) => {
            ("Новая сделка".to_owned(), body_text(name.to_owned()))
        }
        (Language::En, 1, Some((_, name))) => ("New lead".to_owned(), body_text(name.to_owned())),
        (Language::Ru, n, _) => (
            "Новые сделки".to_owned(),
            format!(
                "{n} {}",
                ru_plural(n, "новая сделка", "новые сделки", "новых сделок")
            ),
        ),
        (Language::En, n, _) => (
            "New leads".to_owned(),
            format!("{n} new {}", if n == 1 { "lead" } else { "leads" }),
        ),
    };
    Notice {
        kind: NoticeKind::NewLead,
        title,
        body,
        lead_id: if n == 1 {
            first.map(|(id, _)| id)
        } else {
            None
        },
    }
}

/// One incoming message (from `who`, with its text) or `n` of them.
pub fn incoming_messages(
    lang: Language,
    n: u64,
    first: Option<(&str, Option<&str>, Option<u64>)>,
) -> Notice {
    let (title, body) = match (lang, n, first) {
        (lang, 1, Some((who, text, _))) => {
            let title = match lang {
                Language::Ru => "Новое сообщение",
                Language::En => "New message",
            };
            // Shortened first, escaped after: an entity is never cut.
            let body = match text {
                Some(text) if !text.trim().is_empty() => {
                    format!("{who}: {}", shorten(text.trim(), 140))
                }
                _ => who.to_owned(),
            };
            (title.to_owned(), body_text(body))
        }
        (Language::Ru, n, _) => (
            "Новые сообщения".to_owned(),
            format!(
                "{n} {}",
                ru_plural(n, "новое сообщение", "новых сообщения", "новых сообщений")
            ),
        ),
        (Language::En, n, _) => (
            "New messages".to_owned(),
            format!("{n} new {}", if n == 1 { "message" } else { "messages" }),
        ),
    };
    Notice {
        kind: NoticeKind::IncomingMessage,
        title,
        body,
        lead_id: if n == 1 {
            first.and_then(|(_, _, lead)| lead)
        } else {
            None
        },
    }
}

pub fn webhook_disabled(lang: Language) -> Notice {
    let (title, body) = match lang {
        Language::Ru => (
            "Вебхук отключён",
            "amoCRM отключил вебхук AmoSync после ошибок доставки. Откройте «Синхронизацию» и нажмите «Перерегистрировать вебхук».",
        ),
        Language::En => (
            "Webhook disabled",
            "amoCRM switched off AmoSync's webhook after failed deliveries. Open Sync and press “Re-register webhook”.",
        ),
    };
    Notice {
        kind: NoticeKind::WebhookDisabled,
        title: title.to_owned(),
        body: body.to_owned(),
        lead_id: None,
    }
}

pub fn reconnect_needed(lang: Language) -> Notice {
    let (title, body) = match lang {
        Language::Ru => (
            "Нужно переподключить amoCRM",
            "amoCRM больше не принимает ключи AmoSync. Откройте мастер подключения и нажмите «Подключить» — данные на компьютере сохранятся.",
        ),
        Language::En => (
            "Reconnect amoCRM",
            "amoCRM no longer accepts AmoSync's keys. Open the set-up wizard and press Connect — the local data is kept.",
        ),
    };
    Notice {
        kind: NoticeKind::ReconnectNeeded,
        title: title.to_owned(),
        body: body.to_owned(),
        lead_id: None,
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Paces notices: one per kind per [`NOTICE_EVERY`], at most a few per
/// period in all; held counts are merged into the next notice of the kind.
#[derive(Debug, Default)]
pub struct Pacer {
    last: Vec<(NoticeKind, Instant)>,
    recent: Vec<Instant>,
}

impl Pacer {
    pub fn new() -> Pacer {
        Pacer::default()
    }

    /// True when a notice of `kind` may go out at `now` (and counts it).
    pub fn allow(&mut self, kind: NoticeKind, now: Instant) -> bool {
        self.recent
            .retain(|t| now.saturating_duration_since(*t) < NOTICE_EVERY);
        let kind_ok = self
            .last
            .iter()
            .find(|(k, _)| *k == kind)
            .is_none_or(|(_, t)| now.saturating_duration_since(*t) >= NOTICE_EVERY);
        if !kind_ok || self.recent.len() >= MAX_PER_PERIOD {
            return false;
        }
        self.last.retain(|(k, _)| *k != kind);
        self.last.push((kind, now));
        self.recent.push(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals() {
        let f = |n| ru_plural(n, "сделка", "сделки", "сделок");
        let got: Vec<_> = [1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 112]
            .iter()
            .map(|&n| f(n))
            .collect();
        assert_eq!(
            got,
            [
                "сделка",
                "сделки",
                "сделки",
                "сделок",
                "сделок",
                "сделок",
                "сделок",
                "сделка",
                "сделки",
                "сделок",
                "сделка",
                "сделок",
                "сделок"
            ]
        );
    }

    #[test]
    fn texts_in_both_languages() {
        let one = new_leads(Language::Ru, 1, Some((7, "Аренда Camry")));
        assert_eq!(
            (one.title.as_str(), one.body.as_str(), one.lead_id),
            ("Новая сделка", "Аренда Camry", Some(7))
        );
        let many = new_leads(Language::Ru, 12, Some((7, "x")));
        assert_eq!(many.body, "12 новых сделок");
        assert_eq!(many.lead_id, None);
        assert_eq!(new_leads(Language::En, 3, None).body, "3 new leads");
        let msg = incoming_messages(Language::En, 1, Some(("Nino", Some("Hello"), Some(9))));
        assert_eq!(
            (msg.title.as_str(), msg.body.as_str(), msg.lead_id),
            ("New message", "Nino: Hello", Some(9))
        );
        assert_eq!(
            incoming_messages(Language::Ru, 3, None).body,
            "3 новых сообщения"
        );
        assert_eq!(
            webhook_disabled(Language::Ru).kind,
            NoticeKind::WebhookDisabled
        );
        assert!(reconnect_needed(Language::En).title.contains("Reconnect"));
        assert_eq!(shorten("абвгд", 3), "абв…");
    }

    #[test]
    fn crm_text_in_bodies_is_escaped_where_bodies_are_markup() {
        let table = [
            ("Аренда <b>Camry</b>", "Аренда &lt;b&gt;Camry&lt;/b&gt;"),
            (
                "ООО «Рога & Копыта» <a href=\"http://x\">тут</a>",
                "ООО «Рога &amp; Копыта» &lt;a href=&quot;http://x&quot;&gt;тут&lt;/a&gt;",
            ),
            ("Нино's <img src=x>", "Нино&apos;s &lt;img src=x&gt;"),
            ("&amp; уже", "&amp;amp; уже"),
            ("Просто имя", "Просто имя"),
        ];
        for (raw, escaped) in table {
            assert_eq!(escape_markup(raw), escaped, "{raw}");
            let lead = new_leads(Language::Ru, 1, Some((7, raw)));
            let message = incoming_messages(Language::En, 1, Some((raw, Some(raw), None)));
            if BODY_IS_MARKUP {
                assert_eq!(lead.body, escaped);
                assert_eq!(message.body, format!("{escaped}: {escaped}"));
            } else {
                assert_eq!(lead.body, raw);
                assert_eq!(message.body, format!("{raw}: {raw}"));
            }
            assert!(
                !lead.title.contains('&') && !message.title.contains('&'),
                "titles are our own text"
            );
        }
        // A long message is cut before escaping: no half entity at the end.
        let long = format!("{}&x", "я".repeat(139));
        let body = incoming_messages(Language::Ru, 1, Some(("Нино", Some(&long), None))).body;
        if BODY_IS_MARKUP {
            assert!(body.ends_with("я&amp;…"), "{body}");
        }
    }

    #[test]
    fn bursts_are_paced() {
        let t0 = Instant::now();
        let mut p = Pacer::new();
        assert!(p.allow(NoticeKind::NewLead, t0));
        assert!(!p.allow(NoticeKind::NewLead, t0 + Duration::from_millis(500)));
        assert!(p.allow(NoticeKind::IncomingMessage, t0));
        assert!(p.allow(NoticeKind::WebhookDisabled, t0));
        assert!(
            !p.allow(NoticeKind::ReconnectNeeded, t0),
            "at most three per period"
        );
        assert!(p.allow(NoticeKind::NewLead, t0 + NOTICE_EVERY));
    }
}
