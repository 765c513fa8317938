//! Clients: the account's companies and the contacts leads are made for.

use super::catalog::FIELD_POSITION;
use super::{DAY, Generator, data};
use crate::model::{Company, Contact, CustomFieldValues, FieldType, FieldValue, Timestamp};

impl Generator {
    pub(super) fn companies(&mut self) {
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

    pub(super) fn new_contact(
        &mut self,
        created: Timestamp,
        responsible: (u64, u64),
        corporate: bool,
    ) -> u64 {
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
}
