//! Errors: [`DecodeError`] rejects a whole body (only a size limit or a
//! missing account block does); [`EntityError`] reports one entity that could
//! not be typed while the rest of the body was decoded.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::tree::Node;

/// Why a body as a whole was rejected: a size limit (which bounds memory)
/// or a missing or unusable account block. Everything else PHP would parse
/// is parsed (see [`crate::parse_form`]).
///
/// Each variant has a stable [`code`](DecodeError::code) for callers that
/// branch; the `Display` text says what is wrong and where. Offsets are byte
/// offsets into the body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is larger than [`DecodeLimits::max_body_bytes`](crate::DecodeLimits).
    #[error("webhook body is {size} bytes, more than the limit of {limit} bytes")]
    BodyTooLarge {
        /// Size of the body.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The body has more pairs than [`DecodeLimits::max_pairs`](crate::DecodeLimits).
    #[error("webhook body has more than {limit} key=value pairs")]
    TooManyPairs {
        /// The limit in force.
        limit: usize,
    },
    /// A raw key is longer than [`DecodeLimits::max_key_bytes`](crate::DecodeLimits).
    #[error("key at byte {offset} is {len} bytes long, more than the limit of {limit} bytes")]
    KeyTooLong {
        /// Offset of the pair.
        offset: usize,
        /// Raw length of the key.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A raw value is longer than [`DecodeLimits::max_value_bytes`](crate::DecodeLimits).
    #[error(
        "value of key `{key}` at byte {offset} is {len} bytes long, more than the limit of {limit} bytes"
    )]
    ValueTooLong {
        /// The decoded key the value belongs to.
        key: String,
        /// Offset of the value.
        offset: usize,
        /// Raw length of the value.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The body has no `account[subdomain]`: it is not an amoCRM webhook.
    #[error("webhook body has no account[subdomain]; it is not an amoCRM webhook")]
    MissingAccount,
    /// The account block is present but unusable.
    #[error("webhook account block is invalid: {reason}")]
    InvalidAccount {
        /// What is wrong with it.
        reason: String,
    },
}

impl DecodeError {
    /// A stable, machine-readable code for this error, e.g. `"body_too_large"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::TooManyPairs { .. } => "too_many_pairs",
            Self::KeyTooLong { .. } => "key_too_long",
            Self::ValueTooLong { .. } => "value_too_long",
            Self::MissingAccount => "missing_account",
            Self::InvalidAccount { .. } => "invalid_account",
        }
    }
}

/// Which half of a `key=value` pair an error or anomaly is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairPart {
    /// The key.
    Key,
    /// The value.
    Value,
}

impl fmt::Display for PairPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Key => "key",
            Self::Value => "value",
        })
    }
}

/// One entity of a body that could not be turned into a typed event.
///
/// The rest of the body is still decoded: a bad entity is recorded in
/// [`WebhookPayload::errors`](crate::WebhookPayload) with its raw fields, so
/// nothing is lost and the caller can still confirm `entity_id` by an API read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityError {
    /// Top-level key, e.g. `leads`.
    pub entity: String,
    /// Action key, e.g. `update`.
    pub action: String,
    /// Index key of the entity inside the action, e.g. `0`.
    pub index: String,
    /// The entity's id, when it could be read.
    pub entity_id: Option<u64>,
    /// The field at fault as a bracket path relative to the entity, e.g.
    /// `custom_fields[0][id]`; `None` when the entity as a whole is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub problem: EntityProblem,
    /// The entity's fields exactly as received.
    pub raw: Node,
}

impl EntityError {
    /// A stable, machine-readable code for the problem, e.g. `"not_a_number"`.
    pub fn code(&self) -> &'static str {
        self.problem.code()
    }
}

impl fmt::Display for EntityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}][{}]", self.entity, self.action, self.index)?;
        if let Some(field) = &self.field {
            write!(f, "[{field}]")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for EntityError {}

/// What is wrong with an entity or one of its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntityProblem {
    /// The entity is a plain value where an object was expected.
    NotAnObject,
    /// A required field is absent.
    MissingField,
    /// An object where a plain value was expected.
    NotAValue,
    /// A plain value where a list was expected.
    NotAList,
    /// A numeric field that is not a number.
    NotANumber {
        /// The value received.
        value: String,
    },
    /// A boolean field that is not `0`/`1`/`true`/`false`/`Y`/`N`.
    NotABool {
        /// The value received.
        value: String,
    },
    /// A contact `type` other than `contact` or `company`.
    UnknownType {
        /// The value received.
        value: String,
    },
}

impl EntityProblem {
    /// A stable, machine-readable code, e.g. `"not_a_number"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::MissingField => "missing_field",
            Self::NotAValue => "not_a_value",
            Self::NotAList => "not_a_list",
            Self::NotANumber { .. } => "not_a_number",
            Self::NotABool { .. } => "not_a_bool",
            Self::UnknownType { .. } => "unknown_type",
        }
    }
}

impl fmt::Display for EntityProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("expected an object of fields, found a plain value"),
            Self::MissingField => f.write_str("required field is missing"),
            Self::NotAValue => f.write_str("expected a plain value, found an object"),
            Self::NotAList => f.write_str("expected a list, found a non-empty plain value"),
            Self::NotANumber { value } => write!(f, "expected a number, found `{value}`"),
            Self::NotABool { value } => write!(f, "expected a boolean, found `{value}`"),
            Self::UnknownType { value } => {
                write!(f, "expected type `contact` or `company`, found `{value}`")
            }
        }
    }
}
