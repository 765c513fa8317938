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

/// Writes all but the last `group` items of `items`, `group` at a time, each
/// group in its own **relaxed** transaction ([`Store::write_relaxed`]: no
/// fsync), and returns what each group's `f` returned plus the last group
/// (at most `group` items), which the caller writes in its own **durable**
/// transaction. That durable commit persists the relaxed ones before it, in
/// order, so the batch ends durable as a single write would, but redb's one
/// writer (which the webhooks' ack path needs) is held for one group at a
/// time instead of the whole batch. A crash in between loses relaxed groups
/// only as a crash before a single write would have lost everything.
pub(crate) async fn write_relaxed_groups<I, T, F>(
    store: &Store,
    now_ms: i64,
    mut items: Vec<I>,
    group: usize,
    f: F,
) -> StoreResult<(Vec<T>, Vec<I>)>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(&mut WriteTx<'_>, &[I]) -> StoreResult<T> + Clone + Send + 'static,
{
    let group = group.max(1);
    let mut out = Vec::new();
    while items.len() > group {
        let rest = items.split_off(group);
        let head = std::mem::replace(&mut items, rest);
        let store = store.clone();
        let f = f.clone();
        let done = tokio::task::spawn_blocking(move || {
            store.write_relaxed(|tx| {
                tx.set_now_ms(now_ms);
                f(tx, &head)
            })
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Io(format!("a store task failed: {e}"))))?;
        out.push(done);
    }
    Ok((out, items))
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
