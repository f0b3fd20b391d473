//! Acknowledgements: how a source learns what became of the records it emitted.
//!
//! Every record carries an [`Ack`]. Cloning a record (fan-out) clones the handle; all clones
//! share one outcome, and the worst one wins (`Delivered` < `Retry` < `Rejected`). When the last
//! clone is gone, the source's [`AckReceiver`] resolves. A handle dropped without an outcome
//! (a task aborted at shutdown, a bug) counts as `Retry`, so nothing is ever committed that was
//! not really delivered.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// What became of a record. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every sink has it (or a stage dropped it on purpose).
    Delivered = 0,
    /// Something transient failed: emit it again later.
    Retry = 1,
    /// It can never be delivered; it went to the dead-letter file.
    Rejected = 2,
}

impl Outcome {
    fn from_u8(value: u8) -> Outcome {
        match value {
            0 => Outcome::Delivered,
            1 => Outcome::Retry,
            _ => Outcome::Rejected,
        }
    }
}

/// The final outcome of a record and, unless it was delivered, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// What became of the record.
    pub outcome: Outcome,
    /// Why, for `Retry` and `Reject`.
    pub reason: Option<String>,
}

struct Shared {
    worst: AtomicU8,
    reason: Mutex<Option<String>>,
    notify: Mutex<Option<oneshot::Sender<Resolution>>>,
}

impl Shared {
    fn record(&self, outcome: Outcome, reason: Option<String>) {
        let previous = self.worst.fetch_max(outcome as u8, Ordering::AcqRel);
        if outcome as u8 >= previous && reason.is_some() {
            if let Ok(mut slot) = self.reason.lock() {
                *slot = reason;
            }
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let outcome = Outcome::from_u8(self.worst.load(Ordering::Acquire));
        let reason = self.reason.get_mut().ok().and_then(|r| r.take());
        if let Ok(slot) = self.notify.get_mut() {
            if let Some(tx) = slot.take() {
                // The source may have stopped waiting; that is fine.
                let _ = tx.send(Resolution { outcome, reason });
            }
        }
    }
}

/// The acknowledgement handle a record carries. Settle it exactly once per clone.
pub struct Ack {
    shared: Arc<Shared>,
    settled: bool,
}

impl Ack {
    /// A new handle and the receiver its source waits on.
    pub fn new() -> (Ack, AckReceiver) {
        let (tx, rx) = oneshot::channel();
        let ack = Ack {
            shared: Arc::new(Shared {
                worst: AtomicU8::new(Outcome::Delivered as u8),
                reason: Mutex::new(None),
                notify: Mutex::new(Some(tx)),
            }),
            settled: false,
        };
        (ack, AckReceiver { rx })
    }

    /// A handle nobody waits for (one-off commands such as `inspect`).
    pub fn detached() -> Ack {
        Ack::new().0
    }

    /// Records this clone's outcome.
    pub fn settle(mut self, outcome: Outcome, reason: Option<String>) {
        self.settled = true;
        self.shared.record(outcome, reason);
    }

    /// The record reached every sink: the source may commit it.
    pub fn delivered(self) {
        self.settle(Outcome::Delivered, None);
    }

    /// Try the record again later (the source keeps it uncommitted).
    pub fn retry(self, reason: impl Into<String>) {
        self.settle(Outcome::Retry, Some(reason.into()));
    }

    /// The record can never be delivered; it goes to the dead-letter file with `reason`.
    pub fn reject(self, reason: impl Into<String>) {
        self.settle(Outcome::Rejected, Some(reason.into()));
    }
}

impl Clone for Ack {
    fn clone(&self) -> Self {
        Ack {
            shared: Arc::clone(&self.shared),
            settled: false,
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if !self.settled {
            self.shared.record(
                Outcome::Retry,
                Some("record dropped before any stage settled it".to_string()),
            );
        }
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ack")
            .field("settled", &self.settled)
            .finish()
    }
}

/// Resolves once every clone of a record's [`Ack`] is gone.
#[derive(Debug)]
pub struct AckReceiver {
    rx: oneshot::Receiver<Resolution>,
}

impl AckReceiver {
    /// Waits until every copy of the record is resolved; the worst outcome wins.
    pub async fn resolution(self) -> Resolution {
        self.rx.await.unwrap_or(Resolution {
            outcome: Outcome::Retry,
            reason: Some("acknowledgement lost".to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn worst_outcome_of_all_clones_wins() {
        let (ack, rx) = Ack::new();
        let a = ack.clone();
        let b = ack.clone();
        ack.delivered();
        b.reject("bad record");
        a.retry("sink down");
        let res = rx.resolution().await;
        assert_eq!(res.outcome, Outcome::Rejected);
        assert_eq!(res.reason.as_deref(), Some("bad record"));
    }

    #[tokio::test]
    async fn all_delivered_is_delivered() {
        let (ack, rx) = Ack::new();
        let a = ack.clone();
        ack.delivered();
        a.delivered();
        assert_eq!(rx.resolution().await.outcome, Outcome::Delivered);
    }

    #[tokio::test]
    async fn dropped_without_outcome_counts_as_retry() {
        let (ack, rx) = Ack::new();
        let a = ack.clone();
        ack.delivered();
        drop(a);
        assert_eq!(rx.resolution().await.outcome, Outcome::Retry);
    }

    #[tokio::test]
    async fn receiver_waits_for_the_last_clone() {
        let (ack, rx) = Ack::new();
        let late = ack.clone();
        ack.delivered();
        let waiter = tokio::spawn(rx.resolution());
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        late.delivered();
        assert_eq!(
            waiter.await.map(|r| r.outcome).ok(),
            Some(Outcome::Delivered)
        );
    }
}
