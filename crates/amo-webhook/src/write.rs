//! Writing typed fields back into a [`NodeMap`] (the inverse of `read`).

use crate::tree::{Node, NodeMap};

/// Builds an entity's map: typed fields first, then its `extra`.
#[derive(Default)]
pub(crate) struct Writer {
    map: NodeMap,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn str(&mut self, key: &str, v: &str) {
        self.map.insert(key, v);
    }

    pub(crate) fn string(&mut self, key: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.str(key, v);
        }
    }

    pub(crate) fn u64(&mut self, key: &str, v: Option<u64>) {
        if let Some(v) = v {
            self.map.insert(key, v.to_string());
        }
    }

    pub(crate) fn i64(&mut self, key: &str, v: Option<i64>) {
        if let Some(v) = v {
            self.map.insert(key, v.to_string());
        }
    }

    pub(crate) fn bool(&mut self, key: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.map.insert(key, if v { "1" } else { "0" });
        }
    }

    /// A nested object; an empty one is left out (it has no pairs).
    pub(crate) fn object(&mut self, key: &str, m: NodeMap) {
        if !m.is_empty() {
            self.map.merge_insert(key, Node::Map(m));
        }
    }

    /// A list keyed `"0"`, `"1"`, …; an empty list is left out.
    pub(crate) fn list<T>(&mut self, key: &str, items: &[T], item: impl Fn(&T) -> Node) {
        if items.is_empty() {
            return;
        }
        let list: NodeMap = items
            .iter()
            .enumerate()
            .map(|(i, t)| (i.to_string(), item(t)))
            .collect();
        self.map.insert(key, Node::Map(list));
    }

    /// The finished map: `extra` merged in after the typed fields.
    pub(crate) fn finish(mut self, extra: &NodeMap) -> NodeMap {
        for (k, n) in extra.iter() {
            self.map.merge_insert(k, n.clone());
        }
        self.map
    }
}
