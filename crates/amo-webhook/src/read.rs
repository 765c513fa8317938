//! Reading typed fields out of a [`NodeMap`], leaving unknown keys behind.

use crate::error::EntityProblem;
use crate::tree::{Node, NodeMap};

/// A field that could not be read: where, and what is wrong.
#[derive(Debug)]
pub(crate) struct FieldError {
    pub field: Option<String>,
    pub problem: EntityProblem,
}

impl FieldError {
    pub(crate) fn whole(problem: EntityProblem) -> Self {
        Self {
            field: None,
            problem,
        }
    }
}

/// Takes known fields out of an entity's map; what is left is its `extra`.
pub(crate) struct Reader {
    map: NodeMap,
    path: String,
}

impl Reader {
    /// A reader over `map`; `path` prefixes field names in errors.
    pub(crate) fn new(map: NodeMap, path: String) -> Self {
        Self { map, path }
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.path)
        }
    }

    fn error(&self, key: &str, problem: EntityProblem) -> FieldError {
        FieldError {
            field: Some(self.field_path(key)),
            problem,
        }
    }

    /// Removes `key` as it is.
    pub(crate) fn take(&mut self, key: &str) -> Option<Node> {
        self.map.remove(key)
    }

    /// Puts a taken key back (it will be part of `extra`).
    pub(crate) fn put_back(&mut self, key: &str, node: Node) {
        self.map.insert(key, node);
    }

    /// A plain string field, kept as given (`""` stays `Some("")`).
    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>, FieldError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Node::Value(v)) => Ok(Some(v)),
            Some(Node::Map(_)) => Err(self.error(key, EntityProblem::NotAValue)),
        }
    }

    /// A required string field.
    pub(crate) fn required_string(&mut self, key: &str) -> Result<String, FieldError> {
        self.string(key)?
            .ok_or_else(|| self.error(key, EntityProblem::MissingField))
    }

    fn parsed<T>(
        &mut self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        bad: fn(String) -> EntityProblem,
    ) -> Result<Option<T>, FieldError> {
        match self.string(key)? {
            None => Ok(None),
            // `""` means "no value", but the key was sent: keep it in `extra`
            // so nothing received is lost and re-encoding writes it back.
            Some(v) if v.is_empty() => {
                self.put_back(key, Node::Value(v));
                Ok(None)
            }
            Some(v) => match parse(&v) {
                Some(n) => Ok(Some(n)),
                None => Err(self.error(key, bad(v))),
            },
        }
    }

    /// An unsigned number; `""` is `None`.
    pub(crate) fn u64(&mut self, key: &str) -> Result<Option<u64>, FieldError> {
        self.parsed(key, parse_u64, |value| EntityProblem::NotANumber { value })
    }

    /// A required unsigned number.
    pub(crate) fn required_u64(&mut self, key: &str) -> Result<u64, FieldError> {
        self.u64(key)?
            .ok_or_else(|| self.error(key, EntityProblem::MissingField))
    }

    /// A signed number (timestamps, prices); `""` is `None`.
    pub(crate) fn i64(&mut self, key: &str) -> Result<Option<i64>, FieldError> {
        self.parsed(key, parse_i64, |value| EntityProblem::NotANumber { value })
    }

    /// A boolean: `1`/`true`/`Y` or `0`/`false`/`N`; `""` is `None`.
    pub(crate) fn bool(&mut self, key: &str) -> Result<Option<bool>, FieldError> {
        self.parsed(key, parse_bool, |value| EntityProblem::NotABool { value })
    }

    /// A nested object, read by `read` with its own reader.
    pub(crate) fn object<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(Reader) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Node::Map(m)) => read(Reader::new(m, self.field_path(key))).map(Some),
            Some(Node::Value(_)) => Err(self.error(key, EntityProblem::NotAnObject)),
        }
    }

    /// A list (map keyed `"0"`, `"1"`, … or any keys), each item read by
    /// `item` in body order. `""` is an empty list.
    pub(crate) fn list<T>(
        &mut self,
        key: &str,
        mut item: impl FnMut(Node, String) -> Result<T, FieldError>,
    ) -> Result<Vec<T>, FieldError> {
        match self.map.remove(key) {
            None => Ok(Vec::new()),
            Some(Node::Value(v)) if v.is_empty() => Ok(Vec::new()),
            Some(Node::Value(_)) => Err(self.error(key, EntityProblem::NotAList)),
            Some(Node::Map(m)) => {
                let base = self.field_path(key);
                m.into_iter()
                    .map(|(k, n)| item(n, format!("{base}[{k}]")))
                    .collect()
            }
        }
    }

    /// A string at `outer[inner]`; `outer` stays in place (with its other
    /// keys) unless it becomes empty.
    pub(crate) fn nested_string(
        &mut self,
        outer: &str,
        inner: &str,
    ) -> Result<Option<String>, FieldError> {
        let Some(Node::Map(m)) = self.map.get(outer) else {
            return Ok(None);
        };
        match m.get(inner) {
            None => return Ok(None),
            Some(Node::Map(_)) => {
                return Err(FieldError {
                    field: Some(format!("{}[{inner}]", self.field_path(outer))),
                    problem: EntityProblem::NotAValue,
                });
            }
            Some(Node::Value(_)) => {}
        }
        let mut m = match self.map.remove(outer) {
            Some(Node::Map(m)) => m,
            _ => return Ok(None),
        };
        let value = m.remove(inner).and_then(|n| match n {
            Node::Value(v) => Some(v),
            Node::Map(_) => None,
        });
        if !m.is_empty() {
            self.map.insert(outer, Node::Map(m));
        }
        Ok(value)
    }

    /// Keys not taken: the entity's `extra`.
    pub(crate) fn finish(self) -> NodeMap {
        self.map
    }
}

/// Reads one item of a list that must be an object.
pub(crate) fn item_object<T>(
    node: Node,
    path: String,
    read: impl FnOnce(Reader) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    match node {
        Node::Map(m) => read(Reader::new(m, path)),
        Node::Value(_) => Err(FieldError {
            field: Some(path),
            problem: EntityProblem::NotAnObject,
        }),
    }
}

/// Reads one item of a list that must be an unsigned number.
pub(crate) fn item_u64(node: Node, path: String) -> Result<u64, FieldError> {
    match node {
        Node::Value(v) => parse_u64(&v).ok_or(FieldError {
            field: Some(path),
            problem: EntityProblem::NotANumber { value: v },
        }),
        Node::Map(_) => Err(FieldError {
            field: Some(path),
            problem: EntityProblem::NotAValue,
        }),
    }
}

/// Decimal digits only: no sign, no spaces.
pub(crate) fn parse_u64(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Optional `-` then decimal digits.
pub(crate) fn parse_i64(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "true" | "Y" | "y" => Some(true),
        "0" | "false" | "N" | "n" => Some(false),
        _ => None,
    }
}
