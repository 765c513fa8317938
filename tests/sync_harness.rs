//! Shared by the `sync_*` tests: an emulated account, a real redb store in a
//! temporary folder bound to it, and the sync [`Engine`] listening on
//! 127.0.0.1 with its webhook registered through the real API.
//!
//! Included with `#[path = "sync_harness.rs"] mod sync_harness;` so only the
//! sync tests link the store and the engine. Not every test uses every
//! helper.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amo::models::{Contact, Lead, Talk};
use amo::{Client, ClientConfig, LeadWith, StaticToken};
use amo_emulator::limits::LimitsConfig;
use amo_emulator::{Emulator, EmulatorConfig};
use amosync_store::{
    AccountBinding, ContactsQuery, EventLogQuery, LeadsOrder, LeadsQuery, LoggedEvent, Store,
    TalksQuery,
};
use amosync_sync::{Engine, EngineConfig, EngineHandle, SystemClock, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};

/// Every settings code the office registers (the product's own list).
pub use amosync_sync::receiver::WEBHOOK_SETTINGS as ALL_SETTINGS;

/// Limits that never get in the way of a functional test.
pub fn relaxed_limits() -> LimitsConfig {
    LimitsConfig {
        per_token_per_second: 10_000,
        per_account_per_second: 10_000,
        ..LimitsConfig::default()
    }
}

/// Starts an emulator on 127.0.0.1.
pub async fn emulator(seed: u64, leads: usize, limits: LimitsConfig) -> Emulator {
    let emu = Emulator::start(EmulatorConfig {
        seed,
        leads,
        limits,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts on 127.0.0.1");
    assert!(
        emu.base_url().starts_with("http://127.0.0.1:"),
        "loopback only: {}",
        emu.base_url()
    );
    emu
}

/// The emulator's base URL without a trailing slash.
pub fn base(emu: &Emulator) -> String {
    emu.base_url().trim_end_matches('/').to_owned()
}

/// A client the *test* reads the emulator with: its own admin token (a
/// separate integration, so its requests never eat the engine's 7/s) and a
/// high rate (the emulators of functional tests run with relaxed limits).
pub fn reader(emu: &Emulator) -> Client {
    let config = ClientConfig {
        rate_per_second: 200.0,
        timeout: Duration::from_secs(10),
        max_retries: 3,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_secs(1),
        max_total_backoff: Duration::from_secs(5),
        ..ClientConfig::from_url(&base(emu)).expect("base URL")
    };
    Client::new(config, StaticToken::new(emu.issue_token(true))).expect("reader client")
}

/// The engine's client for functional tests: fast backoff, 5 req/s.
pub fn engine_client_fast(emu: &Emulator) -> Client {
    let config = ClientConfig {
        timeout: Duration::from_secs(10),
        max_retries: 3,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        max_total_backoff: Duration::from_secs(10),
        slowdown: Duration::from_secs(2),
        ..ClientConfig::from_url(&base(emu)).expect("base URL")
    };
    Client::new(config, StaticToken::new(emu.token())).expect("engine client")
}

/// The engine's client with the product's defaults (5 req/s, real backoff).
pub fn engine_client_default(emu: &Emulator) -> Client {
    Client::new(
        ClientConfig::from_url(&base(emu)).expect("base URL"),
        StaticToken::new(emu.token()),
    )
    .expect("engine client")
}

/// Opens a new store at `path` and binds it to the emulator's account, as
/// `amosync connect` does.
pub async fn bound_store(path: &std::path::Path, api: &Client, base_url: &str) -> Store {
    let account = api.account().await.expect("GET /api/v4/account");
    let store = Store::open(path).expect("the store opens");
    let binding = AccountBinding {
        account_id: account.id,
        subdomain: account.subdomain.clone(),
        name: account.name.clone(),
        base_url: base_url.to_owned(),
        currency: account.currency.clone(),
        timezone: None,
        connected_at: account.created_at,
    };
    store
        .write(|tx| tx.set_binding(&binding))
        .expect("binding written");
    store
}

/// A loopback address with a free port.
pub fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// An engine config: the given address and secret; catch-up only when asked
/// (`periodic` false = once an hour, so a test sees the webhook path only).
pub fn engine_config(
    listen: SocketAddr,
    secret: &WebhookSecret,
    at_start: bool,
    periodic: bool,
) -> EngineConfig {
    let mut config = EngineConfig::new(listen, secret.clone());
    config.catchup_at_start = at_start;
    if !periodic {
        config.catchup_every = Duration::from_secs(3600);
    }
    config
}

/// Starts the engine and registers its webhook URL with every setting.
pub async fn start_engine(
    store: &Store,
    client: Client,
    config: EngineConfig,
    api: &Client,
) -> EngineHandle {
    let handle = Engine::start(store.clone(), client, Arc::new(SystemClock), config)
        .await
        .expect("the engine starts");
    let url = handle.webhook_url();
    assert!(
        url.starts_with(&format!("http://{}/", handle.local_addr())),
        "webhook URL {url:?} is not on the receiver's address {}",
        handle.local_addr()
    );
    register(api, &url).await;
    handle
}

/// `POST /api/v4/webhooks` (re-posting the same URL re-enables it).
pub async fn register(api: &Client, url: &str) {
    let hook = api
        .register_webhook(url, ALL_SETTINGS, Some(10))
        .await
        .expect("webhook registered");
    assert_eq!(hook.destination, url);
}

/// An HTTP client for the control API and raw receiver requests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("HTTP client")
}

/// A control API call (`/_emulator/...`) that must succeed; its JSON answer.
pub async fn control(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Value {
    let response = http
        .request(method.clone(), format!("{base}/_emulator{path}"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} /_emulator{path}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "{method} /_emulator{path} {body} → {status}: {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Waits until the emulator has nothing queued or in flight, then until the
/// engine is settled. Panics (with `what`) on timeout.
pub async fn quiesce(emu: &Emulator, engine: &EngineHandle, timeout: Duration, what: &str) {
    assert!(
        emu.hub().wait_idle(timeout).await,
        "{what}: webhook deliveries still pending after {timeout:?}"
    );
    assert!(
        engine.settle(timeout).await,
        "{what}: the engine did not settle within {timeout:?}: {:?}",
        engine.status()
    );
}

/// Every entry of the event log, oldest first.
pub fn event_log(store: &Store) -> Vec<LoggedEvent> {
    let mut out: Vec<LoggedEvent> = Vec::new();
    loop {
        let page = store
            .events(&EventLogQuery {
                newest_first: false,
                after: out.last().map(|e| e.seq),
                pending_only: false,
                limit: Some(1_000),
            })
            .expect("event log readable");
        let done = page.is_empty();
        let before = out.len();
        out.extend(page);
        if done || out.len() == before {
            return out;
        }
        if out.len() > 2_000_000 {
            panic!("event log paging does not end");
        }
    }
}

/// Every lead in the store, tombstones included.
pub fn store_leads(store: &Store) -> Vec<amosync_store::LeadRecord> {
    let mut out = Vec::new();
    loop {
        let page = store
            .leads(&LeadsQuery {
                include_deleted: true,
                order: LeadsOrder::IdAsc,
                offset: out.len(),
                limit: Some(10_000),
                ..LeadsQuery::default()
            })
            .expect("leads query");
        let total = page.total;
        let n = page.items.len();
        out.extend(page.items);
        if n == 0 || out.len() >= total {
            return out;
        }
    }
}

/// Every contact in the store, tombstones included.
pub fn store_contacts(store: &Store) -> Vec<amosync_store::ContactRecord> {
    let mut out = Vec::new();
    loop {
        let page = store
            .contacts(&ContactsQuery {
                include_deleted: true,
                offset: out.len(),
                limit: Some(10_000),
                ..ContactsQuery::default()
            })
            .expect("contacts query");
        let total = page.total;
        let n = page.items.len();
        out.extend(page.items);
        if n == 0 || out.len() >= total {
            return out;
        }
    }
}

/// Every talk in the store.
pub fn store_talks(store: &Store) -> Vec<amosync_store::TalkRecord> {
    store
        .talks(&TalksQuery {
            limit: Some(1_000_000),
            ..TalksQuery::default()
        })
        .expect("talks query")
}

/// The fields of a lead that the store must mirror, as JSON (tags by name,
/// linked contacts and companies as sorted ids).
pub fn lead_view(lead: &Lead) -> Value {
    let mut contacts = lead.contact_ids();
    contacts.sort_unstable();
    let mut companies = lead.company_ids();
    companies.sort_unstable();
    let mut tags: Vec<&str> = lead.tags().iter().map(|t| t.name.as_str()).collect();
    tags.sort_unstable();
    json!({
        "id": lead.id,
        "name": lead.name,
        "price": lead.price,
        "responsible_user_id": lead.responsible_user_id,
        "group_id": lead.group_id,
        "status_id": lead.status_id,
        "pipeline_id": lead.pipeline_id,
        "loss_reason_id": lead.loss_reason_id,
        "created_by": lead.created_by,
        "updated_by": lead.updated_by,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "closed_at": lead.closed_at,
        "is_deleted": lead.is_deleted,
        "custom_fields_values": lead.custom_fields_values,
        "account_id": lead.account_id,
        "tags": tags,
        "contacts": contacts,
        "companies": companies,
    })
}

/// The fields of a contact that the store must mirror.
pub fn contact_view(contact: &Contact) -> Value {
    let mut leads = contact.lead_ids();
    leads.sort_unstable();
    json!({
        "id": contact.id,
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "responsible_user_id": contact.responsible_user_id,
        "group_id": contact.group_id,
        "created_by": contact.created_by,
        "updated_by": contact.updated_by,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "custom_fields_values": contact.custom_fields_values,
        "account_id": contact.account_id,
    })
}

/// The fields of a talk that the store must mirror.
pub fn talk_view(talk: &Talk) -> Value {
    json!({
        "talk_id": talk.talk_id,
        "chat_id": talk.chat_id,
        "contact_id": talk.contact_id,
        "entity_id": talk.entity_id,
        "entity_type": talk.entity_type,
        "origin": talk.origin,
        "is_in_work": talk.is_in_work,
        "is_read": talk.is_read,
        "rate": talk.rate,
        "created_at": talk.created_at,
        "updated_at": talk.updated_at,
    })
}

/// Keys whose values differ between two JSON objects, with both values.
pub fn diff(store: &Value, api: &Value) -> Vec<String> {
    let (Some(s), Some(a)) = (store.as_object(), api.as_object()) else {
        return if store == api {
            Vec::new()
        } else {
            vec![format!("store {store} != api {api}")]
        };
    };
    let mut keys: Vec<&String> = s.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| s.get(*k) != a.get(*k))
        .map(|k| {
            format!(
                "{k}: store {} / api {}",
                s.get(k).unwrap_or(&Value::Null),
                a.get(k).unwrap_or(&Value::Null)
            )
        })
        .collect()
}

/// Polls `check` (which returns the mismatches, empty when equal) every
/// 50 ms until it returns nothing or `timeout` passes; the last mismatches.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> Vec<String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let problems = check().await;
        if problems.is_empty() || Instant::now() >= deadline {
            return problems;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lead as the API shows it now (`None` when deleted or unknown).
pub async fn api_lead(api: &Client, id: u64) -> Option<Lead> {
    api.lead(id, &[LeadWith::Contacts])
        .await
        .unwrap_or_else(|e| panic!("GET /api/v4/leads/{id}: {e}"))
}

/// A temporary folder for a store (removed on drop).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("amosync-sync-test-")
        .tempdir()
        .expect("temporary folder")
}

/// `dir/amosync.redb`.
pub fn store_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("amosync.redb")
}

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same run on every machine and with every `rand` version.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n as u64)) as usize
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// A `message[add]` body exactly as the emulator's webhook encoder renders
/// it, for a message `text` with id `message_id` in the emulator's talk
/// `talk_id` (which must exist). Nothing is added to the emulator.
pub fn message_body(emu: &Emulator, talk_id: u64, message_id: &str, text: &str) -> String {
    emu.incoming_message_body(talk_id, message_id, text)
        .unwrap_or_else(|| panic!("the emulator has no talk {talk_id}"))
}

/// A UUID-shaped message id unique within a test run.
pub fn message_uuid(n: u64) -> String {
    format!("5a1e0000-0000-4000-8000-{n:012x}")
}
