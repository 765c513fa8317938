//! Sending one delivery: the POST, its classification, the retry ladder and
//! the disable rule (amocrm.md §1 "Delivery contract").

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::webhooks::hub::{Inner, State, safe_host};
use crate::webhooks::lanes::Job;
use crate::webhooks::records::DeliveryRecord;
use crate::webhooks::{CONTENT_TYPE, USER_AGENT};

/// At most this much of a receiver's answer body is read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Fault labels in the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Dropped,
    Duplicate,
    Reordered,
    /// Held for reordering but no successor came in time.
    Held,
    Delayed,
}

impl Fault {
    fn as_str(self) -> &'static str {
        match self {
            Fault::Dropped => "dropped",
            Fault::Duplicate => "duplicate",
            Fault::Reordered => "reordered",
            Fault::Held => "held",
            Fault::Delayed => "delayed",
        }
    }
}

/// What the receiver did.
enum Answer {
    Status(u16),
    Failed(String),
}

/// A record for a delivery that was not attempted.
pub(crate) fn not_sent(job: &Job, reason: &str, fault: Option<Fault>) -> DeliveryRecord {
    let now = chrono::Utc::now().timestamp_millis();
    DeliveryRecord {
        seq: 0,
        delivery_id: job.id,
        destination: job.destination.clone(),
        attempt: 1,
        status: None,
        error: Some(reason.to_owned()),
        ok: false,
        fault: fault.map(|f| f.as_str().to_owned()),
        gave_up: true,
        started_at_ms: now,
        finished_at_ms: now,
        body_len: job.body.len(),
        changes: job.changes,
    }
}

/// First attempt of a delivery (with its faults), then the retries.
pub(crate) async fn deliver(weak: &Weak<Inner>, job: Job, lane_fault: Option<Fault>) {
    let Some(inner) = weak.upgrade() else { return };
    if !is_live(&inner, &job) {
        inner.finish();
        return;
    }
    if job.plan.drop {
        tracing::debug!(
            delivery = job.id,
            "webhook delivery dropped by fault injection"
        );
        inner.state().log.push(not_sent(
            &job,
            "dropped by fault injection",
            Some(Fault::Dropped),
        ));
        inner.finish();
        return;
    }
    let mut fault = lane_fault;
    if !job.plan.delay.is_zero() {
        // Due `delay` after the change, however long the lane took to get here.
        let due = job
            .queued_at
            .checked_add(job.plan.delay)
            .unwrap_or(job.queued_at);
        tokio::time::sleep_until(due).await;
        fault = fault.or(Some(Fault::Delayed));
        if !is_live(&inner, &job) {
            inner.finish();
            return;
        }
    }
    let ok = attempt(&inner, &job, 1, fault, true).await;
    if job.plan.duplicate && is_live(&inner, &job) {
        attempt(&inner, &job, 1, Some(Fault::Duplicate), false).await;
    }
    if ok || !has_retry(&inner, 2) || !is_live(&inner, &job) {
        inner.finish();
        return;
    }
    let Some(runtime) = inner.runtime.clone() else {
        inner.finish();
        return;
    };
    {
        let mut st = inner.state();
        let waiting = st.retrying.entry(job.destination.clone()).or_default();
        if *waiting >= RETRY_CAP {
            tracing::warn!(delivery = job.id, host = %safe_host(&job.destination), "webhook retry queue full: delivery given up");
            st.log.push(not_sent(&job, "retry queue full", None));
            drop(st);
            inner.finish();
            return;
        }
        *waiting += 1;
    }
    runtime.spawn(retry(Arc::downgrade(&inner), job));
}

/// At most this many deliveries of one destination wait for a retry; more
/// are given up at once (recorded as "retry queue full").
pub(crate) const RETRY_CAP: usize = 1_000;

/// Frees a retry slot of a destination when the retry task ends, however it ends.
struct RetrySlot {
    weak: Weak<Inner>,
    destination: String,
}

impl Drop for RetrySlot {
    fn drop(&mut self) {
        if let Some(inner) = self.weak.upgrade() {
            let mut st = inner.state();
            if let Some(n) = st.retrying.get_mut(&self.destination) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    st.retrying.remove(&self.destination);
                }
            }
        }
    }
}

/// Attempts 2.. after the configured delays; ends on success, when the
/// ladder is exhausted, or when the webhook is gone or disabled.
async fn retry(weak: Weak<Inner>, job: Job) {
    let _slot = RetrySlot {
        weak: weak.clone(),
        destination: job.destination.clone(),
    };
    let mut n: u32 = 2;
    loop {
        let delay = {
            let Some(inner) = weak.upgrade() else { return };
            match retry_delay(&inner, n) {
                Some(delay) => delay,
                None => {
                    inner.finish();
                    return;
                }
            }
        };
        tokio::time::sleep(delay).await;
        let Some(inner) = weak.upgrade() else { return };
        if !is_live(&inner, &job) || attempt(&inner, &job, n, None, true).await {
            inner.finish();
            return;
        }
        n = n.saturating_add(1);
    }
}

/// Delay before attempt `n` (2 = first retry), if the ladder has one.
fn retry_delay(inner: &Inner, n: u32) -> Option<Duration> {
    let index = usize::try_from(n).ok()?.checked_sub(2)?;
    inner.state().config.retry_delays.get(index).copied()
}

fn has_retry(inner: &Inner, n: u32) -> bool {
    retry_delay(inner, n).is_some()
}

fn is_live(inner: &Inner, job: &Job) -> bool {
    inner.state().registry.is_live(&job.destination, job.epoch)
}

/// One POST; records it, applies the disable rule, returns success.
/// `primary` attempts (not fault duplicates) may be marked as given up.
async fn attempt(inner: &Inner, job: &Job, n: u32, fault: Option<Fault>, primary: bool) -> bool {
    let timeout = inner.state().config.timeout;
    let started_at_ms = chrono::Utc::now().timestamp_millis();
    let answer = post(inner.client.as_ref(), job, timeout).await;
    let finished_at_ms = chrono::Utc::now().timestamp_millis();
    let (status, error, ok) = match answer {
        Answer::Status(s) => (Some(s), None, (100..=299).contains(&s)),
        Answer::Failed(e) => (None, Some(e), false),
    };
    let host = safe_host(&job.destination);
    let mut guard = inner.state();
    let st = &mut *guard;
    let disabled_now = !ok && note_failure(st, &job.destination);
    let exhausted = usize::try_from(n).map_or(true, |n| n > st.config.retry_delays.len());
    let gave_up = primary && !ok && (disabled_now || exhausted);
    if ok {
        tracing::debug!(delivery = job.id, attempt = n, %host, status, "webhook delivered");
    } else if gave_up {
        tracing::warn!(delivery = job.id, attempt = n, %host, status, error = error.as_deref(), "webhook delivery given up");
    } else {
        tracing::debug!(delivery = job.id, attempt = n, %host, status, error = error.as_deref(), "webhook delivery failed");
    }
    st.log.push(DeliveryRecord {
        seq: 0,
        delivery_id: job.id,
        destination: job.destination.clone(),
        attempt: n,
        status,
        error,
        ok,
        fault: fault.map(|f| f.as_str().to_owned()),
        gave_up,
        started_at_ms,
        finished_at_ms,
        body_len: job.body.len(),
        changes: job.changes,
    });
    ok
}

/// Count an invalid answer; disable the webhook when more than the
/// threshold arrived within the window (this latest one is invalid too).
/// True when the webhook was disabled just now.
fn note_failure(st: &mut State, destination: &str) -> bool {
    let now = Instant::now();
    let window = st.config.disable_window;
    let threshold = st.config.disable_threshold;
    let recent = st.failures.entry(destination.to_owned()).or_default();
    recent.push_back(now);
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) > window)
    {
        recent.pop_front();
    }
    while recent.len() > threshold.saturating_add(1) {
        recent.pop_front();
    }
    if recent.len() <= threshold {
        return false;
    }
    recent.clear();
    let disabled = st
        .registry
        .disable(destination, chrono::Utc::now().timestamp());
    if disabled {
        st.lanes.remove(destination);
        tracing::warn!(host = %safe_host(destination), threshold, "webhook disabled after too many invalid answers");
    }
    disabled
}

/// POST the body; the whole answer must come within `timeout`. Redirects
/// are not followed (a 3xx is an invalid answer).
async fn post(client: Option<&reqwest::Client>, job: &Job, timeout: Duration) -> Answer {
    let Some(client) = client else {
        return Answer::Failed("HTTP client unavailable".to_owned());
    };
    let request = client
        .post(job.destination.as_str())
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .body(job.body.to_string());
    let exchange = async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let mut read = 0usize;
        while let Ok(Some(chunk)) = response.chunk().await {
            read = read.saturating_add(chunk.len());
            if read > MAX_ANSWER_BYTES {
                break;
            }
        }
        Ok::<u16, reqwest::Error>(status)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(status)) => Answer::Status(status),
        Ok(Err(e)) => Answer::Failed(describe(&e)),
        Err(_) => Answer::Failed(format!("timeout after {} ms", timeout.as_millis())),
    }
}

/// A transport error without the URL (it may hold a secret path).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_labels() {
        assert_eq!(Fault::Duplicate.as_str(), "duplicate");
        assert_eq!(Fault::Dropped.as_str(), "dropped");
    }
}
