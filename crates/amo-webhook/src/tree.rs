//! The generic tree a form body decodes into before typing.
//!
//! PHP bracket keys build nested maps; lists are maps keyed `"0"`, `"1"`, …,
//! so a list sent as an array and one sent as an object keyed `"0"` are the
//! same [`Node`].

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;

/// A value of the decoded form: a string, or a map of further nodes.
#[derive(Clone, PartialEq, Eq)]
pub enum Node {
    /// A leaf: every value of an amoCRM webhook is a string.
    Value(String),
    /// An object or list (`"0"`, `"1"`, … keys).
    Map(NodeMap),
}

impl Node {
    /// The string of a [`Node::Value`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Value(v) => Some(v),
            Self::Map(_) => None,
        }
    }

    /// The map of a [`Node::Map`].
    pub fn as_map(&self) -> Option<&NodeMap> {
        match self {
            Self::Map(m) => Some(m),
            Self::Value(_) => None,
        }
    }

    /// Follows `path` through nested maps.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self;
        for key in path {
            node = node.as_map()?.get(key)?;
        }
        Some(node)
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(v) => fmt::Debug::fmt(v, f),
            Self::Map(m) => fmt::Debug::fmt(m, f),
        }
    }
}

impl From<&str> for Node {
    fn from(v: &str) -> Self {
        Self::Value(v.to_owned())
    }
}

impl From<String> for Node {
    fn from(v: String) -> Self {
        Self::Value(v)
    }
}

impl From<NodeMap> for Node {
    fn from(m: NodeMap) -> Self {
        Self::Map(m)
    }
}

/// A map that keeps its keys in insertion (body) order.
///
/// Iteration follows the order keys first appeared in; equality ignores
/// order (like an `IndexMap`). It also remembers the next free list index for
/// PHP's `[]` append.
#[derive(Clone, Default)]
pub struct NodeMap {
    entries: Vec<(String, Node)>,
    index: HashMap<String, usize>,
    next_index: u64,
}

impl NodeMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The node under `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        let i = *self.index.get(key)?;
        self.entries.get(i).map(|(_, n)| n)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, n)| (k.as_str(), n))
    }

    /// Keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Inserts `node` under `key`. A new key goes last; an existing key keeps
    /// its place and its old node is returned.
    pub fn insert(&mut self, key: impl Into<String>, node: impl Into<Node>) -> Option<Node> {
        let key = key.into();
        let node = node.into();
        if let Some(&i) = self.index.get(&key)
            && let Some(slot) = self.entries.get_mut(i)
        {
            return Some(std::mem::replace(&mut slot.1, node));
        }
        self.push_new(key, node);
        None
    }

    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let i = self.index.remove(key)?;
        if i >= self.entries.len() {
            return None;
        }
        let (_, node) = self.entries.remove(i);
        for (k, _) in &self.entries[i..] {
            if let Some(slot) = self.index.get_mut(k) {
                *slot -= 1;
            }
        }
        Some(node)
    }

    /// The key PHP's `[]` would use next: one more than the largest
    /// non-negative integer key so far, or `"0"`.
    pub fn next_index_key(&self) -> String {
        self.next_index.to_string()
    }

    fn push_new(&mut self, key: String, node: Node) {
        if let Some(n) = canonical_index(&key) {
            self.next_index = self.next_index.max(n.saturating_add(1));
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, node));
    }

    /// The map under `key`, created empty when absent; a plain value there
    /// is replaced by an empty map and returned (PHP's rule for `a=1&a[b]=2`).
    /// (`None` cannot happen: the slot is a map by then.)
    pub(crate) fn child_map_replacing(
        &mut self,
        key: String,
    ) -> Option<(&mut NodeMap, Option<Node>)> {
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.push_new(key, Node::Map(NodeMap::new()));
                self.entries.len() - 1
            }
        };
        let slot = &mut self.entries.get_mut(i)?.1;
        let replaced = match slot {
            Node::Value(_) => Some(std::mem::replace(slot, Node::Map(NodeMap::new()))),
            Node::Map(_) => None,
        };
        match slot {
            Node::Map(m) => Some((m, replaced)),
            Node::Value(_) => None,
        }
    }

    /// The map under `key`, replacing a plain value there by an empty map.
    /// (`None` cannot happen: the slot is a map by then.)
    pub(crate) fn child_map_force(&mut self, key: &str) -> Option<&mut NodeMap> {
        self.child_map_replacing(key.to_owned()).map(|(m, _)| m)
    }

    /// Inserts `node` under `key`, merging maps key by key when both the old
    /// and the new node are maps.
    pub(crate) fn merge_insert(&mut self, key: &str, node: Node) {
        match node {
            Node::Map(incoming) if matches!(self.get(key), Some(Node::Map(_))) => {
                if let Some(target) = self.child_map_force(key) {
                    for (k, n) in incoming {
                        target.merge_insert(&k, n);
                    }
                }
            }
            node => {
                self.insert(key, node);
            }
        }
    }
}

/// `Some(n)` when `key` is how PHP would print the integer `n`.
fn canonical_index(key: &str) -> Option<u64> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    if canonical && !key.is_empty() {
        key.parse().ok()
    } else {
        None
    }
}

impl PartialEq for NodeMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, n)| other.get(k) == Some(n))
    }
}

impl Eq for NodeMap {}

impl fmt::Debug for NodeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl IntoIterator for NodeMap {
    type Item = (String, Node);
    type IntoIter = std::vec::IntoIter<(String, Node)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Into<String>, N: Into<Node>> FromIterator<(K, N)> for NodeMap {
    /// Later duplicates replace earlier ones in place.
    fn from_iter<I: IntoIterator<Item = (K, N)>>(iter: I) -> Self {
        let mut map = NodeMap::new();
        for (k, n) in iter {
            map.insert(k, n);
        }
        map
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => s.serialize_str(v),
            Self::Map(m) => m.serialize(s),
        }
    }
}

impl Serialize for NodeMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, n) in self.iter() {
            map.serialize_entry(k, n)?;
        }
        map.end()
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a map of strings and maps")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Value(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Value(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Node, A::Error> {
        NodeMapVisitor.visit_map(access).map(Node::Map)
    }
}

struct NodeMapVisitor;

impl<'de> Visitor<'de> for NodeMapVisitor {
    type Value = NodeMap;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of strings and maps")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NodeMap, A::Error> {
        let mut map = NodeMap::new();
        while let Some((k, n)) = access.next_entry::<String, Node>()? {
            if map.contains_key(&k) {
                return Err(de::Error::custom(format_args!("duplicate key `{k}`")));
            }
            map.push_new(k, n);
        }
        Ok(map)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for NodeMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(NodeMapVisitor)
    }
}
