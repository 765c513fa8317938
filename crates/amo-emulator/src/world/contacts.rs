//! Contacts, companies and notes.

use serde::Deserialize;

use super::{World, WorldError};
use crate::model::{
    Change, Company, Contact, CustomFieldValues, FieldValue, LinkedContact, Note, NoteParent,
    Timestamp,
};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub responsible_user_id: Option<u64>,
    /// Link the new contact to this lead (as main contact when it has none).
    pub lead_id: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub responsible_user_id: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    pub name: String,
    pub lead_id: Option<u64>,
    pub contact_id: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub entity: NoteParent,
    pub entity_id: u64,
    pub text: String,
}

/// `"Иван Петров"` → (`"Иван"`, `"Петров"`).
pub fn split_name(name: &str) -> (String, String) {
    let mut parts = name.trim().splitn(2, ' ');
    let first = parts.next().unwrap_or("").to_string();
    let last = parts.next().unwrap_or("").trim().to_string();
    (first, last)
}

impl World {
    /// A multitext value (PHONE / EMAIL) with the field's `enum_code`.
    pub(crate) fn contact_multitext(
        &self,
        code: &str,
        value: &str,
        enum_code: &str,
    ) -> Option<CustomFieldValues> {
        let def = self
            .contact_fields
            .iter()
            .find(|f| f.code.as_deref() == Some(code))?;
        let enum_id = def
            .enums
            .iter()
            .find(|e| e.value == enum_code)
            .map(|e| e.id);
        Some(CustomFieldValues {
            field_id: def.id,
            field_name: def.name.clone(),
            field_code: def.code.clone(),
            field_type: def.field_type,
            values: vec![FieldValue {
                value: value.to_string(),
                enum_id,
                enum_code: Some(enum_code.to_string()),
            }],
        })
    }

    fn set_contact_field(&self, contact: &mut Contact, code: &str, value: &str, enum_code: &str) {
        contact
            .custom_fields
            .retain(|f| f.field_code.as_deref() != Some(code));
        if !value.trim().is_empty()
            && let Some(field) = self.contact_multitext(code, value.trim(), enum_code)
        {
            contact.custom_fields.push(field);
        }
    }

    /// Creates a contact without recording changes (callers record).
    pub(crate) fn create_contact(
        &mut self,
        name: &str,
        phone: Option<&str>,
        email: Option<&str>,
        responsible: u64,
        lead_id: Option<u64>,
    ) -> Result<Contact, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let group_id = self.check_user(responsible)?.group_id;
        self.ids.contact += 1;
        let (first_name, last_name) = split_name(name);
        let mut contact = Contact {
            id: self.ids.contact,
            name: name.trim().to_string(),
            first_name,
            last_name,
            responsible_user_id: responsible,
            group_id,
            created_by: actor,
            updated_by: actor,
            created_at: now,
            updated_at: now,
            closest_task_at: None,
            is_deleted: false,
            is_unsorted: false,
            custom_fields: Vec::new(),
            tags: Vec::new(),
            company_id: None,
            lead_ids: lead_id.into_iter().collect(),
        };
        if let Some(phone) = phone {
            self.set_contact_field(&mut contact, "PHONE", phone, "MOB");
        }
        if let Some(email) = email {
            self.set_contact_field(&mut contact, "EMAIL", email, "WORK");
        }
        self.contacts.insert(contact.id, contact.clone());
        Ok(contact)
    }

    pub(crate) fn touch_lead(&mut self, id: u64, now: Timestamp) {
        let actor = self.admin_id();
        if let Some(lead) = self.leads.get_mut(&id) {
            lead.updated_at = now;
            lead.updated_by = actor;
        }
    }

    /// Creates a contact, optionally linked to a lead.
    pub fn add_contact(&mut self, input: NewContact) -> Result<(Contact, Vec<Change>), WorldError> {
        if input.name.trim().is_empty() {
            return Err(WorldError::Invalid("name must not be empty".into()));
        }
        if let Some(lead_id) = input.lead_id {
            self.lead(lead_id)?;
        }
        let responsible = input.responsible_user_id.unwrap_or_else(|| self.admin_id());
        let contact = self.create_contact(
            &input.name,
            input.phone.as_deref(),
            input.email.as_deref(),
            responsible,
            input.lead_id,
        )?;
        let mut changes = vec![Change::ContactAdded(contact.clone())];
        if let Some(lead_id) = input.lead_id {
            let now = self.now();
            self.touch_lead(lead_id, now);
            let lead = self.lead_mut(lead_id)?;
            let is_main = !lead.contacts.iter().any(|c| c.is_main);
            lead.contacts.push(LinkedContact {
                id: contact.id,
                is_main,
            });
            changes.push(Change::LeadUpdated(lead.clone()));
        }
        Ok((contact, self.record(changes)))
    }

    /// Edits a contact's name, phone, email or responsible.
    pub fn update_contact(
        &mut self,
        id: u64,
        patch: ContactPatch,
    ) -> Result<(Contact, Vec<Change>), WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        if let Some(uid) = patch.responsible_user_id {
            self.check_user(uid)?;
        }
        let mut contact = self
            .contacts
            .get(&id)
            .filter(|c| !c.is_deleted)
            .cloned()
            .ok_or_else(|| WorldError::NotFound(format!("contact {id} not found")))?;
        let old_responsible = contact.responsible_user_id;
        if let Some(name) = patch.name {
            let (first, last) = split_name(&name);
            contact.name = name.trim().to_string();
            contact.first_name = first;
            contact.last_name = last;
        }
        if let Some(phone) = patch.phone {
            self.set_contact_field(&mut contact, "PHONE", &phone, "MOB");
        }
        if let Some(email) = patch.email {
            self.set_contact_field(&mut contact, "EMAIL", &email, "WORK");
        }
        if let Some(uid) = patch.responsible_user_id {
            contact.responsible_user_id = uid;
        }
        contact.updated_at = now;
        contact.updated_by = actor;
        self.contacts.insert(id, contact.clone());
        let mut changes = vec![Change::ContactUpdated(contact.clone())];
        if contact.responsible_user_id != old_responsible {
            changes.push(Change::ContactResponsibleChanged {
                contact: contact.clone(),
                old_responsible_user_id: old_responsible,
            });
        }
        Ok((contact, self.record(changes)))
    }

    /// Creates a company, optionally linked to a lead and a contact.
    pub fn add_company(&mut self, input: NewCompany) -> Result<(Company, Vec<Change>), WorldError> {
        if input.name.trim().is_empty() {
            return Err(WorldError::Invalid("name must not be empty".into()));
        }
        if let Some(lead_id) = input.lead_id {
            self.lead(lead_id)?;
        }
        if let Some(cid) = input.contact_id
            && self.contacts.get(&cid).is_none_or(|c| c.is_deleted)
        {
            return Err(WorldError::NotFound(format!("contact {cid} not found")));
        }
        let now = self.now();
        let actor = self.admin_id();
        self.ids.company += 1;
        let company = Company {
            id: self.ids.company,
            name: input.name.trim().to_string(),
            responsible_user_id: actor,
            group_id: self.user(actor).map(|u| u.group_id).unwrap_or_default(),
            created_by: actor,
            updated_by: actor,
            created_at: now,
            updated_at: now,
            is_deleted: false,
            custom_fields: Vec::new(),
            tags: Vec::new(),
            lead_ids: input.lead_id.into_iter().collect(),
            contact_ids: input.contact_id.into_iter().collect(),
        };
        self.companies.insert(company.id, company.clone());
        let mut changes = vec![Change::CompanyAdded(company.clone())];
        if let Some(lead_id) = input.lead_id {
            self.touch_lead(lead_id, now);
            let lead = self.lead_mut(lead_id)?;
            lead.company_id = Some(company.id);
            changes.push(Change::LeadUpdated(lead.clone()));
        }
        if let Some(cid) = input.contact_id
            && let Some(contact) = self.contacts.get_mut(&cid)
        {
            contact.company_id = Some(company.id);
            contact.updated_at = now;
            contact.updated_by = actor;
            changes.push(Change::ContactUpdated(contact.clone()));
        }
        Ok((company, self.record(changes)))
    }

    /// Adds a plain-text note to a lead, contact or company.
    pub fn add_note(&mut self, input: NewNote) -> Result<(Note, Vec<Change>), WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let responsible = match input.entity {
            NoteParent::Lead => self.lead(input.entity_id)?.responsible_user_id,
            NoteParent::Contact => self
                .contacts
                .get(&input.entity_id)
                .filter(|c| !c.is_deleted)
                .map(|c| c.responsible_user_id)
                .ok_or_else(|| {
                    WorldError::NotFound(format!("contact {} not found", input.entity_id))
                })?,
            NoteParent::Company => self
                .companies
                .get(&input.entity_id)
                .filter(|c| !c.is_deleted)
                .map(|c| c.responsible_user_id)
                .ok_or_else(|| {
                    WorldError::NotFound(format!("company {} not found", input.entity_id))
                })?,
        };
        self.ids.note += 1;
        let note = Note {
            id: self.ids.note,
            parent: input.entity,
            entity_id: input.entity_id,
            note_type: "common".into(),
            text: input.text,
            created_by: actor,
            updated_by: actor,
            responsible_user_id: responsible,
            group_id: self
                .user(responsible)
                .map(|u| u.group_id)
                .unwrap_or_default(),
            created_at: now,
            updated_at: now,
        };
        self.notes.push(note.clone());
        if input.entity == NoteParent::Lead {
            self.touch_lead(input.entity_id, now);
        }
        Ok((note.clone(), self.record(vec![Change::NoteAdded(note)])))
    }
}
