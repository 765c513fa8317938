//! The fixed part of the account: who works there, its pipelines, fields,
//! loss reasons and tags. The main pipeline is the real "Первичка" (origin.md).

use crate::model::{
    Account, CustomFieldDef, FieldEnum, FieldType, Pipeline, STATUS_LOST, STATUS_WON, Status, Tag,
    Timestamp, User, UserGroup,
};
use crate::world::LossReason;

pub const ACCOUNT_ID: u64 = 31_827_455;
pub const SUBDOMAIN: &str = "kavkazdrive";
pub const MAIN_PIPELINE_ID: u64 = 8_580_102;
pub const CORPORATE_PIPELINE_ID: u64 = 8_580_206;
/// "Неразобранное" of the main pipeline.
pub const MAIN_UNSORTED_STATUS: u64 = 69_641_334;

/// The 21 statuses of "Первичка": (id, name, sort, colour).
pub const MAIN_STATUSES: &[(u64, &str, i64, &str)] = &[
    (69_641_334, "Неразобранное", 10, "#c1c1c1"),
    (76_072_006, "Партнерские сделки", 20, "#fff000"),
    (76_057_418, "Объедини сделку", 30, "#87f2c0"),
    (69_641_338, "Новый лид", 40, "#ff8f92"),
    (69_641_342, "Взят в работу", 50, "#eb93ff"),
    (75_648_530, "Подбор отправлен", 60, "#99ccff"),
    (69_695_126, "Нет ответа на предложение", 70, "#ccc8f9"),
    (75_558_642, "Финальный контакт", 80, "#f3beff"),
    (70_390_022, "Не отвечают", 90, "#87f2c0"),
    (70_363_398, "Ожидаем Доки", 100, "#ebffb1"),
    (69_717_006, "Получены доки", 110, "#c1e0ff"),
    (72_457_238, "Брони из Rentprog", 120, "#ff8f92"),
    (71_150_590, "Синхронизация с Rentprog", 130, "#ffc8c8"),
    (69_695_130, "Отправлен дог", 140, "#ffce5a"),
    (70_724_666, "Выдача", 150, "#99ccff"),
    (72_177_974, "Аренда", 160, "#99ccff"),
    (70_724_674, "Приемка", 170, "#99ccff"),
    (75_235_938, "Электронный договор", 180, "#99ccff"),
    (71_480_394, "Для разработки - не удалять", 190, "#99ccff"),
    (STATUS_WON, "Успешно реализовано", 10_000, "#CCFF66"),
    (STATUS_LOST, "Закрыто и не реализовано", 11_000, "#D5D8DB"),
];

/// The second pipeline, for corporate fleet deals.
pub const CORPORATE_STATUSES: &[(u64, &str, i64, &str)] = &[
    (69_641_450, "Неразобранное", 10, "#c1c1c1"),
    (69_641_454, "Первичный контакт", 20, "#99ccff"),
    (69_641_458, "Переговоры", 30, "#ffdc7f"),
    (69_641_462, "Договор подписан", 40, "#deff81"),
    (69_641_466, "Авто выделены", 50, "#87f2c0"),
    (STATUS_WON, "Успешно реализовано", 10_000, "#CCFF66"),
    (STATUS_LOST, "Закрыто и не реализовано", 11_000, "#D5D8DB"),
];

/// Lead custom fields.
pub const FIELD_CAR: u64 = 1_185_001;
pub const FIELD_SOURCE: u64 = 1_185_003;
pub const FIELD_PICKUP_DATE: u64 = 1_185_005;
pub const FIELD_DAYS: u64 = 1_185_007;
/// Contact custom fields.
pub const FIELD_POSITION: u64 = 1_184_001;
pub const FIELD_PHONE: u64 = 1_184_003;
pub const FIELD_EMAIL: u64 = 1_184_005;

/// Options of "Источник": (enum_id, value).
pub const SOURCE_ENUMS: &[(u64, &str)] = &[
    (2_901_001, "Сайт"),
    (2_901_003, "WhatsApp"),
    (2_901_005, "Telegram"),
    (2_901_007, "Instagram"),
    (2_901_009, "Рекомендация"),
    (2_901_011, "Партнёр"),
];

fn pipeline(
    id: u64,
    name: &str,
    sort: i64,
    is_main: bool,
    statuses: &[(u64, &str, i64, &str)],
) -> Pipeline {
    Pipeline {
        id,
        name: name.to_string(),
        sort,
        is_main,
        is_unsorted_on: true,
        is_archive: false,
        statuses: statuses
            .iter()
            .map(|&(sid, sname, ssort, color)| {
                let incoming = ssort == 10;
                Status {
                    id: sid,
                    name: sname.to_string(),
                    sort: ssort,
                    is_editable: !(incoming || sid == STATUS_WON || sid == STATUS_LOST),
                    pipeline_id: id,
                    color: color.to_string(),
                    kind: u8::from(incoming),
                }
            })
            .collect(),
    }
}

pub fn pipelines() -> Vec<Pipeline> {
    vec![
        pipeline(MAIN_PIPELINE_ID, "Первичка", 1, true, MAIN_STATUSES),
        pipeline(
            CORPORATE_PIPELINE_ID,
            "Корпоративные клиенты",
            2,
            false,
            CORPORATE_STATUSES,
        ),
    ]
}

pub fn account(now: Timestamp, admin_id: u64, amojo_id: String, base_url: &str) -> Account {
    Account {
        id: ACCOUNT_ID,
        name: "Кавказ Драйв — прокат авто".into(),
        subdomain: SUBDOMAIN.into(),
        currency: "GEL".into(),
        currency_symbol: "₾".into(),
        country: "GE".into(),
        created_at: now.saturating_sub(3 * 365 * 86_400),
        created_by: admin_id,
        amojo_id,
        base_url: base_url.to_string(),
    }
}

pub fn groups() -> Vec<UserGroup> {
    vec![
        UserGroup {
            id: 0,
            name: "Отдел продаж".into(),
        },
        UserGroup {
            id: 451_214,
            name: "Выдача и приёмка".into(),
        },
    ]
}

pub fn users() -> Vec<User> {
    let rows: &[(u64, &str, &str, bool, u64)] = &[
        (11_209_301, "Анна Смирнова", "anna.smirnova", true, 0),
        (11_209_302, "Георгий Беридзе", "giorgi.beridze", false, 0),
        (11_387_544, "Мария Кузнецова", "maria.kuznetsova", false, 0),
        (11_387_560, "Давид Кавтарадзе", "david.kavtaradze", false, 0),
        (11_641_002, "Елена Попова", "elena.popova", false, 451_214),
        (12_003_117, "Игорь Соколов", "igor.sokolov", false, 451_214),
    ];
    rows.iter()
        .map(|&(id, name, login, is_admin, group_id)| User {
            id,
            name: name.to_string(),
            email: format!("{login}@kavkazdrive.ge"),
            lang: "ru".into(),
            is_admin,
            is_active: true,
            group_id,
        })
        .collect()
}

fn field(
    id: u64,
    name: &str,
    code: Option<&str>,
    field_type: FieldType,
    enums: &[(u64, &str)],
) -> CustomFieldDef {
    CustomFieldDef {
        id,
        name: name.to_string(),
        code: code.map(str::to_string),
        field_type,
        enums: enums
            .iter()
            .map(|&(id, value)| FieldEnum {
                id,
                value: value.to_string(),
            })
            .collect(),
    }
}

pub fn lead_fields() -> Vec<CustomFieldDef> {
    vec![
        field(FIELD_CAR, "Автомобиль", None, FieldType::Text, &[]),
        field(
            FIELD_SOURCE,
            "Источник",
            None,
            FieldType::Select,
            SOURCE_ENUMS,
        ),
        field(FIELD_PICKUP_DATE, "Дата выдачи", None, FieldType::Date, &[]),
        field(
            FIELD_DAYS,
            "Срок аренды, дней",
            None,
            FieldType::Numeric,
            &[],
        ),
    ]
}

pub fn contact_fields() -> Vec<CustomFieldDef> {
    vec![
        field(
            FIELD_POSITION,
            "Должность",
            Some("POSITION"),
            FieldType::Text,
            &[],
        ),
        field(
            FIELD_PHONE,
            "Телефон",
            Some("PHONE"),
            FieldType::Multitext,
            &[
                (3_001_001, "WORK"),
                (3_001_003, "WORKDD"),
                (3_001_005, "MOB"),
                (3_001_007, "FAX"),
                (3_001_009, "HOME"),
                (3_001_011, "OTHER"),
            ],
        ),
        field(
            FIELD_EMAIL,
            "Email",
            Some("EMAIL"),
            FieldType::Multitext,
            &[
                (3_001_021, "WORK"),
                (3_001_023, "PRIV"),
                (3_001_025, "OTHER"),
            ],
        ),
    ]
}

pub fn loss_reasons(now: Timestamp) -> Vec<LossReason> {
    [
        "Дорого",
        "Нет нужного авто",
        "Не выходит на связь",
        "Выбрал другую компанию",
        "Изменились планы",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| LossReason {
        id: 10_001 + i as u64,
        name: name.to_string(),
        sort: (i as i64 + 1) * 10,
        created_at: now.saturating_sub(2 * 365 * 86_400),
    })
    .collect()
}

pub fn tags() -> Vec<Tag> {
    [
        ("VIP", Some("#ffdc7f")),
        ("Повторный", None),
        ("Аэропорт", None),
        ("Батуми", None),
        ("Кутаиси", None),
        ("Долгосрочная", Some("#87f2c0")),
        ("Без залога", None),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, color))| Tag {
        id: 40_001 + i as u64,
        name: name.to_string(),
        color: color.map(str::to_string),
    })
    .collect()
}
