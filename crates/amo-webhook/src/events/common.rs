//! Building blocks shared by several entities: tags, custom fields, dates.

use serde::{Deserialize, Serialize};

use crate::read::{FieldError, Reader, item_object};
use crate::tree::{Node, NodeMap};
use crate::write::Writer;

/// A tag: `tags[j][id]`, `tags[j][name]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag id.
    pub id: Option<u64>,
    /// Tag name.
    pub name: Option<String>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl Tag {
    /// A tag sent as a bare value (`tags[0]=vip`) is read as its name.
    pub(crate) fn read_item(node: Node, path: String) -> Result<Self, FieldError> {
        match node {
            Node::Value(name) => Ok(Self {
                id: None,
                name: Some(name),
                extra: NodeMap::new(),
            }),
            node => item_object(node, path, |mut r| {
                Ok(Self {
                    id: r.u64("id")?,
                    name: r.string("name")?,
                    extra: r.finish(),
                })
            }),
        }
    }

    pub(crate) fn write(&self) -> Node {
        let mut w = Writer::new();
        w.u64("id", self.id);
        w.string("name", &self.name);
        Node::Map(w.finish(&self.extra))
    }
}

/// A custom field: `custom_fields[j][id|name|code|values]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// Field id.
    pub id: Option<u64>,
    /// Field name as shown in the account (often Cyrillic).
    pub name: Option<String>,
    /// Field code, e.g. `PHONE`, `EMAIL`, `POSITION`, `IM`.
    pub code: Option<String>,
    /// Values in the order received.
    pub values: Vec<CustomFieldValue>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl CustomField {
    pub(crate) fn read_item(node: Node, path: String) -> Result<Self, FieldError> {
        item_object(node, path, |mut r| {
            Ok(Self {
                id: r.u64("id")?,
                name: r.string("name")?,
                code: r.string("code")?,
                values: r.list("values", CustomFieldValue::read_item)?,
                extra: r.finish(),
            })
        })
    }

    pub(crate) fn write(&self) -> Node {
        let mut w = Writer::new();
        w.u64("id", self.id);
        w.string("name", &self.name);
        w.string("code", &self.code);
        w.list("values", &self.values, CustomFieldValue::write);
        Node::Map(w.finish(&self.extra))
    }

    /// The values as strings, in order (`[value]` or the bare value).
    pub fn value_strs(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(CustomFieldValue::as_str)
    }
}

/// One value of a custom field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldValue {
    /// `values[k]=1542067200`: no `[value]` level (date fields).
    Plain(String),
    /// `values[k][value]=…` with an optional `[enum]`.
    Item(CustomFieldItem),
}

impl CustomFieldValue {
    fn read_item(node: Node, path: String) -> Result<Self, FieldError> {
        match node {
            Node::Value(v) => Ok(Self::Plain(v)),
            node => item_object(node, path, |mut r| {
                Ok(Self::Item(CustomFieldItem {
                    value: r.string("value")?,
                    enum_value: r.string("enum")?,
                    extra: r.finish(),
                }))
            }),
        }
    }

    fn write(&self) -> Node {
        match self {
            Self::Plain(v) => Node::Value(v.clone()),
            Self::Item(item) => {
                let mut w = Writer::new();
                w.string("value", &item.value);
                w.string("enum", &item.enum_value);
                Node::Map(w.finish(&item.extra))
            }
        }
    }

    /// The value as a string, whichever shape it came in.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Plain(v) => Some(v),
            Self::Item(item) => item.value.as_deref(),
        }
    }
}

/// `values[k][value]` and `values[k][enum]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldItem {
    /// The value as sent.
    pub value: Option<String>,
    /// The `enum` key: an enum id (`"123456"`) or, in some samples, an enum
    /// code (`"WORK"`), kept as sent.
    #[serde(rename = "enum")]
    pub enum_value: Option<String>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

/// A date as notes send it: `"Y-m-d H:i:s"` in the account's time zone (or,
/// in some payloads, a Unix timestamp). The text is kept as given; the parsed
/// forms are filled in when the text matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmDate {
    /// The text as received.
    pub raw: String,
    /// `raw` parsed as `"Y-m-d H:i:s"` (no time zone: the account's own).
    pub local: Option<LocalDateTime>,
    /// `raw` parsed as a Unix timestamp (digits only).
    pub unix: Option<i64>,
}

impl CrmDate {
    /// Parses `raw`, keeping it.
    pub fn parse(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let local = LocalDateTime::parse(&raw);
        let unix = crate::read::parse_i64(&raw).filter(|_| local.is_none());
        Self { raw, local, unix }
    }
}

/// A calendar date and wall-clock time without a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocalDateTime {
    /// Year, e.g. 2018.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31 (checked against the month).
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

impl LocalDateTime {
    /// Parses exactly `YYYY-MM-DD HH:MM:SS`; `None` for anything else or an
    /// impossible date.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b' '
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u16> {
            let part = s.get(from..to)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let year = num(0, 4)?;
        let month = u8::try_from(num(5, 7)?).ok()?;
        let day = u8::try_from(num(8, 10)?).ok()?;
        let hour = u8::try_from(num(11, 13)?).ok()?;
        let minute = u8::try_from(num(14, 16)?).ok()?;
        let second = u8::try_from(num(17, 19)?).ok()?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        let valid = (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60;
        valid.then_some(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }
}

/// Reads a `CrmDate` field.
pub(crate) fn read_date(r: &mut Reader, key: &str) -> Result<Option<CrmDate>, FieldError> {
    Ok(r.string(key)?.map(CrmDate::parse))
}

/// Writes a `CrmDate` field.
pub(crate) fn write_date(w: &mut Writer, key: &str, d: &Option<CrmDate>) {
    if let Some(d) = d {
        w.str(key, &d.raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crm_dates() {
        let d = CrmDate::parse("2018-11-13 09:05:00");
        assert_eq!(
            d.local,
            Some(LocalDateTime {
                year: 2018,
                month: 11,
                day: 13,
                hour: 9,
                minute: 5,
                second: 0
            })
        );
        assert_eq!(d.unix, None);
        assert_eq!(CrmDate::parse("1542067200").unix, Some(1_542_067_200));
        assert_eq!(CrmDate::parse("2019-02-29 00:00:00").local, None);
        assert_eq!(
            CrmDate::parse("2020-02-29 23:59:59").local.map(|d| d.day),
            Some(29)
        );
        assert_eq!(CrmDate::parse("2018-1a-13 09:05:00").local, None);
        assert_eq!(CrmDate::parse("вчера").local, None);
    }
}
