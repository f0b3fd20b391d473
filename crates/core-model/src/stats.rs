use std::sync::atomic::{AtomicU64, Ordering};

/// Totals of one run, shared by all sources: what `khabar once` prints at the end.
#[derive(Debug, Default)]
pub struct RunStats {
    pub feeds_polled: AtomicU64,
    pub feeds_failed: AtomicU64,
    pub items_new: AtomicU64,
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub rejected: AtomicU64,
    /// Tasks (feed loops, per-record work, stages) that panicked and were restarted or
    /// settled by the runtime.
    pub tasks_crashed: AtomicU64,
}

impl RunStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What every stage counts, under the same names whatever its kind.
#[derive(Debug, Default)]
pub struct StageCounters {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub errored: AtomicU64,
}

impl StageCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
