//! Deterministic generation of a lived-in account: the same (seed, leads, now)
//! gives the same world, byte for byte. Generation is O(leads).
//!
//! Leads are spread over the year before `now`; each walks forward through
//! its pipeline with random pauses, so the history is funnel-shaped (many in
//! early stages, fewer late, a good share won or lost, some deleted) and the
//! `lead_status_changed` events make time-in-status meaningful.

pub mod catalog;
mod data;

use std::collections::BTreeMap;

use serde_json::json;

use crate::clock::Clock;
use crate::model::{
    Company, Contact, CustomFieldValues, Direction, FieldType, FieldValue, Lead, LinkedContact,
    Message, MessageAuthor, Note, NoteParent, STATUS_LOST, STATUS_WON, Talk, Timestamp,
};
use crate::rng::Rng;
use crate::world::{
    IdCounters, NewUnsorted, Room, World, chat_user_id, event_id, lead_status_value,
};
use catalog::*;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedConfig {
    pub seed: u64,
    pub leads: usize,
    /// The anchor "now" every generated timestamp is before.
    pub now: Timestamp,
    /// Where the account is served (`_links`, webhook `account[_links][self]`).
    pub base_url: String,
}

/// The main pipeline's forward path (statuses a typical rental walks through).
const MAIN_PATH: &[u64] = &[
    69_641_338, 69_641_342, 75_648_530, 75_558_642, 70_363_398, 69_717_006, 69_695_130, 75_235_938,
    70_724_666, 72_177_974, 70_724_674,
];
/// From this index on a deal can be won.
const MAIN_WON_FROM: usize = 6;
/// Where stalled main-pipeline leads wait.
const MAIN_STALLED: &[u64] = &[69_695_126, 70_390_022];
const CORP_PATH: &[u64] = &[69_641_454, 69_641_458, 69_641_462, 69_641_466];
const CORP_WON_FROM: usize = 2;
const ORIGIN_WEIGHTS: &[u32] = &[45, 25, 20, 10];

struct Generator {
    world: World,
    rng: Rng,
    now: Timestamp,
    /// Contacts created so far, for repeat clients.
    contact_ids: Vec<u64>,
    company_ids: Vec<u64>,
}

/// Most leads a seed generates (larger requests are cut to this).
pub const MAX_LEADS: usize = 1_000_000;
/// The earliest "now" a seed is generated around (2000-01-01); earlier is raised to it.
pub const MIN_NOW: Timestamp = 946_684_800;
/// The latest "now" a seed is generated around (2100-01-01); later is lowered to it.
pub const MAX_NOW: Timestamp = 4_102_444_800;

/// `now` moved into `MIN_NOW..=MAX_NOW`, where every seed computation fits.
pub fn sane_now(now: Timestamp) -> Timestamp {
    now.clamp(MIN_NOW, MAX_NOW)
}

/// Builds the seeded world (`leads` cut to [`MAX_LEADS`], `now` moved into
/// [`MIN_NOW`]`..=`[`MAX_NOW`]).
pub fn build(config: &SeedConfig, clock: Clock) -> World {
    let mut rng = Rng::new(config.seed ^ 0xA30C_5EED_0000_0001);
    let now = sane_now(config.now);
    let leads = config.leads.min(MAX_LEADS);
    let users = users();
    let admin_id = users
        .iter()
        .find(|u| u.is_admin)
        .map(|u| u.id)
        .unwrap_or_default();
    let world = World {
        clock,
        account: account(now, admin_id, rng.uuid(), &config.base_url),
        users,
        groups: groups(),
        pipelines: pipelines(),
        lead_fields: lead_fields(),
        contact_fields: contact_fields(),
        loss_reasons: loss_reasons(now),
        tags: tags(),
        leads: BTreeMap::new(),
        contacts: BTreeMap::new(),
        companies: BTreeMap::new(),
        notes: Vec::new(),
        talks: BTreeMap::new(),
        messages: Vec::new(),
        tasks: BTreeMap::new(),
        events: Vec::with_capacity(leads.saturating_mul(6)),
        unsorted: Vec::new(),
        change_log: Vec::new(),
        ids: IdCounters {
            lead: 30_000_000,
            contact: 50_000_000,
            company: 70_000_000,
            note: 90_000_000,
            talk: 1_000,
            tag: 40_100,
            event: 0,
            unsorted: 0,
            task: 88_000_000,
        },
        rng: Rng::new(config.seed.rotate_left(17) ^ 0x0005_EED0_0000_0002),
        room: Room::default(),
    };
    let mut g = Generator {
        world,
        rng,
        now,
        contact_ids: Vec::new(),
        company_ids: Vec::new(),
    };
    g.companies();
    let n = leads;
    let span = 365 * DAY;
    let start = now - span - 2 * HOUR;
    for i in 0..n {
        let slot = span / n.max(1) as i64;
        let created = start + slot * i as i64 + g.rng.range(0, slot.max(1));
        g.lead(created.min(now - 2 * HOUR));
    }
    let mut world = g.world;
    pending_unsorted(&mut world, now);
    finish_events(&mut world);
    world.change_log.clear();
    world.set_room_from_now();
    world
}

/// A few requests waiting in "Неразобранное", created in the last half hour.
fn pending_unsorted(world: &mut World, now: Timestamp) {
    let requests = [
        (
            "Нино Абашидзе",
            "Здравствуйте! Нужна машина в аэропорту Кутаиси на 3 дня",
            "chats",
            "waba",
            "+995 599 12 34 56",
        ),
        (
            "Алексей Морозов",
            "Добрый день, интересует Toyota RAV4 на неделю",
            "chats",
            "telegram",
            "+7 916 555 12 34",
        ),
        (
            "Ольга Лебедева",
            "Заявка с сайта: Hyundai Tucson, 12–19 числа",
            "forms",
            "site",
            "+995 577 98 76 54",
        ),
    ];
    for (i, (name, text, category, origin, phone)) in requests.into_iter().enumerate() {
        let input = NewUnsorted {
            name: name.into(),
            text: text.into(),
            category: Some(category.into()),
            origin: Some(origin.into()),
            phone: Some(phone.into()),
        };
        // Created through the world (so they look like any request), then back-dated.
        if let Ok((unsorted, _)) = world.add_unsorted(input) {
            let when = now - (30 - 10 * i as i64) * 60;
            backdate(world, unsorted.lead_id, unsorted.contact_id, when);
        }
    }
}

/// Moves the timestamps of a just-created unsorted request back to `when`.
fn backdate(world: &mut World, lead_id: u64, contact_id: Option<u64>, when: Timestamp) {
    if let Some(l) = world.leads.get_mut(&lead_id) {
        l.created_at = when;
        l.updated_at = when;
    }
    if let Some(c) = contact_id.and_then(|id| world.contacts.get_mut(&id)) {
        c.created_at = when;
        c.updated_at = when;
    }
    if let Some(u) = world.unsorted.iter_mut().find(|u| u.lead_id == lead_id) {
        u.created_at = when;
    }
    for t in world.talks.values_mut().filter(|t| t.entity_id == lead_id) {
        t.created_at = when;
        t.updated_at = when;
    }
    for m in world.messages.iter_mut().filter(|m| m.entity_id == lead_id) {
        m.created_at = when;
    }
    for e in world
        .events
        .iter_mut()
        .filter(|e| e.entity_id == lead_id && e.entity_type == "lead")
    {
        e.created_at = when;
    }
}

impl Generator {
    fn companies(&mut self) {
        let admin = self.world.admin_id();
        for (i, name) in data::COMPANIES.iter().enumerate() {
            let created = self.now - 2 * 365 * DAY + i as i64 * 7 * DAY;
            self.world.ids.company += 1;
            let id = self.world.ids.company;
            self.world.companies.insert(
                id,
                Company {
                    id,
                    name: name.to_string(),
                    responsible_user_id: admin,
                    group_id: 0,
                    created_by: admin,
                    updated_by: admin,
                    created_at: created,
                    updated_at: created,
                    is_deleted: false,
                    custom_fields: Vec::new(),
                    tags: Vec::new(),
                    lead_ids: Vec::new(),
                    contact_ids: Vec::new(),
                },
            );
            self.company_ids.push(id);
        }
    }

    fn responsible(&mut self) -> (u64, u64) {
        let weights = [2, 6, 6, 5, 3, 3];
        let idx = self
            .rng
            .weighted(&weights[..self.world.users.len().min(weights.len())]);
        self.world
            .users
            .get(idx)
            .map(|u| (u.id, u.group_id))
            .unwrap_or_default()
    }

    fn person_name(&mut self) -> String {
        let first = self.rng.pick(data::FIRST_NAMES);
        let last = self.rng.pick(data::LAST_NAMES);
        // Feminine surnames for the common feminine first names.
        let feminine = first.ends_with('а')
            || first.ends_with('я')
            || matches!(first, "Нино" | "Тамар" | "Мариам");
        let last = if feminine
            && (last.ends_with("ов") || last.ends_with("ев") || last.ends_with("ин"))
        {
            format!("{last}а")
        } else if feminine && last.ends_with("ий") {
            format!("{}ая", last.trim_end_matches("ий"))
        } else {
            last.to_string()
        };
        format!("{first} {last}")
    }

    fn phone(&mut self) -> String {
        if self.rng.chance(0.7) {
            format!(
                "+995 5{:02} {:02} {:02} {:02}",
                self.rng.range(50, 100),
                self.rng.range(0, 100),
                self.rng.range(0, 100),
                self.rng.range(0, 100)
            )
        } else {
            format!(
                "+7 9{:02} {:03} {:02} {:02}",
                self.rng.range(0, 100),
                self.rng.range(0, 1000),
                self.rng.range(0, 100),
                self.rng.range(0, 100)
            )
        }
    }

    fn new_contact(&mut self, created: Timestamp, responsible: (u64, u64), corporate: bool) -> u64 {
        let name = self.person_name();
        self.world.ids.contact += 1;
        let id = self.world.ids.contact;
        let (first_name, last_name) = crate::world::split_name(&name);
        let mut custom_fields = Vec::new();
        if self.rng.chance(0.95) {
            let phone = self.phone();
            let code = if self.rng.chance(0.85) { "MOB" } else { "WORK" };
            custom_fields.extend(self.world.contact_multitext("PHONE", &phone, code));
        }
        if self.rng.chance(0.4) {
            let email = format!(
                "client{}@{}",
                id % 100_000,
                if self.rng.chance(0.5) {
                    "gmail.com"
                } else {
                    "mail.ru"
                }
            );
            custom_fields.extend(self.world.contact_multitext(
                "EMAIL",
                &email,
                if corporate { "WORK" } else { "PRIV" },
            ));
        }
        if corporate {
            let position = self.rng.pick(data::POSITIONS);
            custom_fields.push(CustomFieldValues {
                field_id: FIELD_POSITION,
                field_name: "Должность".into(),
                field_code: Some("POSITION".into()),
                field_type: FieldType::Text,
                values: vec![FieldValue {
                    value: position.into(),
                    enum_id: None,
                    enum_code: None,
                }],
            });
        }
        let admin = self.world.admin_id();
        self.world.contacts.insert(
            id,
            Contact {
                id,
                name,
                first_name,
                last_name,
                responsible_user_id: responsible.0,
                group_id: responsible.1,
                created_by: admin,
                updated_by: admin,
                created_at: created,
                updated_at: created,
                closest_task_at: None,
                is_deleted: false,
                is_unsorted: false,
                custom_fields,
                tags: Vec::new(),
                company_id: None,
                company_name: None,
                lead_ids: Vec::new(),
            },
        );
        self.contact_ids.push(id);
        id
    }

    fn lead_fields(
        &mut self,
        created: Timestamp,
        car: &str,
        days: i64,
        origin_idx: Option<usize>,
    ) -> Vec<CustomFieldValues> {
        if self.rng.chance(0.1) {
            return Vec::new();
        }
        let source = match origin_idx {
            Some(0) => SOURCE_ENUMS[1],
            Some(1) => SOURCE_ENUMS[2],
            Some(2) => SOURCE_ENUMS[3],
            _ => SOURCE_ENUMS[[0usize, 4, 5][self.rng.index(3)]],
        };
        let pickup = (created + self.rng.range(DAY, 20 * DAY)) / DAY * DAY;
        let text = |id, name: &str, t, v: String| CustomFieldValues {
            field_id: id,
            field_name: name.into(),
            field_code: None,
            field_type: t,
            values: vec![FieldValue {
                value: v,
                enum_id: None,
                enum_code: None,
            }],
        };
        vec![
            text(FIELD_CAR, "Автомобиль", FieldType::Text, car.to_string()),
            CustomFieldValues {
                field_id: FIELD_SOURCE,
                field_name: "Источник".into(),
                field_code: None,
                field_type: FieldType::Select,
                values: vec![FieldValue {
                    value: source.1.into(),
                    enum_id: Some(source.0),
                    enum_code: None,
                }],
            },
            text(
                FIELD_PICKUP_DATE,
                "Дата выдачи",
                FieldType::Date,
                pickup.to_string(),
            ),
            text(
                FIELD_DAYS,
                "Срок аренды, дней",
                FieldType::Numeric,
                days.to_string(),
            ),
        ]
    }

    fn lead(&mut self, created: Timestamp) {
        self.world.ids.lead += 1;
        let id = self.world.ids.lead;
        let corporate = self.rng.chance(0.15);
        let responsible = self.responsible();
        let car = self.rng.pick(data::CARS);
        let days = [1, 2, 3, 3, 4, 5, 5, 7, 7, 10, 14, 30][self.rng.index(12)]
            * if corporate { 3 } else { 1 };
        let daily = self.rng.range(14, 51) * 5;
        let price = if self.rng.chance(0.12) {
            0
        } else {
            days * daily
        };
        let has_talk = self.rng.chance(0.45);
        let origin_idx = has_talk.then(|| self.rng.weighted(ORIGIN_WEIGHTS));
        let name = match self.rng.index(20) {
            0 => String::new(),
            1..=3 => format!("Сделка #{id}"),
            _ => format!("{car}, {days} дн."),
        };
        let custom_fields = self.lead_fields(created, car, days, origin_idx);
        let mut tags = Vec::new();
        if self.rng.chance(0.3) {
            let t = self
                .world
                .tags
                .get(self.rng.index(self.world.tags.len()))
                .cloned();
            tags.extend(t);
        }
        // Contacts: a new client, or a returning one.
        let contact_id = match self.contact_ids.len() {
            n if n > 10 && self.rng.chance(0.15) => self.contact_ids[self.rng.index(n)],
            _ => self.new_contact(created, responsible, corporate),
        };
        let mut contacts = vec![LinkedContact {
            id: contact_id,
            is_main: true,
        }];
        if self.rng.chance(0.05) {
            let second = self.new_contact(created, responsible, corporate);
            contacts.push(LinkedContact {
                id: second,
                is_main: false,
            });
        }
        let company_id = (corporate && self.rng.chance(0.7) || self.rng.chance(0.03))
            .then(|| {
                self.company_ids
                    .get(self.rng.index(self.company_ids.len()))
                    .copied()
            })
            .flatten();
        let pipeline_id = if corporate {
            CORPORATE_PIPELINE_ID
        } else {
            MAIN_PIPELINE_ID
        };
        let mut lead = Lead {
            id,
            name,
            price,
            responsible_user_id: responsible.0,
            group_id: responsible.1,
            status_id: 0,
            pipeline_id,
            loss_reason_id: None,
            source_id: None,
            created_by: responsible.0,
            updated_by: responsible.0,
            created_at: created,
            updated_at: created,
            closed_at: None,
            closest_task_at: None,
            is_deleted: false,
            score: None,
            labor_cost: None,
            custom_fields,
            tags,
            contacts,
            company_id,
        };
        self.walk(&mut lead, corporate);
        if let Some(origin_idx) = origin_idx {
            self.talk(
                &lead,
                crate::world::ORIGINS
                    .get(origin_idx)
                    .copied()
                    .unwrap_or("telegram"),
            );
        }
        if self.rng.chance(0.25) {
            self.note(&lead);
        }
        if self.rng.chance(0.3) {
            lead.updated_at = (lead.updated_at + self.rng.range(HOUR, 3 * DAY)).min(self.now - 60);
        }
        if self.rng.chance(0.03) {
            let when = (lead.updated_at + self.rng.range(HOUR, 3 * DAY)).min(self.now - 60);
            lead.is_deleted = true;
            lead.updated_at = when;
            self.world.push_event(
                "lead_deleted",
                ("lead", id),
                lead.responsible_user_id,
                when,
                json!([]),
                json!([]),
            );
        }
        let company_name = company_id
            .and_then(|cid| self.world.companies.get(&cid))
            .map(|c| c.name.clone());
        for c in &lead.contacts {
            if let Some(contact) = self.world.contacts.get_mut(&c.id) {
                contact.lead_ids.push(id);
                if let Some(company) = company_id {
                    contact.company_id = Some(company);
                    contact.company_name.clone_from(&company_name);
                }
            }
        }
        if let Some(company) = company_id.and_then(|cid| self.world.companies.get_mut(&cid)) {
            company.lead_ids.push(id);
            if !company.contact_ids.contains(&contact_id) {
                company.contact_ids.push(contact_id);
            }
        }
        self.world.leads.insert(id, lead);
    }

    /// Walks the lead forward through its pipeline, writing status events.
    fn walk(&mut self, lead: &mut Lead, corporate: bool) {
        let (path, won_from) = if corporate {
            (CORP_PATH, CORP_WON_FROM)
        } else {
            (MAIN_PATH, MAIN_WON_FROM)
        };
        let start = if corporate {
            path[0]
        } else {
            match self.rng.index(100) {
                0..=7 => MAIN_UNSORTED_STATUS,
                8..=11 => 76_072_006,
                12..=14 => 72_457_238,
                _ => path[0],
            }
        };
        let mut status = start;
        let mut pos = 0usize;
        let mut t = lead.created_at;
        let who = lead.responsible_user_id;
        self.world.push_event(
            "lead_added",
            ("lead", lead.id),
            who,
            t,
            json!([]),
            lead_status_value(status, lead.pipeline_id),
        );
        loop {
            let step = self
                .rng
                .range(HOUR / 2, 5 * DAY)
                .min(self.rng.range(HOUR / 2, 12 * DAY));
            let next_t = t + step;
            if next_t >= self.now - 60 {
                break;
            }
            let roll = self.rng.unit();
            let target = if !path.contains(&status) {
                path[0]
            } else if roll < 0.13 {
                STATUS_LOST
            } else if pos >= won_from && roll < 0.38 {
                STATUS_WON
            } else if roll < 0.84 {
                pos += 1 + self.rng.index(2);
                if pos >= path.len() {
                    STATUS_WON
                } else {
                    path[pos]
                }
            } else if self.now - lead.created_at > 45 * DAY && self.rng.chance(0.6) {
                STATUS_LOST
            } else {
                if !corporate && pos > 0 && pos < 4 && self.rng.chance(0.4) {
                    let stalled = MAIN_STALLED[self.rng.index(MAIN_STALLED.len())];
                    self.status_event(lead, status, stalled, next_t);
                    status = stalled;
                    t = next_t;
                }
                break;
            };
            self.status_event(lead, status, target, next_t);
            status = target;
            t = next_t;
            if status == STATUS_WON || status == STATUS_LOST {
                lead.closed_at = Some(t);
                if status == STATUS_LOST {
                    let reasons = self.world.loss_reasons.len();
                    lead.loss_reason_id = self
                        .world
                        .loss_reasons
                        .get(self.rng.index(reasons))
                        .map(|r| r.id);
                }
                break;
            }
        }
        lead.status_id = status;
        lead.updated_at = t;
        lead.updated_by = who;
    }

    fn status_event(&mut self, lead: &Lead, from: u64, to: u64, at: Timestamp) {
        let p = lead.pipeline_id;
        let who = lead.responsible_user_id;
        self.world.push_event(
            "lead_status_changed",
            ("lead", lead.id),
            who,
            at,
            lead_status_value(from, p),
            lead_status_value(to, p),
        );
    }

    fn talk(&mut self, lead: &Lead, origin: &str) {
        let Some(contact_id) = lead.contacts.first().map(|c| c.id) else {
            return;
        };
        let created = lead.created_at + self.rng.range(0, 600);
        self.world.ids.talk += 1;
        let talk_id = self.world.ids.talk;
        let chat_id = self.rng.uuid();
        let client = self
            .world
            .contacts
            .get(&contact_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        // Drawn and dropped to keep the seeded sequence; the author id is
        // derived from the contact, as for messages added later.
        let _ = self.rng.uuid();
        let account_id = self.world.account.id;
        let client_uuid = chat_user_id(account_id, "contact", contact_id);
        let avatar = (contact_id % 3 != 0).then(|| {
            format!("https://amojo.amocrm.ru/attachments/profiles/{client_uuid}/avatar.jpg")
        });
        let manager = self
            .world
            .user(lead.responsible_user_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let count = 1 + self.rng.index(8);
        let mut t = created;
        let mut last_direction = Direction::Incoming;
        for k in 0..count {
            if t >= self.now - 60 {
                break;
            }
            let direction = if k % 2 == 0 {
                Direction::Incoming
            } else {
                Direction::Outgoing
            };
            let (text, author) = match direction {
                Direction::Incoming => (
                    self.rng.pick(data::INCOMING_LINES),
                    MessageAuthor {
                        id: client_uuid.clone(),
                        kind: "external".into(),
                        name: client.clone(),
                        avatar_url: avatar.clone(),
                    },
                ),
                Direction::Outgoing => (
                    self.rng.pick(data::OUTGOING_LINES),
                    MessageAuthor {
                        id: chat_user_id(account_id, "user", lead.responsible_user_id),
                        kind: "internal".into(),
                        name: manager.clone(),
                        avatar_url: None,
                    },
                ),
            };
            let message = Message {
                id: self.rng.uuid(),
                chat_id: chat_id.clone(),
                talk_id,
                contact_id,
                text: text.to_string(),
                created_at: t,
                entity_type: "lead".into(),
                entity_id: lead.id,
                origin: origin.to_string(),
                direction,
                author,
                message_type: "text".into(),
                attachment: None,
            };
            let kind = if direction == Direction::Incoming {
                "incoming_chat_message"
            } else {
                "outgoing_chat_message"
            };
            let value =
                json!([{"message": {"id": message.id, "origin": origin, "talk_id": talk_id}}]);
            self.world
                .push_event(kind, ("lead", lead.id), 0, t, json!([]), value);
            self.world.messages.push(message);
            last_direction = direction;
            t += self.rng.range(60, 6 * HOUR);
        }
        let open = lead.closed_at.is_none();
        let updated = self
            .world
            .messages
            .last()
            .filter(|m| m.talk_id == talk_id)
            .map(|m| m.created_at)
            .unwrap_or(created);
        self.world.talks.insert(
            talk_id,
            Talk {
                talk_id,
                chat_id,
                contact_id,
                entity_id: lead.id,
                entity_type: "lead".into(),
                origin: origin.to_string(),
                is_in_work: open,
                is_read: !(open && last_direction == Direction::Incoming && self.rng.chance(0.5)),
                rate: 0,
                missed_at: None,
                created_at: created,
                updated_at: updated,
            },
        );
    }

    fn note(&mut self, lead: &Lead) {
        let at = lead.created_at + (lead.updated_at - lead.created_at) / 2;
        self.world.ids.note += 1;
        self.world.notes.push(Note {
            id: self.world.ids.note,
            parent: NoteParent::Lead,
            entity_id: lead.id,
            note_type: "common".into(),
            text: self.rng.pick(data::NOTES).to_string(),
            created_by: lead.responsible_user_id,
            updated_by: lead.responsible_user_id,
            responsible_user_id: lead.responsible_user_id,
            group_id: lead.group_id,
            created_at: at,
            updated_at: at,
        });
    }
}

/// Sorts the generated events by time and renumbers them in that order.
fn finish_events(world: &mut World) {
    world.events.sort_by_key(|e| e.created_at);
    for (i, e) in world.events.iter_mut().enumerate() {
        e.id = event_id(e.created_at, i as u64 + 1);
    }
    world.ids.event = world.events.len() as u64;
}
