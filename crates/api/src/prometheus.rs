//! The process's one metrics recorder: everything counted with the `metrics` macros, in any
//! crate, lands in it, and `/metrics` renders it.

use std::sync::OnceLock;

use khabar_runtime::metrics::names;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The recorder could not be set up (another recorder was installed first).
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct RecorderError(String);

/// Bucket bounds of every duration histogram, in seconds: from a state-store read (1 ms) to
/// a slow page (a minute).
const SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];
/// Records per sink write.
const BATCH: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// How often the recorder folds the histograms' samples into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The name of the thread that does it.
pub const UPKEEP_THREAD: &str = "khabar-metrics";

/// The installed recorder's handle, installing it on the first call.
pub fn recorder() -> Result<PrometheusHandle, RecorderError> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(names::SINK_BATCH_SIZE.into()), &BATCH)
                })
                .map_err(|e| e.to_string())?;
            let handle = builder.install_recorder().map_err(|e| e.to_string())?;
            // The recorder keeps every histogram sample until upkeep folds it into the
            // buckets, and nothing else runs upkeep but a scrape of `/metrics`: unscraped, a
            // daemon's memory grew with every page fetched and every batch written.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name(UPKEEP_THREAD.into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
            khabar_runtime::metrics::describe();
            khabar_fetcher::metrics::describe();
            Ok(handle)
        })
        .clone()
        .map_err(RecorderError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorder_runs_its_own_upkeep() -> Result<(), Box<dyn std::error::Error>> {
        recorder()?;
        // A thread names itself once it runs: give it a moment.
        let mut names = Vec::new();
        for _ in 0..100 {
            names.clear();
            for task in std::fs::read_dir("/proc/self/task")? {
                // A test thread may end between the listing and the read.
                if let Ok(comm) = std::fs::read_to_string(task?.path().join("comm")) {
                    names.push(comm.trim().to_string());
                }
            }
            if names.iter().any(|n| n == UPKEEP_THREAD) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("no upkeep thread among {names:?}");
    }
}
