//! Lenient field decoders for what amoCRM actually sends: numbers as strings,
//! nulls where a value is expected, `0`/`1` for booleans.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// An integer that may come as a number, a numeric string, an integral float,
/// an empty string or null (the last two are `None`).
struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = Option<i128>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, a numeric string or null")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(i128::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e18 {
            Ok(Some(v as i128))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if let Ok(n) = t.parse::<i128>() {
            return Ok(Some(n));
        }
        match t.parse::<f64>() {
            Ok(f) => self
                .visit_f64(f)
                .map_err(|_: E| E::invalid_value(de::Unexpected::Str(v), &IntVisitor)),
            Err(_) => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(IntVisitor)
    }
}

fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i128>, D::Error> {
    d.deserialize_any(IntVisitor)
}

fn fit<T: TryFrom<i128>, E: de::Error>(n: i128) -> Result<T, E> {
    T::try_from(n).map_err(|_| E::custom(format!("number {n} out of range")))
}

/// `u64`, required: null is an error.
pub(crate) fn u64_<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match int(d)? {
        Some(n) => fit(n),
        None => Err(de::Error::custom(
            "expected an id, got null or an empty string",
        )),
    }
}

/// `u64`; null or empty is 0.
pub(crate) fn u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    int(d)?.map_or(Ok(0), fit)
}

/// `Option<u64>`.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    int(d)?.map(fit).transpose()
}

/// `i64`; null or empty is 0.
pub(crate) fn i64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    int(d)?.map_or(Ok(0), fit)
}

/// `Option<i64>`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    int(d)?.map(fit).transpose()
}

/// A boolean that may come as `true`, `1`, `"1"`, `"true"`, or null.
struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, 0/1 or null")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v != 0))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v != 0))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" | "y" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "n" | "no" | "off" => Ok(Some(false)),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

/// `bool`; null is false.
pub(crate) fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(d.deserialize_any(BoolVisitor)?.unwrap_or(false))
}

/// `Option<bool>`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// A string; null is empty, numbers are rendered.
struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or null")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(StringVisitor)
    }
}

/// `String`; null is empty.
pub(crate) fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(d.deserialize_any(StringVisitor)?.unwrap_or_default())
}

/// `Option<String>`; numbers are rendered as text.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringVisitor)
}

/// Any `T: Default`; null is the default (e.g. `"tags": null` → empty list).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(deserialize_with = "u64_")]
        id: u64,
        #[serde(default, deserialize_with = "opt_i64")]
        price: Option<i64>,
        #[serde(default, deserialize_with = "bool_or_false")]
        flag: bool,
        #[serde(default, deserialize_with = "string_or_empty")]
        name: String,
        #[serde(default, deserialize_with = "null_default")]
        list: Vec<u8>,
    }

    fn parse(json: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn accepts_what_amocrm_sends() {
        let s = parse(r#"{"id":"42","price":"1500","flag":1,"name":null,"list":null}"#)
            .expect("lenient");
        assert_eq!(
            s,
            Sample {
                id: 42,
                price: Some(1500),
                flag: true,
                name: String::new(),
                list: vec![]
            }
        );
        let s = parse(r#"{"id":42.0,"price":"","flag":"0","name":7}"#).expect("lenient");
        assert_eq!(
            s,
            Sample {
                id: 42,
                price: None,
                flag: false,
                name: "7".into(),
                list: vec![]
            }
        );
        let s = parse(r#"{"id":1,"price":null}"#).expect("lenient");
        assert_eq!(s.price, None);
    }

    #[test]
    fn rejects_what_is_wrong() {
        assert!(parse(r#"{"id":null}"#).is_err());
        assert!(parse(r#"{"id":-1}"#).is_err());
        assert!(parse(r#"{"id":"abc"}"#).is_err());
        assert!(parse(r#"{"id":1,"price":1.5}"#).is_err());
        assert!(parse(r#"{"id":1,"flag":"maybe"}"#).is_err());
    }
}
