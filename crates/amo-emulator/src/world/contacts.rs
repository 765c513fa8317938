//! Contacts, companies and notes.

use serde::Deserialize;

use serde_json::json;

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

/// An edit of a company; `None` keeps the current value.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    pub name: Option<String>,
    pub responsible_user_id: Option<u64>,
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
            company_name: None,
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
            contact.company_name = Some(company.name.clone());
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

    /// Moves a contact to the trash (`contacts[delete]`: id and type only;
    /// event `contact_deleted`). Its links stay, so a restore brings them back.
    pub fn delete_contact(&mut self, id: u64) -> Result<Vec<Change>, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let contact = self
            .contacts
            .get_mut(&id)
            .filter(|c| !c.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("contact {id} not found")))?;
        contact.is_deleted = true;
        contact.updated_at = now;
        contact.updated_by = actor;
        self.push_event(
            "contact_deleted",
            ("contact", id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok(self.record(vec![Change::ContactDeleted { id }]))
    }

    /// Brings a deleted contact back (`contacts[restore]`, event `contact_restored`).
    pub fn restore_contact(&mut self, id: u64) -> Result<(Contact, Vec<Change>), WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let contact = self
            .contacts
            .get_mut(&id)
            .filter(|c| c.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("deleted contact {id} not found")))?;
        contact.is_deleted = false;
        contact.updated_at = now;
        contact.updated_by = actor;
        let contact = contact.clone();
        self.push_event(
            "contact_restored",
            ("contact", id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok((
            contact.clone(),
            self.record(vec![Change::ContactRestored(contact)]),
        ))
    }

    /// Renames a company or changes its responsible (`contacts[update]` with
    /// `type=company`). Linked contacts get the new `company_name` quietly.
    pub fn update_company(
        &mut self,
        id: u64,
        patch: CompanyPatch,
    ) -> Result<(Company, Vec<Change>), WorldError> {
        if patch.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
            return Err(WorldError::Invalid("name must not be empty".into()));
        }
        let group_id = match patch.responsible_user_id {
            Some(uid) => Some(self.check_user(uid)?.group_id),
            None => None,
        };
        let now = self.now();
        let actor = self.admin_id();
        let company = self
            .companies
            .get_mut(&id)
            .filter(|c| !c.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("company {id} not found")))?;
        let old_responsible = company.responsible_user_id;
        if let Some(name) = &patch.name {
            company.name = name.trim().to_string();
        }
        if let (Some(uid), Some(group_id)) = (patch.responsible_user_id, group_id) {
            company.responsible_user_id = uid;
            company.group_id = group_id;
        }
        company.updated_at = now;
        company.updated_by = actor;
        let company = company.clone();
        if patch.name.is_some() {
            for c in self
                .contacts
                .values_mut()
                .filter(|c| c.company_id == Some(id))
            {
                c.company_name = Some(company.name.clone());
            }
        }
        let mut changes = vec![Change::CompanyUpdated(company.clone())];
        if company.responsible_user_id != old_responsible {
            changes.push(Change::CompanyResponsibleChanged {
                company: company.clone(),
                old_responsible_user_id: old_responsible,
            });
        }
        Ok((company, self.record(changes)))
    }

    /// Deletes a company (`contacts[delete]` with `type=company`, event
    /// `company_deleted`); contacts and leads linked to it are unlinked.
    pub fn delete_company(&mut self, id: u64) -> Result<Vec<Change>, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let company = self
            .companies
            .get_mut(&id)
            .filter(|c| !c.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("company {id} not found")))?;
        company.is_deleted = true;
        company.updated_at = now;
        company.updated_by = actor;
        for c in self
            .contacts
            .values_mut()
            .filter(|c| c.company_id == Some(id))
        {
            c.company_id = None;
            c.company_name = None;
        }
        for l in self.leads.values_mut().filter(|l| l.company_id == Some(id)) {
            l.company_id = None;
        }
        self.push_event(
            "company_deleted",
            ("company", id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok(self.record(vec![Change::CompanyDeleted { id }]))
    }
}
