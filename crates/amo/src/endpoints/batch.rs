//! Fetching many entities by id: `filter[id][]` in batches of ≤ 250.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::ApiError;
use crate::paging::PageStream;
use crate::query::plan_id_batches;

impl Client {
    /// Runs `list` for each batch of ids (deduplicated, ≤ 250 each, in order)
    /// and returns the entities found, in the order of `ids`. Unknown ids
    /// (a 204 or simply absent) are left out.
    pub(crate) async fn by_ids<T>(
        &self,
        ids: &[u64],
        id_of: fn(&T) -> u64,
        list: impl Fn(&[u64]) -> PageStream<T>,
    ) -> Result<Vec<T>, ApiError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let batches = plan_id_batches(ids);
        let mut found: HashMap<u64, T> = HashMap::with_capacity(ids.len());
        for batch in &batches {
            for entity in crate::paging::collect_all(list(batch)).await? {
                found.insert(id_of(&entity), entity);
            }
        }
        Ok(batches
            .iter()
            .flatten()
            .filter_map(|id| found.remove(id))
            .collect())
    }
}
