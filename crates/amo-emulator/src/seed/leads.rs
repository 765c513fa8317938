//! Leads: who owns them, their custom fields, links and notes.

use serde_json::json;

use super::catalog::{
    CORPORATE_PIPELINE_ID, FIELD_CAR, FIELD_DAYS, FIELD_PICKUP_DATE, FIELD_SOURCE,
    MAIN_PIPELINE_ID, SOURCE_ENUMS,
};
use super::{DAY, Generator, HOUR, data};
use crate::model::{
    CustomFieldValues, FieldType, FieldValue, Lead, LinkedContact, Note, NoteParent, Timestamp,
};

const ORIGIN_WEIGHTS: &[u32] = &[45, 25, 20, 10];

impl Generator {
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

    pub(super) fn lead(&mut self, created: Timestamp) {
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
