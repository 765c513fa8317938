//! Shared harness: an emulated account, a real redb store in a temp dir, a
//! client under the real rate limiter, and the engine over real HTTP on
//! 127.0.0.1.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amo::models::{Contact, Lead};
use amo::{ClientConfig, LeadWith};
use amo_emulator::{Emulator, EmulatorConfig};
use amosync_store::{AccountBinding, Store};
use amosync_sync::{Engine, EngineConfig, EngineHandle, SystemClock, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};

/// Upper bound of every wait.
pub const WAIT: Duration = Duration::from_secs(20);

/// Every settings code the office registers (the product's own list).
pub use amosync_sync::receiver::WEBHOOK_SETTINGS as ALL_SETTINGS;

pub struct Harness {
    pub emu: Emulator,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub client: amo::Client,
    pub http: reqwest::Client,
    pub account_id: u64,
    pub subdomain: String,
}

/// A client like the app's: 5 req/s, fast test backoff.
pub fn client_for(base: &str, token: &str) -> amo::Client {
    let config = ClientConfig {
        timeout: Duration::from_secs(10),
        max_retries: 3,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        max_total_backoff: Duration::from_secs(10),
        slowdown: Duration::from_secs(2),
        ..ClientConfig::from_url(base).expect("base URL")
    };
    amo::Client::new(config, amo::StaticToken::new(token)).expect("client")
}

impl Harness {
    /// An emulator with `leads` leads and a bound store.
    pub async fn start(leads: usize) -> Harness {
        Harness::start_with(EmulatorConfig {
            seed: 20_250_101,
            leads,
            ..EmulatorConfig::default()
        })
        .await
    }

    pub async fn start_with(config: EmulatorConfig) -> Harness {
        let emu = Emulator::start(config).await.expect("emulator");
        let base = emu.base_url().trim_end_matches('/').to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "loopback only");
        let client = client_for(&base, &emu.token());
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("amosync.redb")).expect("store");
        let account = client.account().await.expect("account");
        let binding = AccountBinding {
            account_id: account.id,
            subdomain: account.subdomain.clone(),
            name: account.name.clone(),
            base_url: base.clone(),
            currency: None,
            timezone: None,
            connected_at: 0,
        };
        store.write(|tx| tx.set_binding(&binding)).expect("bind");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(WAIT)
            .build()
            .expect("http");
        Harness {
            emu,
            base,
            dir,
            store,
            client,
            http,
            account_id: account.id,
            subdomain: account.subdomain,
        }
    }

    /// A fresh client with its own limiter (a new process, e.g. after a restart).
    pub fn new_client(&self) -> amo::Client {
        client_for(&self.base, &self.emu.token())
    }

    pub fn config(&self) -> EngineConfig {
        let mut c = EngineConfig::new(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            WebhookSecret::generate(),
        );
        c.catchup_at_start = false;
        c.fetch_window = Duration::from_millis(50);
        c.catchup_every = Duration::from_secs(3600);
        c
    }

    /// Starts the engine and registers its URL for every webhook.
    pub async fn engine(&self, config: EngineConfig) -> EngineHandle {
        let engine = Engine::start(
            self.store.clone(),
            self.new_client(),
            Arc::new(SystemClock),
            config,
        )
        .await
        .expect("engine starts");
        self.client
            .register_webhook(&engine.webhook_url(), ALL_SETTINGS, Some(10))
            .await
            .expect("webhook registered");
        engine
    }

    /// Deliveries finished, then the engine settled.
    pub async fn settle(&self, engine: &EngineHandle) {
        assert!(
            self.emu.hub().wait_idle(WAIT).await,
            "webhook deliveries still pending"
        );
        assert!(
            engine.settle(WAIT).await,
            "engine did not settle: {:?}",
            engine.status()
        );
    }

    /// A control API call that must succeed.
    pub async fn control(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method.clone(), format!("{}/_emulator{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(
            status.is_success(),
            "{method} /_emulator{path} {body} → {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.control(Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Value {
        self.control(Method::PATCH, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Value {
        self.control(Method::DELETE, path, json!({})).await
    }

    pub async fn webhook_faults(&self, faults: Value) {
        self.post("/webhooks/faults", faults).await;
    }

    /// The API's view of one lead (with contacts), `None` when live-absent.
    pub async fn api_lead(&self, id: u64) -> Option<Lead> {
        self.client
            .lead(id, &[LeadWith::Contacts])
            .await
            .expect("GET lead")
    }

    /// Asserts the store holds exactly the API's version of lead `id`
    /// (or a tombstone when the API has it only in the trash / not at all).
    pub async fn assert_lead_synced(&self, id: u64) {
        let api = self.api_lead(id).await;
        let stored = self.store.lead_record(id).expect("store read");
        match api {
            Some(api) => {
                let stored = stored.unwrap_or_else(|| panic!("lead {id} missing from the store"));
                assert!(
                    stored.sync.deleted_at.is_none(),
                    "lead {id} tombstoned but live in amoCRM"
                );
                assert_eq!(
                    strip_lead(stored.lead.clone()),
                    strip_lead(api),
                    "lead {id}"
                );
            }
            None => {
                if let Some(stored) = stored {
                    assert!(
                        stored.sync.deleted_at.is_some() || stored.lead.is_deleted,
                        "lead {id} deleted in amoCRM but live in the store"
                    );
                }
            }
        }
    }

    pub async fn assert_contact_synced(&self, id: u64) {
        let api = self.client.contact(id, &[]).await.expect("GET contact");
        let stored = self.store.contact(id).expect("store read");
        match api {
            Some(api) => {
                let stored = stored
                    .unwrap_or_else(|| panic!("contact {id} missing"))
                    .contact;
                assert!(stored.sync.deleted_at.is_none(), "contact {id} tombstoned");
                assert_eq!(
                    strip_contact(stored.contact),
                    strip_contact(api),
                    "contact {id}"
                );
            }
            None => {
                if let Some(d) = stored {
                    assert!(
                        d.contact.sync.deleted_at.is_some(),
                        "contact {id} deleted in amoCRM but live here"
                    );
                }
            }
        }
    }

    /// Every live lead and contact of the account equals the store's copy,
    /// and the store holds no live lead amoCRM lacks.
    pub async fn assert_all_synced(&self) {
        let leads = amo::collect_all(
            self.client
                .leads(&amo::LeadsQuery::new().with(LeadWith::Contacts)),
        )
        .await
        .expect("all leads");
        for api in &leads {
            let stored = self
                .store
                .lead_record(api.id)
                .expect("read")
                .unwrap_or_else(|| panic!("lead {} missing from the store", api.id));
            assert!(
                stored.sync.deleted_at.is_none(),
                "lead {} tombstoned but live",
                api.id
            );
            assert_eq!(
                strip_lead(stored.lead),
                strip_lead(api.clone()),
                "lead {}",
                api.id
            );
        }
        let page = self
            .store
            .leads(&amosync_store::LeadsQuery {
                limit: Some(1_000_000),
                ..Default::default()
            })
            .expect("store leads");
        assert_eq!(page.total, leads.len(), "live leads in the store vs amoCRM");
        let contacts: Vec<Contact> =
            amo::collect_all(self.client.contacts(&amo::ContactsQuery::new()))
                .await
                .expect("all contacts");
        for api in &contacts {
            let stored = self
                .store
                .contact(api.id)
                .expect("read")
                .unwrap_or_else(|| panic!("contact {} missing", api.id))
                .contact;
            assert_eq!(
                strip_contact(stored.contact),
                strip_contact(api.clone()),
                "contact {}",
                api.id
            );
        }
        let page = self
            .store
            .contacts(&amosync_store::ContactsQuery {
                limit: Some(1_000_000),
                ..Default::default()
            })
            .expect("store contacts");
        assert_eq!(
            page.total,
            contacts.len(),
            "live contacts in the store vs amoCRM"
        );
    }
}

impl Harness {
    /// Every live company of the account equals the store's copy.
    pub async fn assert_companies_synced(&self) -> usize {
        let companies: Vec<amo::models::Company> =
            amo::collect_all(self.client.companies(&amo::CompaniesQuery::new()))
                .await
                .expect("all companies");
        for api in &companies {
            let stored = self
                .store
                .write(|tx| tx.company(api.id))
                .expect("read")
                .unwrap_or_else(|| panic!("company {} missing from the store", api.id));
            assert!(
                stored.sync.deleted_at.is_none(),
                "company {} tombstoned",
                api.id
            );
            assert_eq!(
                strip_company(stored.company),
                strip_company(api.clone()),
                "company {}",
                api.id
            );
        }
        companies.len()
    }
}

/// Links and the "not deleted" flag are not content.
pub fn strip_company(mut c: amo::models::Company) -> amo::models::Company {
    c.links = None;
    if c.is_deleted == Some(false) {
        c.is_deleted = None;
    }
    c
}

/// HAL links carry the host (same here); drop them to compare content.
pub fn strip_lead(mut l: Lead) -> Lead {
    l.links = None;
    if let Some(e) = l.embedded.as_mut() {
        if let Some(c) = e.contacts.as_mut() {
            for x in c.iter_mut() {
                x.extra.clear();
            }
            c.sort_by_key(|x| x.id);
        }
        for x in &mut e.companies {
            x.extra.clear();
        }
    }
    l
}

pub fn strip_contact(mut c: Contact) -> Contact {
    c.links = None;
    // The store keeps "not deleted" as absent.
    if c.is_deleted == Some(false) {
        c.is_deleted = None;
    }
    if let Some(e) = c.embedded.as_mut() {
        for x in &mut e.companies {
            x.extra.clear();
        }
    }
    c
}

/// Polls `f` every 20 ms until it holds or `WAIT` passes.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
}

/// amoCRM versions records by `updated_at` in whole seconds: two edits of
/// one record within a second carry the same version and the store cannot
/// order them. Tests wait a tick between edits of the same record.
pub async fn tick() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}
