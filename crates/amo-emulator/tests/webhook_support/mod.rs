//! Fixed fixtures for the webhook tests and golden files.
#![allow(dead_code)]

pub mod receiver;

use amo_emulator::model::*;
use amo_emulator::webhooks::AccountRef;

pub const PIPELINE: u64 = 8_580_102;
pub const STATUS_NEW: u64 = 69_641_338;
pub const STATUS_IN_WORK: u64 = 69_641_342;
pub const MANAGER: u64 = 8_765_432;
pub const OTHER_MANAGER: u64 = 8_765_433;
pub const T0: Timestamp = 1_715_000_000;

pub fn account() -> AccountRef {
    AccountRef {
        id: 30_123_456,
        subdomain: "rentcar".into(),
        base_url: "https://rentcar.amocrm.ru".into(),
    }
}

fn field(
    id: u64,
    name: &str,
    code: Option<&str>,
    field_type: FieldType,
    values: Vec<FieldValue>,
) -> CustomFieldValues {
    CustomFieldValues {
        field_id: id,
        field_name: name.into(),
        field_code: code.map(Into::into),
        field_type,
        values,
    }
}

fn value(v: &str) -> FieldValue {
    FieldValue {
        value: v.into(),
        enum_id: None,
        enum_code: None,
    }
}

fn enum_value(v: &str, enum_id: u64, code: Option<&str>) -> FieldValue {
    FieldValue {
        value: v.into(),
        enum_id: Some(enum_id),
        enum_code: code.map(Into::into),
    }
}

pub fn lead_fields() -> Vec<CustomFieldValues> {
    vec![
        field(
            1_001_001,
            "Автомобиль",
            None,
            FieldType::Text,
            vec![value("Toyota Prius")],
        ),
        field(
            1_001_002,
            "Источник",
            None,
            FieldType::Select,
            vec![enum_value("Instagram", 501_001, None)],
        ),
        field(
            1_001_003,
            "Дата выдачи",
            None,
            FieldType::Date,
            vec![value("1542067200")],
        ),
        field(
            1_001_004,
            "Залог",
            None,
            FieldType::Numeric,
            vec![value("500")],
        ),
    ]
}

pub fn tag() -> Tag {
    Tag {
        id: 41_001,
        name: "Аренда авто".into(),
        color: None,
    }
}

pub fn lead(id: u64, name: &str, price: i64) -> Lead {
    Lead {
        id,
        name: name.into(),
        price,
        responsible_user_id: MANAGER,
        group_id: 0,
        status_id: STATUS_NEW,
        pipeline_id: PIPELINE,
        loss_reason_id: None,
        source_id: None,
        created_by: MANAGER,
        updated_by: MANAGER,
        created_at: T0,
        updated_at: T0 + 600,
        closed_at: None,
        closest_task_at: None,
        is_deleted: false,
        score: None,
        labor_cost: None,
        custom_fields: lead_fields(),
        tags: vec![tag()],
        contacts: vec![LinkedContact {
            id: 33_100_001,
            is_main: true,
        }],
        company_id: None,
    }
}

pub fn new_lead() -> Lead {
    lead(24_123_001, "Новый лид", 150_000)
}

pub fn contact() -> Contact {
    Contact {
        id: 33_100_001,
        name: "Иван Петров".into(),
        first_name: "Иван".into(),
        last_name: "Петров".into(),
        responsible_user_id: MANAGER,
        group_id: 0,
        created_by: MANAGER,
        updated_by: MANAGER,
        created_at: T0,
        updated_at: T0 + 60,
        closest_task_at: None,
        is_deleted: false,
        is_unsorted: false,
        custom_fields: vec![
            field(
                2_001_001,
                "Телефон",
                Some("PHONE"),
                FieldType::Multitext,
                vec![enum_value("+995 555 12-34-56", 301_001, Some("WORK"))],
            ),
            field(
                2_001_002,
                "Email",
                Some("EMAIL"),
                FieldType::Multitext,
                vec![enum_value("ivan.petrov@example.com", 301_011, Some("WORK"))],
            ),
            field(
                2_001_003,
                "Должность",
                Some("POSITION"),
                FieldType::Text,
                vec![value("Менеджер")],
            ),
        ],
        tags: vec![Tag {
            id: 41_002,
            name: "Постоянный клиент".into(),
            color: None,
        }],
        company_id: Some(35_000_001),
        company_name: Some("ООО «Автопрокат & Ко»".into()),
        lead_ids: vec![24_123_001, 24_123_002],
    }
}

pub fn company() -> Company {
    Company {
        id: 35_000_001,
        name: "ООО «Автопрокат & Ко»".into(),
        responsible_user_id: MANAGER,
        group_id: 0,
        created_by: MANAGER,
        updated_by: MANAGER,
        created_at: T0,
        updated_at: T0 + 30,
        is_deleted: false,
        custom_fields: vec![field(
            3_001_001,
            "Web",
            Some("WEB"),
            FieldType::Url,
            vec![value("https://avtoprokat.ge/?a=1&b=2")],
        )],
        tags: vec![],
        lead_ids: vec![24_123_001],
        contact_ids: vec![33_100_001],
    }
}

pub fn note(parent: NoteParent, entity_id: u64) -> Note {
    Note {
        id: 77_000_001,
        parent,
        entity_id,
        note_type: "common".into(),
        text: "Клиент перезвонит завтра в 10:00".into(),
        created_by: MANAGER,
        updated_by: MANAGER,
        responsible_user_id: MANAGER,
        group_id: 0,
        created_at: T0 + 3_600,
        updated_at: T0 + 3_600,
    }
}

pub fn unsorted() -> Unsorted {
    Unsorted {
        uid: "f0e1d2c3-b4a5-4697-8899-aabbccddeeff".into(),
        source_uid: "umnico_telegram_7781".into(),
        source_name: "Umnico Telegram".into(),
        category: "chats".into(),
        pipeline_id: PIPELINE,
        created_at: T0 - 120,
        lead_id: 24_123_001,
        contact_id: Some(33_100_001),
        client_name: "Иван Петров".into(),
        origin: "telegram".into(),
        service: "umnico".into(),
        text: "Здравствуйте! Нужна машина на выходные".into(),
        state: UnsortedState::Pending,
    }
}

pub fn message(picture: bool) -> Message {
    Message {
        id: "4f1a2b3c-0000-4d5e-8f90-123456789abc".into(),
        chat_id: "9c8b7a65-4321-4fed-b0a9-876543210fed".into(),
        talk_id: 5_101,
        contact_id: 33_100_001,
        text: if picture {
            String::new()
        } else {
            "Здравствуйте, Prius свободен 12-го?".into()
        },
        created_at: T0 + 7_200,
        entity_type: "lead".into(),
        entity_id: 24_123_001,
        origin: "telegram".into(),
        direction: Direction::Incoming,
        author: MessageAuthor {
            id: "a1b2c3d4-e5f6-4711-8899-001122334455".into(),
            kind: "external".into(),
            name: "Иван Петров".into(),
            avatar_url: Some("https://amojo.amocrm.ru/attachments/avatars/ivan.jpg".into()),
        },
        message_type: if picture {
            "picture".into()
        } else {
            "text".into()
        },
        attachment: picture.then(|| Attachment {
            kind: "picture".into(),
            link: "https://amojo.amocrm.ru/attachments/9c8b7a65/паспорт.jpg".into(),
            file_name: "паспорт.jpg".into(),
        }),
    }
}

pub fn talk(is_read: bool) -> Talk {
    Talk {
        talk_id: 5_101,
        chat_id: "9c8b7a65-4321-4fed-b0a9-876543210fed".into(),
        contact_id: 33_100_001,
        entity_id: 24_123_001,
        entity_type: "lead".into(),
        origin: "telegram".into(),
        is_in_work: true,
        is_read,
        rate: 0,
        missed_at: None,
        created_at: T0 + 7_200,
        updated_at: T0 + 7_260,
    }
}

pub fn task() -> Task {
    Task {
        id: 88_000_001,
        entity_id: 24_123_001,
        parent: NoteParent::Lead,
        task_type_id: 1,
        text: "Перезвонить клиенту: уточнить даты".into(),
        is_completed: false,
        complete_till: T0 + 86_400,
        responsible_user_id: MANAGER,
        created_by: MANAGER,
        created_at: T0 + 300,
        updated_at: T0 + 300,
    }
}

/// Every golden case: (file stem, changes).
pub fn golden_cases() -> Vec<(&'static str, Vec<Change>)> {
    let moved = {
        let mut l = new_lead();
        l.status_id = STATUS_IN_WORK;
        l.updated_at = T0 + 900;
        l
    };
    let reassigned = {
        let mut l = new_lead();
        l.responsible_user_id = OTHER_MANAGER;
        l
    };
    let unpriced = {
        let mut l = new_lead();
        l.price = 0;
        l.updated_at = T0 + 1_200;
        l
    };
    let nameless = {
        let mut l = lead(24_123_009, "", 0);
        l.tags.clear();
        l.custom_fields.clear();
        l
    };
    let bulk: Vec<Change> = (0..50u64)
        .map(|i| {
            let mut l = lead(
                24_200_000 + i,
                &format!("Лид №{i}"),
                if i % 2 == 0 { 90_000 } else { 0 },
            );
            l.status_id = STATUS_IN_WORK;
            Change::LeadStatusChanged {
                lead: l,
                old_status_id: STATUS_NEW,
                old_pipeline_id: PIPELINE,
            }
        })
        .collect();
    let from_other_pipeline = Change::LeadStatusChanged {
        lead: moved.clone(),
        old_status_id: 77_000_010,
        old_pipeline_id: 8_580_999,
    };
    vec![
        ("lead_add", vec![Change::LeadAdded(new_lead())]),
        ("lead_update", vec![Change::LeadUpdated(unpriced)]),
        (
            "lead_status",
            vec![Change::LeadStatusChanged {
                lead: moved.clone(),
                old_status_id: STATUS_NEW,
                old_pipeline_id: PIPELINE,
            }],
        ),
        ("lead_status_pipeline", vec![from_other_pipeline]),
        (
            "lead_responsible",
            vec![Change::LeadResponsibleChanged {
                lead: reassigned,
                old_responsible_user_id: MANAGER,
            }],
        ),
        (
            "lead_delete",
            vec![Change::LeadDeleted {
                id: 24_123_001,
                status_id: STATUS_NEW,
                pipeline_id: PIPELINE,
            }],
        ),
        ("lead_restore", vec![Change::LeadRestored(nameless)]),
        ("contact_add", vec![Change::ContactAdded(contact())]),
        ("contact_update", vec![Change::ContactUpdated(contact())]),
        ("company_add", vec![Change::CompanyAdded(company())]),
        (
            "contact_responsible",
            vec![Change::ContactResponsibleChanged {
                contact: Contact {
                    responsible_user_id: OTHER_MANAGER,
                    ..contact()
                },
                old_responsible_user_id: MANAGER,
            }],
        ),
        (
            "contact_delete",
            vec![
                Change::ContactDeleted { id: 33_100_001 },
                Change::CompanyDeleted { id: 35_000_001 },
            ],
        ),
        (
            "note_lead",
            vec![Change::NoteAdded(note(NoteParent::Lead, 24_123_001))],
        ),
        (
            "note_contact",
            vec![Change::NoteAdded(note(NoteParent::Contact, 33_100_001))],
        ),
        ("unsorted_add", vec![Change::UnsortedAdded(unsorted())]),
        (
            "unsorted_delete",
            vec![Change::UnsortedDeleted {
                unsorted: Unsorted {
                    state: UnsortedState::Accepted,
                    ..unsorted()
                },
                resolution: UnsortedResolution::Accept,
                modified_user_id: MANAGER,
            }],
        ),
        ("message_add", vec![Change::MessageAdded(message(false))]),
        ("message_picture", vec![Change::MessageAdded(message(true))]),
        ("talk_add", vec![Change::TalkAdded(talk(false))]),
        ("talk_update", vec![Change::TalkUpdated(talk(true))]),
        ("task_add", vec![Change::TaskAdded(task())]),
        (
            "task_update",
            vec![Change::TaskUpdated(Task {
                is_completed: true,
                text: "Перезвонить клиенту: даты согласованы".into(),
                updated_at: T0 + 5_400,
                ..task()
            })],
        ),
        ("task_delete", vec![Change::TaskDeleted { id: 88_000_001 }]),
        (
            "task_responsible",
            vec![Change::TaskResponsibleChanged {
                task: Task {
                    responsible_user_id: OTHER_MANAGER,
                    updated_at: T0 + 7_200,
                    ..task()
                },
                old_responsible_user_id: task().responsible_user_id,
            }],
        ),
        (
            "company_responsible",
            vec![Change::CompanyResponsibleChanged {
                company: Company {
                    responsible_user_id: OTHER_MANAGER,
                    updated_at: T0 + 2_400,
                    ..company()
                },
                old_responsible_user_id: company().responsible_user_id,
            }],
        ),
        (
            "contact_restore",
            vec![Change::ContactRestored(Contact {
                updated_at: T0 + 9_000,
                ..contact()
            })],
        ),
        (
            "company_update",
            vec![Change::CompanyUpdated(Company {
                name: "ООО «Автопрокат & Ко» (Батуми)".into(),
                updated_at: T0 + 1_800,
                ..company()
            })],
        ),
        (
            "company_delete",
            vec![Change::CompanyDeleted { id: 35_000_001 }],
        ),
        (
            "note_company",
            vec![Change::NoteAdded(note(NoteParent::Company, 35_000_001))],
        ),
        ("bulk_status_50", bulk),
        (
            "mixed",
            vec![
                Change::LeadAdded(new_lead()),
                Change::ContactAdded(contact()),
                Change::LeadStatusChanged {
                    lead: moved,
                    old_status_id: STATUS_NEW,
                    old_pipeline_id: PIPELINE,
                },
                Change::LeadAdded(lead(24_123_002, "Повторный клиент", 0)),
                Change::CompanyUpdated(company()),
                Change::NoteAdded(note(NoteParent::Lead, 24_123_001)),
                Change::TaskAdded(task()),
                Change::TalkUpdated(talk(true)),
            ],
        ),
    ]
}
