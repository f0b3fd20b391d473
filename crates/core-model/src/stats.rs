use std::sync::atomic::{AtomicU64, Ordering};

/// Totals of one run, shared by all sources: what `khabar once` prints at the end.
#[derive(Debug, Default)]
pub struct RunStats {
    /// Feed polls that completed.
    pub feeds_polled: AtomicU64,
    /// Feed polls that failed.
    pub feeds_failed: AtomicU64,
    /// New items found in feeds.
    pub items_new: AtomicU64,
    /// Records every sink accepted.
    pub delivered: AtomicU64,
    /// Records handed back to be tried again.
    pub retried: AtomicU64,
    /// Records rejected for good (in the dead-letter file).
    pub rejected: AtomicU64,
    /// Tasks (feed loops, per-record work, stages) that panicked and were restarted or
    /// settled by the runtime.
    pub tasks_crashed: AtomicU64,
}

impl RunStats {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What every stage counts, under the same names whatever its kind.
#[derive(Debug, Default)]
pub struct StageCounters {
    /// Records that came into the stage.
    pub received: AtomicU64,
    /// Records the stage passed on.
    pub sent: AtomicU64,
    /// Records the stage dropped on purpose.
    pub dropped: AtomicU64,
    /// Records the stage failed on.
    pub errored: AtomicU64,
    /// CPU time of the stage's own calls (`process`, `write`), nanoseconds, measured per
    /// thread: work a call hands to other threads or tasks (a connection's parsing in the HTTP
    /// client, a sink's blocking writer) is not in it.
    pub cpu_nanos: AtomicU64,
}

impl StageCounters {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
