//! Shared pieces of list queries: sort direction, limits, query pairs.

use crate::error::ApiError;

/// Sort direction of `order[field]=asc|desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Oldest / smallest first.
    #[default]
    Asc,
    /// Newest / largest first.
    Desc,
}

impl SortDirection {
    /// `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        }
    }
}

/// The largest `limit` amoCRM accepts for most lists.
pub const MAX_LIMIT: u32 = 250;
/// The largest `limit` to use for events.
pub const MAX_EVENTS_LIMIT: u32 = 100;
/// The most ids sent in one `filter[id][]` request.
pub const MAX_IDS_PER_REQUEST: usize = 250;

/// Query pairs in order, as they will appear in the URL.
#[derive(Debug, Default)]
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub(crate) fn push(&mut self, key: impl Into<String>, value: impl ToString) {
        self.0.push((key.into(), value.to_string()));
    }

    pub(crate) fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

/// Checks `1 ..= max`.
pub(crate) fn check_limit(limit: u32, max: u32) -> Result<(), ApiError> {
    if (1..=max).contains(&limit) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "limit must be between 1 and {max}, got {limit}"
        )))
    }
}

/// Checks that a `from..to` range is not reversed.
pub(crate) fn check_range(name: &str, from: Option<i64>, to: Option<i64>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(ApiError::invalid(format!(
            "{name}: from ({f}) is after to ({t})"
        ))),
        _ => Ok(()),
    }
}

/// Pushes `filter[<name>][from]` / `[to]`.
pub(crate) fn push_range(pairs: &mut Pairs, name: &str, from: Option<i64>, to: Option<i64>) {
    if let Some(from) = from {
        pairs.push(format!("filter[{name}][from]"), from);
    }
    if let Some(to) = to {
        pairs.push(format!("filter[{name}][to]"), to);
    }
}

/// A `with=` extra: its token in the query string.
pub(crate) trait WithToken: Copy + PartialEq {
    fn token(self) -> &'static str;
}

/// `with=a,b` as one pair, or nothing.
pub(crate) fn push_with<W: WithToken>(pairs: &mut Pairs, with: &[W]) {
    if !with.is_empty() {
        let tokens: Vec<&str> = with.iter().map(|w| w.token()).collect();
        pairs.push("with", tokens.join(","));
    }
}

/// The query of a single-entity fetch: only `with=`.
pub(crate) fn with_pairs<W: WithToken>(with: &[W]) -> Vec<(String, String)> {
    let mut pairs = Pairs::default();
    push_with(&mut pairs, with);
    pairs.into_vec()
}

/// The filters leads and contacts share, rendered in amoCRM's order:
/// ids and the `updated_at` range first ([`EntityFilter::push_head`]), then
/// the entity's own filters, then search, order, `with=` and `limit`
/// ([`EntityFilter::push_tail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityFilter<W> {
    pub(crate) updated_from: Option<i64>,
    pub(crate) updated_to: Option<i64>,
    pub(crate) ids: Vec<u64>,
    pub(crate) search: Option<String>,
    pub(crate) with: Vec<W>,
    pub(crate) limit: u32,
}

impl<W: WithToken> EntityFilter<W> {
    /// Everything, `MAX_LIMIT` per page.
    pub(crate) fn new() -> Self {
        EntityFilter {
            updated_from: None,
            updated_to: None,
            ids: Vec::new(),
            search: None,
            with: Vec::new(),
            limit: MAX_LIMIT,
        }
    }

    /// Adds a `with=` extra, ignoring duplicates.
    pub(crate) fn add_with(&mut self, with: W) {
        if !self.with.contains(&with) {
            self.with.push(with);
        }
    }

    /// Validates limit, range and id count; `by_ids` names the method to
    /// use for more ids. Then pushes `filter[id][]` and `filter[updated_at]`.
    pub(crate) fn push_head(&self, pairs: &mut Pairs, by_ids: &str) -> Result<(), ApiError> {
        check_limit(self.limit, MAX_LIMIT)?;
        check_range("updated_at", self.updated_from, self.updated_to)?;
        if self.ids.len() > MAX_IDS_PER_REQUEST {
            return Err(ApiError::invalid(format!(
                "at most {MAX_IDS_PER_REQUEST} ids per request, got {}; use {by_ids}",
                self.ids.len()
            )));
        }
        for id in dedup_keep_order(&self.ids) {
            pairs.push("filter[id][]", id);
        }
        push_range(pairs, "updated_at", self.updated_from, self.updated_to);
        Ok(())
    }

    /// Pushes `query`, `order[field]`, `with` and `limit`.
    pub(crate) fn push_tail(&self, pairs: &mut Pairs, order: Option<(&str, SortDirection)>) {
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            pairs.push("query", search);
        }
        if let Some((field, direction)) = order {
            pairs.push(format!("order[{field}]"), direction.as_str());
        }
        push_with(pairs, &self.with);
        pairs.push("limit", self.limit);
    }
}

/// The builder methods of a query holding an [`EntityFilter`] in `filter`.
macro_rules! entity_filter_methods {
    ($with:ty, $noun:literal, $by_ids:literal) => {
        #[doc = concat!("Only ", $noun, " updated at or after `unix` seconds.")]
        pub fn updated_from(mut self, unix: i64) -> Self {
            self.filter.updated_from = Some(unix);
            self
        }

        #[doc = concat!("Only ", $noun, " updated at or before `unix` seconds.")]
        pub fn updated_to(mut self, unix: i64) -> Self {
            self.filter.updated_to = Some(unix);
            self
        }

        #[doc = concat!("Only these ids (≤ 250; use [`Client::", $by_ids, "`] for more).")]
        pub fn ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
            self.filter.ids.extend(ids);
            self
        }

        /// Full-text search (`query=`): names, phones, e-mails.
        pub fn search(mut self, text: impl Into<String>) -> Self {
            self.filter.search = Some(text.into());
            self
        }

        /// Adds a `with=` extra (duplicates ignored).
        pub fn with(mut self, with: $with) -> Self {
            self.filter.add_with(with);
            self
        }

        /// Page size, 1..=250 (checked when the query is sent).
        pub fn limit(mut self, limit: u32) -> Self {
            self.filter.limit = limit;
            self
        }
    };
}
pub(crate) use entity_filter_methods;

/// Removes duplicates, keeping the first occurrence's position.
pub(crate) fn dedup_keep_order(ids: &[u64]) -> Vec<u64> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// Splits ids (deduplicated, order kept) into request-sized batches.
pub(crate) fn plan_id_batches(ids: &[u64]) -> Vec<Vec<u64>> {
    dedup_keep_order(ids)
        .chunks(MAX_IDS_PER_REQUEST)
        .map(<[u64]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_dedup_and_keep_order() {
        assert!(plan_id_batches(&[]).is_empty());
        assert_eq!(plan_id_batches(&[5, 3, 5, 1, 3]), vec![vec![5, 3, 1]]);
        let ids: Vec<u64> = (1..=600).rev().chain(1..=10).collect();
        let batches = plan_id_batches(&ids);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [250, 250, 100]
        );
        assert_eq!(batches[0][0], 600);
        assert_eq!(batches[2][99], 1);
    }

    #[test]
    fn limits_and_ranges() {
        assert!(check_limit(250, MAX_LIMIT).is_ok());
        assert!(check_limit(1, MAX_LIMIT).is_ok());
        assert_eq!(
            check_limit(0, MAX_LIMIT).map_err(|e| e.code()),
            Err("InvalidRequest")
        );
        assert!(check_limit(251, MAX_LIMIT).is_err());
        assert!(check_limit(101, MAX_EVENTS_LIMIT).is_err());
        assert!(check_range("updated_at", Some(2), Some(1)).is_err());
        assert!(check_range("updated_at", Some(1), Some(1)).is_ok());
    }
}
