//! Pieces shared by several entities: custom fields, tags, dates.

use crate::model::{CustomFieldValues, FieldType, Tag, Timestamp};

use super::Form;

/// `prefix[custom_fields][j][id|name|values…|code]`.
///
/// Values are `[values][k][value]` plus `[values][k][enum]` when the value
/// has an enum (the enum id; the enum code such as `WORK` when no id is
/// known). Date fields have no `[value]` level: `[values][0]=1542067200`.
/// `[code]` (PHONE, EMAIL, …) follows the values, when the field has one.
pub(crate) fn custom_fields(form: &mut Form, prefix: &str, fields: &[CustomFieldValues]) {
    for (j, field) in fields.iter().enumerate() {
        let p = format!("{prefix}[custom_fields][{j}]");
        form.field(&p, "id", field.field_id);
        form.field(&p, "name", &field.field_name);
        for (k, value) in field.values.iter().enumerate() {
            if field.field_type == FieldType::Date {
                form.field(&format!("{p}[values]"), &k.to_string(), &value.value);
                continue;
            }
            let vp = format!("{p}[values][{k}]");
            form.field(&vp, "value", &value.value);
            if let Some(id) = value.enum_id {
                form.field(&vp, "enum", id);
            } else if let Some(code) = &value.enum_code {
                form.field(&vp, "enum", code);
            }
        }
        if let Some(code) = &field.field_code {
            form.field(&p, "code", code);
        }
    }
}

/// `prefix[tags][j][id|name]`.
pub(crate) fn tags(form: &mut Form, prefix: &str, tags: &[Tag]) {
    for (j, tag) in tags.iter().enumerate() {
        let p = format!("{prefix}[tags][{j}]");
        form.field(&p, "id", tag.id);
        form.field(&p, "name", &tag.name);
    }
}

/// `"Y-m-d H:i:s"` as notes carry `date_create` / `timestamp_x`.
///
/// Rendered in UTC: the emulated account's timezone is UTC. A timestamp out
/// of chrono's range is rendered as the bare number.
pub(crate) fn ymd_his(ts: Timestamp) -> String {
    match chrono::DateTime::from_timestamp(ts, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => ts.to_string(),
    }
}
