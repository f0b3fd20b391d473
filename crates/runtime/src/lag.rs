//! How late the async workers answer. A probe task asks for a short timer again and again and
//! records how late each wake-up comes: when computation holds the workers, feed polls, page
//! fetches and acknowledgements wait just as long, so this is the poll latency a run had.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// The probe's period: short enough to see a stall of a few milliseconds.
const PERIOD: Duration = Duration::from_millis(10);

/// The most recent wake-ups kept (about 100 s at one per 10 ms): a long-running daemon reports
/// the recent past, not its whole life.
const KEPT: usize = 10_000;

/// How late the probe's wake-ups were, in microseconds past the time asked for (timer
/// resolution included: about 1 ms on an idle runtime).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchedulerLag {
    pub samples: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// A running probe; [`LagProbe::stop`] ends it and sums up.
pub(crate) struct LagProbe {
    late: Arc<Mutex<VecDeque<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LagProbe {
    /// Starts the probe on the current runtime.
    pub(crate) fn start() -> LagProbe {
        let late = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT)));
        let record = Arc::clone(&late);
        let task = tokio::spawn(async move {
            loop {
                let asked = tokio::time::Instant::now() + PERIOD;
                tokio::time::sleep_until(asked).await;
                let micros = tokio::time::Instant::now().saturating_duration_since(asked);
                let micros = u64::try_from(micros.as_micros()).unwrap_or(u64::MAX);
                let mut late = record
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if late.len() == KEPT {
                    late.pop_front();
                }
                late.push_back(micros);
            }
        });
        LagProbe { late, task }
    }

    /// The wake-ups so far, summed up.
    pub(crate) fn summary(&self) -> SchedulerLag {
        let mut late: Vec<u64> = self
            .late
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .copied()
            .collect();
        late.sort_unstable();
        let at = |fraction: f64| -> u64 {
            let last = late.len().saturating_sub(1);
            // Nearest rank: the smallest value with at least `fraction` of the samples at or
            // below it.
            let rank = ((fraction * late.len() as f64).ceil() as usize).saturating_sub(1);
            late.get(rank.min(last)).copied().unwrap_or(0)
        };
        SchedulerLag {
            samples: late.len() as u64,
            p50_us: at(0.5),
            p99_us: at(0.99),
            max_us: late.last().copied().unwrap_or(0),
        }
    }

    pub(crate) fn stop(self) -> SchedulerLag {
        self.task.abort();
        self.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_stalled_worker_shows_as_lag() {
        let probe = LagProbe::start();
        tokio::time::sleep(Duration::from_millis(60)).await;
        // Hold the only worker for 200 ms: the probe's next wake-up comes that late.
        std::thread::sleep(Duration::from_millis(200));
        tokio::time::sleep(Duration::from_millis(30)).await;
        let lag = probe.stop();
        assert!(lag.samples >= 3, "{lag:?}");
        assert!(lag.max_us >= 150_000, "{lag:?}");
        assert!(lag.p50_us < lag.max_us, "{lag:?}");
    }
}
