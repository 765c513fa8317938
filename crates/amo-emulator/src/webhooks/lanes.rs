//! One ordered queue (and task) per destination.
//!
//! First attempts to a destination go out one after another in emit order;
//! retries run beside the lane (amoCRM does not hold new events back behind
//! a failing one). The `reorder` fault holds a delivery and sends it after
//! the next one of the same lane.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::Change;
use crate::webhooks::delivery::{self, Fault};
use crate::webhooks::encode;
use crate::webhooks::faults::FaultPlan;
use crate::webhooks::hub::{Inner, State};

/// At most this many deliveries wait in one lane; more are dropped (and
/// recorded as such) so a dead receiver cannot eat the memory.
const LANE_CAP: usize = 10_000;

/// How long a reordered delivery waits for a successor before it is sent
/// anyway.
const REORDER_HOLD: Duration = Duration::from_millis(500);

/// The changes of one emit (shared by its destinations) and which of them
/// this destination takes (`None`: all).
pub(crate) type Batch = (Arc<Vec<Change>>, Option<Vec<usize>>);

/// One POST to one destination, with everything needed to send it again.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: u64,
    pub destination: String,
    /// Registry epoch of the destination when queued.
    pub epoch: u64,
    /// Empty until the lane encodes `batch`.
    pub body: Arc<str>,
    /// What to encode; taken when encoded.
    pub batch: Option<Batch>,
    pub changes: usize,
    pub plan: FaultPlan,
    /// When the change happened: a `delay` fault counts from here, so delays
    /// never add up along a lane.
    pub queued_at: tokio::time::Instant,
}

impl Job {
    /// Render the body (once), outside every lock.
    fn encode(&mut self, inner: &Inner) {
        let Some((batch, pick)) = self.batch.take() else {
            return;
        };
        let refs: Vec<&Change> = match &pick {
            None => batch.iter().collect(),
            Some(ix) => ix.iter().filter_map(|i| batch.get(*i)).collect(),
        };
        self.body = encode::encode_refs(&inner.account, &refs).into();
    }
}

/// The sending side of a destination's lane.
pub(crate) struct Lane {
    tx: mpsc::UnboundedSender<Job>,
    queued: Arc<AtomicUsize>,
}

impl Lane {
    /// Queue `job` on its destination's lane, starting the lane if needed.
    /// The caller has already counted the job as pending.
    pub fn enqueue(inner: &Arc<Inner>, st: &mut State, job: Job) {
        let Some(runtime) = inner.runtime.clone() else {
            st.log
                .push(delivery::not_sent(&job, "no tokio runtime", None));
            inner.finish();
            return;
        };
        let lane = st
            .lanes
            .entry(job.destination.clone())
            .or_insert_with(|| Lane::start(inner, &runtime));
        if lane.queued.load(Ordering::Relaxed) >= LANE_CAP {
            tracing::warn!(delivery = job.id, "webhook lane full: delivery dropped");
            st.log.push(delivery::not_sent(&job, "queue full", None));
            inner.finish();
            return;
        }
        lane.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(mpsc::error::SendError(job)) = lane.tx.send(job) {
            // The lane's task ended (runtime shutting down): start a new one.
            let fresh = Lane::start(inner, &runtime);
            fresh.queued.fetch_add(1, Ordering::Relaxed);
            let destination = job.destination.clone();
            if let Err(mpsc::error::SendError(job)) = fresh.tx.send(job) {
                st.log
                    .push(delivery::not_sent(&job, "delivery task unavailable", None));
                inner.finish();
            }
            st.lanes.insert(destination, fresh);
        }
    }

    fn start(inner: &Arc<Inner>, runtime: &tokio::runtime::Handle) -> Lane {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        runtime.spawn(run(Arc::downgrade(inner), rx, queued.clone()));
        Lane { tx, queued }
    }
}

/// The lane's task: send in order, honouring the reorder fault.
async fn run(weak: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Job>, queued: Arc<AtomicUsize>) {
    let mut held: Option<Job> = None;
    loop {
        let next = if held.is_some() {
            match tokio::time::timeout(REORDER_HOLD, rx.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    if let Some(job) = held.take() {
                        delivery::deliver(&weak, job, Some(Fault::Held)).await;
                    }
                    continue;
                }
            }
        } else {
            rx.recv().await
        };
        let Some(mut job) = next else {
            if let Some(job) = held.take() {
                delivery::deliver(&weak, job, Some(Fault::Held)).await;
            }
            return;
        };
        queued.fetch_sub(1, Ordering::Relaxed);
        match weak.upgrade() {
            Some(inner) => job.encode(&inner),
            None => return,
        }
        if job.plan.reorder && !job.plan.drop && held.is_none() {
            held = Some(job);
            continue;
        }
        delivery::deliver(&weak, job, None).await;
        if let Some(job) = held.take() {
            delivery::deliver(&weak, job, Some(Fault::Reordered)).await;
        }
    }
}
