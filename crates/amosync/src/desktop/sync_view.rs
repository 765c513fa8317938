//! The sync pill and page ([`SyncView`]) derived from what a `serve` says
//! about itself: a pure function of the `/v1/watch` answer (the engine's
//! status with the links' states, and the store's summary) plus what only
//! the watcher knows (the sliding windows of the rates, since when amoCRM
//! has not answered, which disabled webhook the user has seen to).
//!
//! No secret can pass: the tunnel URL is cut to its base, and every message
//! has any `/amocrm/<secret>/` path replaced by `/amocrm/***/`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::views::{
    Language, SessionMode, SyncAction, SyncIssue, SyncIssueCode, SyncView, TunnelView, WebhookView,
};
use crate::control::server::WatchAnswer;
use crate::{AppError, ErrorCode};

/// amoCRM's documented limit: 7 requests per second per integration.
pub const API_LIMIT_PER_SECOND: f64 = 7.0;
/// The window of `events_per_minute`.
pub const EVENTS_WINDOW: Duration = Duration::from_secs(60);
/// The window of `api_per_second`.
pub const API_WINDOW: Duration = Duration::from_secs(10);

/// Everything [`derive`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct ViewInput<'a> {
    pub mode: SessionMode,
    /// The latest `/v1/watch` answer of the serve that holds the store.
    pub watch: Option<&'a WatchAnswer>,
    pub events_per_minute: f64,
    pub api_per_second: f64,
    /// Unix seconds since which amoCRM has not answered (kept by the watcher).
    pub offline_since: Option<i64>,
    /// The keeper's `last_disabled_s` the user has dealt with ("Re-register
    /// webhook"): a later one shows the webhook as disabled.
    pub disabled_seen_s: Option<i64>,
    /// Why the session could not start (mode `Stopped`).
    pub start_error: Option<&'a AppError>,
    /// The language of the messages (the user's preference).
    pub lang: Language,
}

/// The view's own texts, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    NotStarted,
    Reconnect,
    AccountBlocked,
    PaymentRequired,
    WebhookDisabled,
    WebhookDisabledRegistered,
    NotAdmin,
    WebhookLimit,
    WebhookFailed,
    NoTunnel,
    TunnelDown,
    Offline,
    RateLimited,
}

fn say(lang: Language, text: Text) -> &'static str {
    use Language::{En, Ru};
    match (text, lang) {
        (Text::NotStarted, Ru) => "Синхронизация не запустилась",
        (Text::NotStarted, En) => "the sync engine did not start",
        (Text::Reconnect, Ru) => {
            "amoCRM больше не принимает ключи AmoSync — переподключите аккаунт"
        }
        (Text::Reconnect, En) => "amoCRM no longer accepts AmoSync's tokens; reconnect",
        (Text::AccountBlocked, Ru) => "amoCRM заблокировал аккаунт",
        (Text::AccountBlocked, En) => "amoCRM blocked the account",
        (Text::PaymentRequired, Ru) => "Аккаунт amoCRM не оплачен",
        (Text::PaymentRequired, En) => "the amoCRM account is not paid for",
        (Text::WebhookDisabled, Ru) => {
            "amoCRM отключил вебхук после ошибок доставки; AmoSync регистрирует его снова"
        }
        (Text::WebhookDisabled, En) => {
            "amoCRM disabled the webhook after failed deliveries; AmoSync registers it again"
        }
        (Text::WebhookDisabledRegistered, Ru) => {
            "amoCRM отключил вебхук после ошибок доставки; AmoSync зарегистрировал его снова (пропущенные события догружены) — если это повторится, проверьте туннель"
        }
        (Text::WebhookDisabledRegistered, En) => {
            "amoCRM disabled the webhook after failed deliveries; AmoSync registered it again (events in between were caught up) — if it happens again, check the tunnel"
        }
        (Text::NotAdmin, Ru) => {
            "Вебхук может зарегистрировать только администратор amoCRM — переподключитесь под администратором"
        }
        (Text::NotAdmin, En) => {
            "only an amoCRM administrator can register the webhook; reconnect as an administrator"
        }
        (Text::WebhookLimit, Ru) => "В amoCRM достигнут предел числа вебхуков",
        (Text::WebhookLimit, En) => "amoCRM's limit of webhooks is reached",
        (Text::WebhookFailed, Ru) => "Вебхук не удалось зарегистрировать",
        (Text::WebhookFailed, En) => "the webhook could not be registered",
        (Text::NoTunnel, Ru) => {
            "Туннель не выбран: amoCRM не может доставлять вебхуки на этот компьютер, изменения приходят только с периодической догрузкой; выберите туннель в настройках"
        }
        (Text::NoTunnel, En) => {
            "no tunnel is chosen: amoCRM cannot deliver webhooks to this computer, changes arrive with the periodic catch-up only; choose a tunnel in the settings"
        }
        (Text::TunnelDown, Ru) => "Туннель не работает",
        (Text::TunnelDown, En) => "the tunnel is down",
        (Text::Offline, Ru) => "amoCRM не отвечает",
        (Text::Offline, En) => "amoCRM does not answer",
        (Text::RateLimited, Ru) => "amoCRM ограничивает частоту запросов",
        (Text::RateLimited, En) => "amoCRM is rate limiting the requests",
    }
}

/// A message: the view's text in `lang` with the engine's `detail` (its
/// own words, in English). In English the detail alone says it, when given.
fn told(lang: Language, text: Text, detail: Option<&str>) -> String {
    let detail = detail.map(str::trim).filter(|d| !d.is_empty());
    match (lang, detail) {
        (_, None) => say(lang, text).to_owned(),
        (Language::En, Some(detail)) => detail.to_owned(),
        (Language::Ru, Some(detail)) => format!("{} ({detail})", say(lang, text)),
    }
}

/// `/amocrm/<secret>/…` → `/amocrm/***/` in any text (defence in depth: the
/// engine, keeper and tunnel already say `***`).
pub fn scrub(text: &str) -> String {
    const MARK: &str = "/amocrm/";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at + MARK.len()]);
        rest = &rest[at + MARK.len()..];
        let end = rest
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == ')')
            .unwrap_or(rest.len());
        out.push_str("***");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The public base of a tunnel URL: scheme, host and port (a path is
/// dropped — it could hold the receiver's secret path).
pub fn public_base(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{host}{port}", parsed.scheme()))
}

/// True when a status message says amoCRM did not answer (network, time
/// out, 5xx): the wording of `amo::ApiError`'s messages.
pub fn is_unreachable(message: &str) -> bool {
    [
        "could not reach amoCRM",
        "did not answer in time",
        "answered with server error",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str()
}

fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_i64()
}

fn issue(code: SyncIssueCode, message: impl AsRef<str>, action: Option<SyncAction>) -> SyncIssue {
    SyncIssue {
        code,
        message: scrub(message.as_ref()),
        action,
    }
}

/// The issue of a session that could not start.
pub fn start_issue(err: &AppError, lang: Language) -> SyncIssue {
    let (code, action) = match err.code {
        ErrorCode::NotConnected | ErrorCode::AuthRevoked | ErrorCode::OAuthDenied => {
            (SyncIssueCode::ReconnectNeeded, SyncAction::Reconnect)
        }
        ErrorCode::AccountBlocked => (SyncIssueCode::AccountBlocked, SyncAction::SyncNow),
        ErrorCode::PaymentRequired => (SyncIssueCode::PaymentRequired, SyncAction::SyncNow),
        ErrorCode::Unreachable => (SyncIssueCode::Offline, SyncAction::SyncNow),
        ErrorCode::RateLimited => (SyncIssueCode::RateLimited, SyncAction::SyncNow),
        ErrorCode::InvalidInput if err.message.contains("tunnel") => {
            (SyncIssueCode::NoTunnel, SyncAction::OpenSettings)
        }
        // Anything else: "Sync now" starts the session again.
        _ => (SyncIssueCode::Other, SyncAction::SyncNow),
    };
    issue(
        code,
        told(lang, Text::NotStarted, Some(&err.message)),
        Some(action),
    )
}

/// The webhook as the keeper has it, before the "disabled, seen?" rule.
fn keeper_webhook(webhook: &Value, public: Option<&str>) -> WebhookView {
    match str_at(webhook, &["state", "state"]) {
        Some("registered") => WebhookView::Registered,
        Some("disabled") => WebhookView::Disabled,
        Some("not_admin") => WebhookView::NotAdmin,
        Some("limit_reached") => WebhookView::LimitReached,
        Some("failed") => WebhookView::Error,
        Some("not_registered") if public == Some("none") => WebhookView::NoPublicUrl,
        _ => WebhookView::Pending,
    }
}

fn tunnel_view(engine: &Value, public: Option<&str>) -> TunnelView {
    let state = str_at(engine, &["tunnel", "state"]);
    let public = public.or_else(|| {
        // A serve of a build without `public_url`: tell by the provider.
        if engine.get("tunnel_provider").is_some_and(|p| !p.is_null()) {
            Some("tunnel")
        } else if str_at(engine, &["tunnel", "reason"]).is_some_and(|r| r.contains("not needed")) {
            Some("local")
        } else {
            Some("none")
        }
    });
    match public {
        Some("local") => TunnelView::Local,
        Some("none") => TunnelView::None,
        _ => match state {
            Some("up") => TunnelView::Up,
            Some("starting") => TunnelView::Starting,
            Some("reconnecting") => TunnelView::Reconnecting,
            _ => TunnelView::Down,
        },
    }
}

/// The sync view. Pure: the same input gives the same view.
pub fn derive(input: &ViewInput<'_>) -> SyncView {
    let null = Value::Null;
    let engine = input.watch.map_or(&null, |w| &w.engine);
    let store = input.watch.map(|w| &w.store);
    let public = str_at(engine, &["public_url"]);
    let webhook_json = engine.get("webhook").unwrap_or(&null);

    let last_error = str_at(engine, &["last_error"]).map(str::to_owned);
    let online = !last_error.as_deref().is_some_and(is_unreachable);
    let offline_since = if online { None } else { input.offline_since };

    // The webhook: the keeper's state, and a disable the user has not seen to.
    let kept = keeper_webhook(webhook_json, public);
    let disabled_at = i64_at(webhook_json, &["last_disabled_s"]);
    let unseen_disable =
        disabled_at.is_some_and(|at| input.disabled_seen_s.is_none_or(|seen| at > seen));
    let webhook =
        if unseen_disable && matches!(kept, WebhookView::Registered | WebhookView::Pending) {
            WebhookView::Disabled
        } else {
            kept
        };
    let keeper_message = str_at(webhook_json, &["state", "message"])
        .or_else(|| str_at(webhook_json, &["last_error"]))
        .map(scrub);
    let lang = input.lang;
    let keeper = keeper_message.as_deref();
    let webhook_message = match webhook {
        WebhookView::Disabled if kept == WebhookView::Disabled => {
            Some(told(lang, Text::WebhookDisabled, keeper))
        }
        WebhookView::Disabled => Some(say(lang, Text::WebhookDisabledRegistered).to_owned()),
        WebhookView::NotAdmin => Some(told(lang, Text::NotAdmin, keeper)),
        WebhookView::LimitReached => Some(told(lang, Text::WebhookLimit, keeper)),
        WebhookView::Error => Some(told(lang, Text::WebhookFailed, keeper)),
        _ => keeper_message,
    };

    let tunnel = tunnel_view(engine, public);
    let tunnel_url = match tunnel {
        TunnelView::Up => str_at(engine, &["tunnel", "url"]).and_then(public_base),
        _ => None,
    };
    let tunnel_provider = str_at(engine, &["tunnel_provider"]).map(str::to_owned);

    let mut issues = Vec::new();
    if input.mode == SessionMode::Stopped
        && let Some(err) = input.start_error
    {
        issues.push(start_issue(err, lang));
    }
    let halted_code = str_at(engine, &["halted_code"]);
    let halted = str_at(engine, &["halted"]).unwrap_or_default();
    let auth_reconnect = str_at(engine, &["auth", "state"]) == Some("reconnect");
    let webhook_auth = str_at(webhook_json, &["state", "code"]) == Some("AuthRevoked");
    if auth_reconnect || halted_code == Some("auth_revoked") || webhook_auth {
        let reason =
            str_at(engine, &["auth", "reason"]).or_else(|| (!halted.is_empty()).then_some(halted));
        issues.push(issue(
            SyncIssueCode::ReconnectNeeded,
            told(lang, Text::Reconnect, reason),
            Some(SyncAction::Reconnect),
        ));
    }
    match halted_code {
        Some("account_blocked") => issues.push(issue(
            SyncIssueCode::AccountBlocked,
            told(lang, Text::AccountBlocked, Some(halted)),
            Some(SyncAction::SyncNow),
        )),
        Some("payment_required") => {
            issues.push(issue(
                SyncIssueCode::PaymentRequired,
                told(lang, Text::PaymentRequired, Some(halted)),
                None,
            ));
        }
        _ => {}
    }
    let webhook_text = webhook_message.clone().unwrap_or_default();
    match webhook {
        WebhookView::Disabled => issues.push(issue(
            SyncIssueCode::WebhookDisabled,
            &webhook_text,
            Some(SyncAction::ReregisterWebhook),
        )),
        WebhookView::NotAdmin => issues.push(issue(
            SyncIssueCode::NotAdmin,
            &webhook_text,
            Some(SyncAction::Reconnect),
        )),
        WebhookView::LimitReached => issues.push(issue(
            SyncIssueCode::WebhookLimit,
            &webhook_text,
            Some(SyncAction::ReregisterWebhook),
        )),
        WebhookView::Error if !webhook_auth => issues.push(issue(
            SyncIssueCode::Other,
            &webhook_text,
            Some(SyncAction::ReregisterWebhook),
        )),
        _ => {}
    }
    let connected_engine = !engine.is_null() && input.mode != SessionMode::Demo;
    match tunnel {
        TunnelView::None if connected_engine => issues.push(issue(
            SyncIssueCode::NoTunnel,
            say(lang, Text::NoTunnel),
            Some(SyncAction::OpenSettings),
        )),
        TunnelView::Down | TunnelView::Reconnecting if connected_engine => {
            let reason = str_at(engine, &["tunnel", "reason"]);
            issues.push(issue(
                SyncIssueCode::TunnelDown,
                told(lang, Text::TunnelDown, reason),
                Some(SyncAction::OpenSettings),
            ));
        }
        _ => {}
    }
    if !online {
        issues.push(issue(
            SyncIssueCode::Offline,
            told(lang, Text::Offline, last_error.as_deref()),
            Some(SyncAction::SyncNow),
        ));
    } else if last_error
        .as_deref()
        .is_some_and(|e| e.contains("rate limiting"))
    {
        issues.push(issue(
            SyncIssueCode::RateLimited,
            told(lang, Text::RateLimited, last_error.as_deref()),
            None,
        ));
    }

    let engine_catchup = i64_at(engine, &["last_catchup_at"]);
    let last_catchup_at = engine_catchup.or(store.and_then(|s| s.last_catchup_at));
    SyncView {
        mode: input.mode,
        account_name: store.and_then(|s| s.account_name.clone()),
        online,
        offline_since,
        webhook,
        webhook_message,
        tunnel,
        tunnel_provider,
        tunnel_url,
        last_event_at_ms: store.and_then(|s| s.last_webhook_at_ms),
        events_per_minute: input.events_per_minute,
        api_per_second: input.api_per_second,
        api_limit_per_second: API_LIMIT_PER_SECOND,
        api_requests_total: u64_at(engine, "api_requests"),
        api_429s: u64_at(engine, "api_429s"),
        catching_up: engine
            .get("catching_up")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        last_catchup_at,
        first_sync_done: store.is_some_and(|s| s.initial_sync_at.is_some())
            || engine_catchup.is_some(),
        leads_synced: store.map_or(0, |s| s.leads),
        events_pending: u64_at(engine, "events_pending"),
        fetch_pending: u64_at(engine, "fetch_pending"),
        issues,
    }
}

/// The view before anything is known (the app is starting).
pub fn empty(mode: SessionMode, lang: Language) -> SyncView {
    derive(&ViewInput {
        lang,
        mode,
        watch: None,
        events_per_minute: 0.0,
        api_per_second: 0.0,
        offline_since: None,
        disabled_seen_s: None,
        start_error: None,
    })
}

/// Sliding windows over the engine's all-time counters: webhooks accepted
/// (per minute) and API requests (per second).
#[derive(Debug, Default, Clone)]
pub struct Windows {
    events: VecDeque<(Instant, u64)>,
    api: VecDeque<(Instant, u64)>,
}

/// Samples kept per window at most (the watcher samples on changes).
const MAX_SAMPLES: usize = 4096;

fn push(samples: &mut VecDeque<(Instant, u64)>, now: Instant, value: u64, window: Duration) {
    if samples.back().is_some_and(|&(_, last)| value < last) {
        // Another serve (or a restart): counters start over.
        samples.clear();
    }
    samples.push_back((now, value));
    // Keep one sample at or before the window's start: the baseline.
    while samples.len() > 2
        && samples
            .get(1)
            .is_some_and(|&(t, _)| now.saturating_duration_since(t) >= window)
    {
        samples.pop_front();
    }
    while samples.len() > MAX_SAMPLES {
        samples.pop_front();
    }
}

/// `(increase over the window, seconds the samples cover within it)`.
fn increase(samples: &VecDeque<(Instant, u64)>, now: Instant, window: Duration) -> (u64, f64) {
    let Some(&(_, latest)) = samples.back() else {
        return (0, 0.0);
    };
    let start = now.checked_sub(window);
    // The value at the window's start: the last sample at or before it
    // (counters only move when the engine reports, at once); else the first.
    let baseline = samples
        .iter()
        .rev()
        .find(|(t, _)| start.is_some_and(|s| *t <= s))
        .or_else(|| samples.front());
    let Some(&(t0, v0)) = baseline else {
        return (0, 0.0);
    };
    let covered = match start {
        Some(s) if t0 <= s => window,
        _ => now.saturating_duration_since(t0),
    };
    (latest.saturating_sub(v0), covered.as_secs_f64())
}

impl Windows {
    pub fn new() -> Windows {
        Windows::default()
    }

    /// Records the counters of an answer received at `now`.
    pub fn record(&mut self, now: Instant, webhooks_accepted: u64, api_requests: u64) {
        push(&mut self.events, now, webhooks_accepted, EVENTS_WINDOW);
        push(&mut self.api, now, api_requests, API_WINDOW);
    }

    /// Records from a watch answer's engine status.
    pub fn record_engine(&mut self, now: Instant, engine: &Value) {
        if engine.is_null() {
            return;
        }
        self.record(
            now,
            u64_at(engine, "webhooks_accepted"),
            u64_at(engine, "api_requests"),
        );
    }

    /// Webhooks accepted in the last minute (fewer while the session is
    /// younger than a minute: what was seen).
    pub fn events_per_minute(&self, now: Instant) -> f64 {
        increase(&self.events, now, EVENTS_WINDOW).0 as f64
    }

    /// API requests per second over the last 10 s (over the time seen when
    /// shorter, at least one second).
    pub fn api_per_second(&self, now: Instant) -> f64 {
        let (n, secs) = increase(&self.api, now, API_WINDOW);
        let rate = n as f64 / secs.max(1.0);
        (rate * 100.0).round() / 100.0
    }

    /// Forgets everything (another serve).
    pub fn clear(&mut self) {
        self.events.clear();
        self.api.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::server::StoreSummary;
    use serde_json::json;

    fn answer(engine: Value) -> WatchAnswer {
        WatchAnswer {
            generation: 1,
            pid: 1,
            engine,
            status_hash: "0".into(),
            store: StoreSummary {
                account_name: Some("Прокат".into()),
                leads: 42,
                initial_sync_at: Some(1_750_000_000),
                last_catchup_at: Some(1_750_000_100),
                last_webhook_at_ms: Some(1_750_000_100_000),
            },
        }
    }

    fn engine(extra: Value) -> Value {
        let mut base = json!({
            "receiver": "http://127.0.0.1:1/amocrm/***/",
            "webhooks_accepted": 5,
            "webhooks_rejected": 0,
            "events_pending": 0,
            "fetch_pending": 0,
            "catching_up": false,
            "last_catchup_at": 1_750_000_200,
            "last_error": null,
            "halted": null,
            "halted_code": null,
            "api_requests": 100,
            "api_429s": 2,
            "tunnel": {"state": "up", "url": "https://abc.trycloudflare.com"},
            "tunnel_provider": "cloudflared",
            "public_url": "tunnel",
            "webhook": {
                "state": {"state": "registered", "url_redacted": "https://abc.trycloudflare.com/amocrm/***/", "accepted": [], "missing": []},
                "last_check_s": 1, "reregistrations": 0, "stale_removed": 0,
                "last_disabled_s": null, "last_error": null
            },
            "auth": {"state": "connected", "expires_at": 1}
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            for (k, v) in e {
                b.insert(k, v);
            }
        }
        base
    }

    fn view(mode: SessionMode, engine: Value, seen: Option<i64>) -> SyncView {
        let a = answer(engine);
        derive(&ViewInput {
            mode,
            watch: Some(&a),
            events_per_minute: 3.0,
            api_per_second: 1.5,
            offline_since: Some(1_750_000_300),
            disabled_seen_s: seen,
            start_error: None,
            lang: Language::En,
        })
    }

    fn codes(v: &SyncView) -> Vec<(SyncIssueCode, Option<SyncAction>)> {
        v.issues.iter().map(|i| (i.code, i.action)).collect()
    }

    #[test]
    fn a_healthy_engine_has_no_issues() {
        let v = view(SessionMode::Embedded, engine(json!({})), None);
        assert_eq!(v.mode, SessionMode::Embedded);
        assert_eq!(v.webhook, WebhookView::Registered);
        assert_eq!(v.tunnel, TunnelView::Up);
        assert_eq!(
            v.tunnel_url.as_deref(),
            Some("https://abc.trycloudflare.com")
        );
        assert_eq!(v.tunnel_provider.as_deref(), Some("cloudflared"));
        assert!(v.online);
        assert_eq!(v.offline_since, None, "online: not offline");
        assert_eq!(v.account_name.as_deref(), Some("Прокат"));
        assert_eq!(v.leads_synced, 42);
        assert!(v.first_sync_done);
        assert_eq!(v.last_catchup_at, Some(1_750_000_200), "the engine's wins");
        assert_eq!(v.last_event_at_ms, Some(1_750_000_100_000));
        assert_eq!((v.api_requests_total, v.api_429s), (100, 2));
        assert_eq!(v.api_limit_per_second, 7.0);
        assert_eq!((v.events_per_minute, v.api_per_second), (3.0, 1.5));
        assert!(v.issues.is_empty(), "{:?}", v.issues);
    }

    #[test]
    fn issue_table() {
        use SyncAction::*;
        use SyncIssueCode::*;
        let disabled = json!({"webhook": {"state": {"state": "disabled", "url_redacted": "https://x/amocrm/***/"}, "last_disabled_s": 10}});
        type Case = (
            &'static str,
            Value,
            WebhookView,
            TunnelView,
            Vec<(SyncIssueCode, Option<SyncAction>)>,
        );
        let cases: Vec<Case> = vec![
            (
                "keeper sees it disabled",
                disabled,
                WebhookView::Disabled,
                TunnelView::Up,
                vec![(WebhookDisabled, Some(ReregisterWebhook))],
            ),
            (
                "not an admin",
                json!({"webhook": {"state": {"state": "not_admin", "message": "reconnect as an admin"}}}),
                WebhookView::NotAdmin,
                TunnelView::Up,
                vec![(NotAdmin, Some(Reconnect))],
            ),
            (
                "the hundred-hook cap",
                json!({"webhook": {"state": {"state": "limit_reached", "message": "delete some"}}}),
                WebhookView::LimitReached,
                TunnelView::Up,
                vec![(WebhookLimit, Some(ReregisterWebhook))],
            ),
            (
                "tokens refused",
                json!({"auth": {"state": "reconnect", "reason": "Reconnect: refresh refused"},
                       "webhook": {"state": {"state": "failed", "code": "AuthRevoked", "message": "401"}}}),
                WebhookView::Error,
                TunnelView::Up,
                vec![(ReconnectNeeded, Some(Reconnect))],
            ),
            (
                "halted: revoked",
                json!({"halted": "amoCRM access was revoked", "halted_code": "auth_revoked", "last_error": "amoCRM access was revoked"}),
                WebhookView::Registered,
                TunnelView::Up,
                vec![(ReconnectNeeded, Some(Reconnect))],
            ),
            (
                "halted: blocked",
                json!({"halted": "blocked", "halted_code": "account_blocked"}),
                WebhookView::Registered,
                TunnelView::Up,
                vec![(AccountBlocked, Some(SyncNow))],
            ),
            (
                "halted: unpaid",
                json!({"halted": "unpaid", "halted_code": "payment_required"}),
                WebhookView::Registered,
                TunnelView::Up,
                vec![(PaymentRequired, None)],
            ),
            (
                "no tunnel chosen",
                json!({"public_url": "none", "tunnel_provider": null,
                       "tunnel": {"state": "down", "reason": "no tunnel chosen"},
                       "webhook": {"state": {"state": "not_registered"}}}),
                WebhookView::NoPublicUrl,
                TunnelView::None,
                vec![(NoTunnel, Some(OpenSettings))],
            ),
            (
                "tunnel reconnecting",
                json!({"tunnel": {"state": "reconnecting", "reason": "lost", "attempt": 2, "retry_in_ms": 1000}}),
                WebhookView::Registered,
                TunnelView::Reconnecting,
                vec![(TunnelDown, Some(OpenSettings))],
            ),
            (
                "tunnel down",
                json!({"tunnel": {"state": "down", "reason": "cloudflared exited"}}),
                WebhookView::Registered,
                TunnelView::Down,
                vec![(TunnelDown, Some(OpenSettings))],
            ),
            (
                "amoCRM unreachable",
                json!({"last_error": "catch-up failed: could not reach amoCRM (refused); check the internet connection and retry"}),
                WebhookView::Registered,
                TunnelView::Up,
                vec![(Offline, Some(SyncNow))],
            ),
            (
                "rate limited",
                json!({"last_error": "amoCRM is rate limiting AmoSync (429); it slowed down and will retry later"}),
                WebhookView::Registered,
                TunnelView::Up,
                vec![(RateLimited, None)],
            ),
            (
                "the account is on this machine (emulator)",
                json!({"public_url": "local", "tunnel_provider": null,
                       "tunnel": {"state": "down", "reason": "not needed: amoCRM runs on this machine"}}),
                WebhookView::Registered,
                TunnelView::Local,
                vec![],
            ),
            (
                "an older serve without public_url, local",
                json!({"public_url": null, "tunnel_provider": null,
                       "tunnel": {"state": "down", "reason": "not needed: amoCRM runs on this machine"}}),
                WebhookView::Registered,
                TunnelView::Local,
                vec![],
            ),
            (
                "registering",
                json!({"webhook": {"state": {"state": "registering"}}}),
                WebhookView::Pending,
                TunnelView::Up,
                vec![],
            ),
            (
                "other keeper failure",
                json!({"webhook": {"state": {"state": "failed", "code": "BadRequest", "message": "bad"}}}),
                WebhookView::Error,
                TunnelView::Up,
                vec![(Other, Some(ReregisterWebhook))],
            ),
        ];
        for (name, extra, webhook, tunnel, want) in cases {
            let v = view(SessionMode::Embedded, engine(extra), None);
            assert_eq!(v.webhook, webhook, "{name}");
            assert_eq!(v.tunnel, tunnel, "{name}");
            assert_eq!(codes(&v), want, "{name}: {:?}", v.issues);
        }
    }

    #[test]
    fn offline_since_shows_only_while_offline() {
        let v = view(
            SessionMode::Embedded,
            engine(
                json!({"last_error": "amoCRM did not answer in time (x); check the connection and retry"}),
            ),
            None,
        );
        assert!(!v.online);
        assert_eq!(v.offline_since, Some(1_750_000_300));
        let v = view(SessionMode::Embedded, engine(json!({})), None);
        assert_eq!(v.offline_since, None);
    }

    #[test]
    fn a_disable_stays_shown_until_the_user_deals_with_it() {
        // The keeper registered it again at once; the user has not seen it.
        let again = json!({"webhook": {"state": {"state": "registered"}, "last_disabled_s": 500, "reregistrations": 1}});
        let v = view(SessionMode::Embedded, engine(again.clone()), None);
        assert_eq!(v.webhook, WebhookView::Disabled);
        assert_eq!(
            codes(&v),
            vec![(
                SyncIssueCode::WebhookDisabled,
                Some(SyncAction::ReregisterWebhook)
            )]
        );
        assert!(v.webhook_message.unwrap().contains("registered it again"));
        // Seen to ("Re-register webhook"): registered.
        let v = view(SessionMode::Embedded, engine(again.clone()), Some(500));
        assert_eq!(v.webhook, WebhookView::Registered);
        assert!(v.issues.is_empty());
        // A later disable shows again.
        let v = view(SessionMode::Embedded, engine(again), Some(400));
        assert_eq!(v.webhook, WebhookView::Disabled);
    }

    #[test]
    fn a_failed_start_is_an_issue_with_an_action() {
        let cases = [
            (
                AppError::new(ErrorCode::StoreUnavailable, "in use"),
                SyncIssueCode::Other,
                SyncAction::SyncNow,
            ),
            (
                AppError::new(ErrorCode::AuthRevoked, "revoked"),
                SyncIssueCode::ReconnectNeeded,
                SyncAction::Reconnect,
            ),
            (
                AppError::new(
                    ErrorCode::InvalidInput,
                    "the saved tunnel settings are unreadable",
                ),
                SyncIssueCode::NoTunnel,
                SyncAction::OpenSettings,
            ),
        ];
        for (err, code, action) in cases {
            let v = derive(&ViewInput {
                mode: SessionMode::Stopped,
                watch: None,
                events_per_minute: 0.0,
                api_per_second: 0.0,
                offline_since: None,
                disabled_seen_s: None,
                start_error: Some(&err),
                lang: Language::En,
            });
            assert_eq!(v.mode, SessionMode::Stopped);
            assert_eq!(codes(&v), vec![(code, Some(action))], "{err:?}");
        }
    }

    #[test]
    fn the_demo_has_no_tunnel_issue() {
        let v = view(
            SessionMode::Demo,
            engine(json!({"public_url": "none", "tunnel_provider": null})),
            None,
        );
        assert_eq!(v.tunnel, TunnelView::None);
        assert!(v.issues.is_empty(), "{:?}", v.issues);
    }

    #[test]
    fn secrets_never_pass() {
        let secret = "5ec7e75ec7e75ec7e75ec7e75ec7e75e";
        let v = view(
            SessionMode::Embedded,
            engine(json!({
                "tunnel": {"state": "up", "url": format!("https://t.example:8443/amocrm/{secret}/")},
                "last_error": format!("could not reach amoCRM (http://127.0.0.1:9/amocrm/{secret}/x)"),
                "webhook": {"state": {"state": "failed", "code": "X", "message": format!("for https://t.example/amocrm/{secret}/ (oops)")}},
            })),
            None,
        );
        assert_eq!(v.tunnel_url.as_deref(), Some("https://t.example:8443"));
        let text = serde_json::to_string(&v).unwrap();
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("/amocrm/***/"), "{text}");
        assert_eq!(scrub("a /amocrm/s3cret b"), "a /amocrm/*** b");
        assert_eq!(scrub("no path"), "no path");
    }

    #[test]
    fn messages_in_both_languages() {
        use Language::{En, Ru};
        let secret = "5ec7e75ec7e75ec7e75ec7e75ec7e75e";
        let leak = format!("for https://t.example/amocrm/{secret}/ (oops)");
        let view_in = |lang, mode, extra: Value, start_error: Option<&AppError>| {
            let a = answer(engine(extra));
            derive(&ViewInput {
                mode,
                watch: (mode != SessionMode::Stopped).then_some(&a),
                events_per_minute: 0.0,
                api_per_second: 0.0,
                offline_since: None,
                disabled_seen_s: None,
                start_error,
                lang,
            })
        };
        let port_taken = AppError::new(ErrorCode::Local, "port 4321 is in use");
        // (case, extra engine status, a start error, language, the issue's
        // message, the webhook message)
        type Case<'e> = (
            &'static str,
            Value,
            Option<&'e AppError>,
            Language,
            String,
            Option<String>,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "no tunnel",
                json!({"public_url": "none", "tunnel_provider": null}),
                None,
                Ru,
                "Туннель не выбран: amoCRM не может доставлять вебхуки на этот компьютер, изменения приходят только с периодической догрузкой; выберите туннель в настройках".into(),
                None,
            ),
            (
                "no tunnel",
                json!({"public_url": "none", "tunnel_provider": null}),
                None,
                En,
                "no tunnel is chosen: amoCRM cannot deliver webhooks to this computer, changes arrive with the periodic catch-up only; choose a tunnel in the settings".into(),
                None,
            ),
            (
                "reconnect, no reason given",
                json!({"auth": {"state": "reconnect"}}),
                None,
                Ru,
                "amoCRM больше не принимает ключи AmoSync — переподключите аккаунт".into(),
                None,
            ),
            (
                "reconnect, no reason given",
                json!({"auth": {"state": "reconnect"}}),
                None,
                En,
                "amoCRM no longer accepts AmoSync's tokens; reconnect".into(),
                None,
            ),
            (
                "offline, with the engine's words",
                json!({"last_error": "could not reach amoCRM (x)"}),
                None,
                Ru,
                "amoCRM не отвечает (could not reach amoCRM (x))".into(),
                None,
            ),
            (
                "offline, with the engine's words",
                json!({"last_error": "could not reach amoCRM (x)"}),
                None,
                En,
                "could not reach amoCRM (x)".into(),
                None,
            ),
            (
                "the tunnel down, no reason",
                json!({"tunnel": {"state": "down"}}),
                None,
                Ru,
                "Туннель не работает".into(),
                None,
            ),
            (
                "the tunnel down, no reason",
                json!({"tunnel": {"state": "down"}}),
                None,
                En,
                "the tunnel is down".into(),
                None,
            ),
            (
                "disabled, the keeper says nothing",
                json!({"webhook": {"state": {"state": "disabled"}}}),
                None,
                Ru,
                "amoCRM отключил вебхук после ошибок доставки; AmoSync регистрирует его снова".into(),
                Some("amoCRM отключил вебхук после ошибок доставки; AmoSync регистрирует его снова".into()),
            ),
            (
                "disabled, the keeper says nothing",
                json!({"webhook": {"state": {"state": "disabled"}}}),
                None,
                En,
                "amoCRM disabled the webhook after failed deliveries; AmoSync registers it again".into(),
                Some("amoCRM disabled the webhook after failed deliveries; AmoSync registers it again".into()),
            ),
            (
                "a failed keeper, its secret scrubbed",
                json!({"webhook": {"state": {"state": "failed", "code": "X", "message": leak}}}),
                None,
                Ru,
                "Вебхук не удалось зарегистрировать (for https://t.example/amocrm/***/ (oops))".into(),
                Some("Вебхук не удалось зарегистрировать (for https://t.example/amocrm/***/ (oops))".into()),
            ),
            (
                "a failed keeper, its secret scrubbed",
                json!({"webhook": {"state": {"state": "failed", "code": "X", "message": leak}}}),
                None,
                En,
                "for https://t.example/amocrm/***/ (oops)".into(),
                Some("for https://t.example/amocrm/***/ (oops)".into()),
            ),
            (
                "a failed start",
                json!({}),
                Some(&port_taken),
                Ru,
                "Синхронизация не запустилась (port 4321 is in use)".into(),
                None,
            ),
            (
                "a failed start",
                json!({}),
                Some(&port_taken),
                En,
                "port 4321 is in use".into(),
                None,
            ),
        ];
        for (name, extra, start_error, lang, message, webhook_message) in cases {
            let mode = if start_error.is_some() {
                SessionMode::Stopped
            } else {
                SessionMode::Embedded
            };
            let v = view_in(lang, mode, extra, start_error);
            let messages: Vec<&str> = v.issues.iter().map(|i| i.message.as_str()).collect();
            assert_eq!(messages, vec![message.as_str()], "{name} ({lang:?})");
            if webhook_message.is_some() {
                assert_eq!(v.webhook_message, webhook_message, "{name} ({lang:?})");
            }
            let text = serde_json::to_string(&v).unwrap();
            assert!(!text.contains(secret), "{name} ({lang:?}): {text}");
        }
        // Every text has both languages, and they differ.
        for text in [
            Text::NotStarted,
            Text::Reconnect,
            Text::AccountBlocked,
            Text::PaymentRequired,
            Text::WebhookDisabled,
            Text::WebhookDisabledRegistered,
            Text::NotAdmin,
            Text::WebhookLimit,
            Text::WebhookFailed,
            Text::NoTunnel,
            Text::TunnelDown,
            Text::Offline,
            Text::RateLimited,
        ] {
            assert_ne!(say(Ru, text), say(En, text), "{text:?}");
        }
    }

    #[test]
    fn nothing_known_yet() {
        let v = empty(SessionMode::Starting, Language::Ru);
        assert_eq!(v.mode, SessionMode::Starting);
        assert_eq!(v.webhook, WebhookView::Pending);
        assert!(v.online);
        assert!(v.issues.is_empty());
        assert!(!v.first_sync_done);
    }

    #[test]
    fn windows_count_the_last_minute_and_ten_seconds() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut w = Windows::new();
        w.record(at(0), 100, 1000);
        assert_eq!(w.events_per_minute(at(0)), 0.0);
        // 10 webhooks and 30 requests come in within 5 s.
        w.record(at(5), 110, 1030);
        assert_eq!(w.events_per_minute(at(5)), 10.0);
        assert_eq!(w.api_per_second(at(5)), 6.0, "30 over the 5 s seen");
        // Quiet since: requests leave the 10 s window, events the minute.
        assert_eq!(w.api_per_second(at(16)), 0.0);
        assert_eq!(w.events_per_minute(at(30)), 10.0);
        assert_eq!(w.events_per_minute(at(66)), 0.0);
        // A burst later: 70 requests over the 10 s window.
        w.record(at(100), 150, 1100);
        assert_eq!(w.api_per_second(at(100)), 7.0);
        assert_eq!(w.events_per_minute(at(100)), 40.0);
        // Counters going back (another serve) start over.
        w.record(at(101), 3, 4);
        assert_eq!(w.events_per_minute(at(101)), 0.0);
        assert_eq!(w.api_per_second(at(101)), 0.0);
    }
}
