//! Small helpers shared by the tasks.

use amosync_store::{Store, StoreError, StoreResult, WriteTx};

use crate::usage::{ApiMeter, add_usage};

/// Runs one write transaction on the blocking pool.
pub(crate) async fn write<T, F>(store: &Store, now_ms: i64, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut WriteTx<'_>) -> StoreResult<T> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        store.write(|tx| {
            tx.set_now_ms(now_ms);
            f(tx)
        })
    })
    .await
    .unwrap_or_else(|e| Err(StoreError::Io(format!("a store task failed: {e}"))))
}

/// Like [`write`], and adds the API usage `meter` has not recorded yet to
/// `SyncState.api_requests`/`api_429s` in the same transaction.
pub(crate) async fn write_counting<T, F>(
    store: &Store,
    now_ms: i64,
    meter: &ApiMeter,
    client: &amo::Client,
    f: F,
) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut WriteTx<'_>) -> StoreResult<T> + Send + 'static,
{
    let delta = meter.take(client);
    let result = write(store, now_ms, move |tx| {
        let out = f(tx)?;
        if delta != amo::ApiUsage::default() {
            tx.update_sync_state(|s| add_usage(s, delta))?;
        }
        Ok(out)
    })
    .await;
    if result.is_err() {
        meter.give_back(delta);
    }
    result
}

/// Runs a blocking store read on the blocking pool.
pub(crate) async fn read<T, F>(store: &Store, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .unwrap_or_else(|e| Err(StoreError::Io(format!("a store task failed: {e}"))))
}

/// Counts what an upsert did: true when the store changed.
pub(crate) fn changed(applied: amosync_store::Applied) -> bool {
    matches!(
        applied,
        amosync_store::Applied::Inserted | amosync_store::Applied::Updated
    )
}
