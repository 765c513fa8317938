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
/// Rendered in the account's timezone (Asia/Tbilisi, +04:00 all year, as
/// `datetime_settings` says), as amoCRM writes these strings. A timestamp
/// out of chrono's range is rendered as the bare number.
pub(crate) fn ymd_his(ts: Timestamp) -> String {
    let offset = chrono::FixedOffset::east_opt(crate::model::ACCOUNT_UTC_OFFSET_SECS);
    match (chrono::DateTime::from_timestamp(ts, 0), offset) {
        (Some(t), Some(offset)) => t
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        _ => ts.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_dates_are_in_the_account_timezone() {
        // 1715000000 = 2024-05-06 12:53:20 UTC = 16:53:20 in Tbilisi.
        assert_eq!(ymd_his(1_715_000_000), "2024-05-06 16:53:20");
        // Midnight UTC is 04:00 the same day; 22:00 UTC is the next day.
        assert_eq!(ymd_his(1_704_067_200), "2024-01-01 04:00:00");
        assert_eq!(ymd_his(1_704_146_400), "2024-01-02 02:00:00");
        assert_eq!(ymd_his(i64::MAX), i64::MAX.to_string());
        assert_eq!(ymd_his(i64::MIN), i64::MIN.to_string());
    }
}
