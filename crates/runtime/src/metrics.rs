//! Per-stage counters. Every stage of every kind counts the same four things, under the same
//! names, so dashboards and logs read alike whatever the pipeline.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use khabar_core_model::{StageCounters, StageKind};
use serde::Serialize;

/// The counters of one stage at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageMetrics {
    pub stage: String,
    pub kind: &'static str,
    pub received: u64,
    pub sent: u64,
    pub dropped: u64,
    pub errored: u64,
    /// Milliseconds of CPU the stage's own calls took (see `StageCounters::cpu_nanos`).
    pub cpu_ms: u64,
}

#[derive(Clone, Default)]
pub(crate) struct MetricsRegistry {
    stages: Vec<(String, StageKind, Arc<StageCounters>)>,
}

impl MetricsRegistry {
    pub(crate) fn counters_for(&mut self, id: &str, kind: StageKind) -> Arc<StageCounters> {
        let counters = Arc::new(StageCounters::default());
        self.stages
            .push((id.to_string(), kind, Arc::clone(&counters)));
        counters
    }

    pub(crate) fn snapshot(&self) -> Vec<StageMetrics> {
        self.stages
            .iter()
            .map(|(id, kind, c)| StageMetrics {
                stage: id.clone(),
                kind: kind.singular(),
                received: c.received.load(Ordering::Relaxed),
                sent: c.sent.load(Ordering::Relaxed),
                dropped: c.dropped.load(Ordering::Relaxed),
                errored: c.errored.load(Ordering::Relaxed),
                cpu_ms: c.cpu_nanos.load(Ordering::Relaxed) / 1_000_000,
            })
            .collect()
    }

    pub(crate) fn log(&self) {
        for m in self.snapshot() {
            tracing::info!(
                stage = %m.stage,
                kind = m.kind,
                received = m.received,
                sent = m.sent,
                dropped = m.dropped,
                errored = m.errored,
                cpu_ms = m.cpu_ms,
                "stage counters"
            );
        }
    }
}
