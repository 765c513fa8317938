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
