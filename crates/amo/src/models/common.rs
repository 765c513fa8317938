//! Pieces shared by several entities: tags, custom field values, links.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de;

/// Unknown fields, kept so that an entity serializes back as amoCRM sent it.
pub type Extra = Map<String, Value>;

/// A tag (`_embedded.tags[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Tag text.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// `#rrggbb` or null.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub color: Option<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference to another entity in `_embedded` (`{id, _links}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRef {
    /// The linked entity's id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Fields this client does not model (`_links`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A contact linked to a lead (`_embedded.contacts[]`, `with=contacts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedContact {
    /// The contact id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// The lead's main contact.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_main: bool,
    /// Fields this client does not model (`_links`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The values of one custom field on an entity (`custom_fields_values[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldValues {
    /// Field id.
    #[serde(deserialize_with = "de::u64_")]
    pub field_id: u64,
    /// Field name as shown in amoCRM.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub field_name: Option<String>,
    /// `PHONE`, `EMAIL`, `POSITION`, `IM` for system fields; null otherwise.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub field_code: Option<String>,
    /// `text`, `numeric`, `select`, `multitext`, `date`, …
    #[serde(default, deserialize_with = "de::opt_string")]
    pub field_type: Option<String>,
    /// The values (null reads as empty).
    #[serde(default, deserialize_with = "de::null_default")]
    pub values: Vec<FieldValue>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One value of a custom field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The value as sent: a string, a number (dates are unix seconds), a
    /// boolean (checkboxes) or an object (some complex field types).
    #[serde(default)]
    pub value: Value,
    /// Option id for select / multitext fields.
    #[serde(
        default,
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub enum_id: Option<u64>,
    /// `WORK`, `MOB`, `HOME`, `PRIV`, `OTHER` for phones and e-mails.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub enum_code: Option<String>,
    /// The same code under its older name `enum`, as some samples send it.
    #[serde(
        default,
        rename = "enum",
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub enum_legacy: Option<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FieldValue {
    /// The value as text (numbers and booleans rendered), `None` for
    /// null and objects.
    pub fn as_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The enum code under either name (`enum_code` first, then `enum`).
    pub fn code(&self) -> Option<&str> {
        self.enum_code.as_deref().or(self.enum_legacy.as_deref())
    }
}

/// Finds the field with `code` (e.g. `PHONE`) and returns `(enum code, text)`
/// for each of its values.
pub fn values_by_code<'a>(
    fields: Option<&'a [CustomFieldValues]>,
    code: &str,
) -> Vec<(Option<&'a str>, String)> {
    fields
        .unwrap_or_default()
        .iter()
        .filter(|f| {
            f.field_code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })
        .flat_map(|f| f.values.iter())
        .filter_map(|v| v.as_text().map(|text| (v.code(), text)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_code_and_enum_both_read() {
        let fields: Vec<CustomFieldValues> = serde_json::from_str(
            r#"[{"field_id":1,"field_name":"Телефон","field_code":"PHONE","field_type":"multitext",
                 "values":[{"value":"+79990000001","enum_id":11,"enum_code":"WORK"},{"value":"+79990000002","enum":"MOB"}]},
                {"field_id":2,"field_name":"Дата","field_code":null,"field_type":"date","values":[{"value":1542067200}]},
                {"field_id":3,"field_name":"Empty","values":null}]"#,
        )
        .expect("fields");
        assert_eq!(
            values_by_code(Some(&fields), "PHONE"),
            [
                (Some("WORK"), "+79990000001".to_string()),
                (Some("MOB"), "+79990000002".to_string())
            ]
        );
        assert_eq!(fields[1].values[0].as_text().as_deref(), Some("1542067200"));
        assert!(fields[2].values.is_empty());
        // Round trip keeps the field names as sent.
        let back = serde_json::to_value(&fields[0]).expect("ser");
        assert_eq!(back["values"][1]["enum"], "MOB");
        assert!(back["values"][1].get("enum_code").is_none());
        assert_eq!(back["values"][0]["enum_code"], "WORK");
    }
}
