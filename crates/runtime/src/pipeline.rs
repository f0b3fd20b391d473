//! Building a checked [`Plan`] into running tasks, and running them to the end.

use std::collections::BTreeMap;
use std::sync::Arc;

use khabar_core_model::{
    BuildContext, Record, RunMode, RunStats, Sink, Source, SourceContext, StageKind, StateStore,
    Transform,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::GlobalConfig;
use crate::dead_letter::DeadLetter;
use crate::drivers::{drive_sink, drive_transform, fan_out, Output, StageRuntime};
use crate::metrics::{MetricsRegistry, StageMetrics};
use crate::validate::{Common, ConfigIssue, Plan, StageSettings};

enum Built {
    Source(Box<dyn Source>),
    Transform(Arc<dyn Transform>),
    Sink(Box<dyn Sink>),
}

struct BuiltStage {
    id: String,
    kind: StageKind,
    inputs: Vec<String>,
    common: Common,
    stage: Built,
}

/// Asks a running pipeline to stop. Cloneable; the first call starts the graceful shutdown.
#[derive(Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

/// What a run did, for `khabar once` and the logs.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub feeds: u64,
    pub feeds_failed: u64,
    pub new_items: u64,
    pub delivered: u64,
    pub retried: u64,
    pub rejected: u64,
    pub stage_errors: Vec<String>,
    pub stages: Vec<StageMetrics>,
    /// True when the shutdown deadline passed and in-flight work was abandoned.
    pub timed_out: bool,
}

/// A pipeline whose stages are built and ready to run.
pub struct Pipeline {
    stages: Vec<BuiltStage>,
    global: GlobalConfig,
    data_dir: std::path::PathBuf,
    state: Arc<dyn StateStore>,
}

impl Pipeline {
    /// Builds every stage of `plan` (which may connect to services), creating `data_dir`.
    /// Reports every stage that failed to build.
    pub async fn build(
        plan: Plan,
        state: Arc<dyn StateStore>,
    ) -> Result<Pipeline, Vec<ConfigIssue>> {
        let data_dir = plan.data_dir();
        if let Err(e) = std::fs::create_dir_all(&data_dir) {
            return Err(vec![ConfigIssue {
                location: "global.data_dir".into(),
                message: format!("cannot create {}: {e}", data_dir.display()),
            }]);
        }
        let mut issues = Vec::new();
        let mut stages = Vec::new();
        let resources = Arc::new(khabar_core_model::Resources::default());
        for stage in plan.stages {
            let ctx = BuildContext {
                stage_id: stage.id.clone(),
                data_dir: data_dir.clone(),
                config_dir: plan.config_dir.clone(),
                state: Arc::clone(&state),
                resources: Arc::clone(&resources),
            };
            let built = match &stage.settings {
                StageSettings::Source(c) => c.build(&ctx).await.map(Built::Source),
                StageSettings::Transform(c) => {
                    c.build(&ctx).await.map(|t| Built::Transform(Arc::from(t)))
                }
                StageSettings::Sink(c) => c.build(&ctx).await.map(Built::Sink),
            };
            match built {
                Ok(built) => stages.push(BuiltStage {
                    id: stage.id,
                    kind: stage.kind,
                    inputs: stage.inputs,
                    common: stage.common,
                    stage: built,
                }),
                Err(e) => issues.push(ConfigIssue {
                    location: format!("{}.{}", stage.kind.section(), stage.id),
                    message: e.to_string(),
                }),
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(Pipeline {
            stages,
            global: plan.global,
            data_dir,
            state,
        })
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Runs until every source has finished (always so in [`RunMode::Once`]) or `shutdown` is
    /// triggered; then drains, flushes and returns within `shutdown_timeout`.
    pub async fn run(self, mode: RunMode, shutdown: Shutdown) -> RunSummary {
        let stats = Arc::new(RunStats::default());
        let dead_letter = Arc::new(DeadLetter::new(&self.data_dir));
        let mut metrics = MetricsRegistry::default();
        let mut tasks: JoinSet<Option<String>> = JoinSet::new();

        // One bounded input channel per consuming stage.
        let mut senders: BTreeMap<String, mpsc::Sender<Record>> = BTreeMap::new();
        let mut receivers: BTreeMap<String, mpsc::Receiver<Record>> = BTreeMap::new();
        for s in self.stages.iter().filter(|s| s.kind != StageKind::Source) {
            let (tx, rx) = mpsc::channel(s.common.buffer);
            senders.insert(s.id.clone(), tx);
            receivers.insert(s.id.clone(), rx);
        }
        let output_of = |id: &str| -> Vec<mpsc::Sender<Record>> {
            self.stages
                .iter()
                .filter(|s| s.inputs.iter().any(|i| i == id))
                .filter_map(|s| senders.get(&s.id).cloned())
                .collect()
        };
        let outputs: BTreeMap<String, Vec<mpsc::Sender<Record>>> = self
            .stages
            .iter()
            .map(|s| (s.id.clone(), output_of(&s.id)))
            .collect();
        // Only producers hold senders now, so a stage's input closes when its producers end.
        drop(senders);

        let mut outputs = outputs;
        for stage in self.stages {
            let counters = metrics.counters_for(&stage.id, stage.kind);
            let runtime = Arc::new(StageRuntime {
                id: stage.id.clone(),
                common: stage.common.clone(),
                counters: Arc::clone(&counters),
                dead_letter: Arc::clone(&dead_letter),
                shutdown: shutdown.subscribe(),
            });
            let targets = outputs.remove(&stage.id).unwrap_or_default();
            match stage.stage {
                Built::Source(source) => {
                    let out = match <[_; 1]>::try_from(targets) {
                        Ok([direct]) => direct,
                        Err(targets) => {
                            let (tx, rx) = mpsc::channel(stage.common.buffer);
                            let output = Output::new(targets);
                            tasks.spawn(async move {
                                fan_out(rx, output).await;
                                None
                            });
                            tx
                        }
                    };
                    let ctx = SourceContext::new(
                        stage.id.clone(),
                        mode,
                        Arc::clone(&self.state),
                        Arc::clone(&stats),
                        counters,
                        out,
                        shutdown.subscribe(),
                    )
                    .with_dead_letters(Arc::clone(&dead_letter) as _);
                    let id = stage.id.clone();
                    tasks.spawn(async move {
                        match source.run(ctx).await {
                            Ok(()) => None,
                            Err(e) => {
                                tracing::error!(stage = %id, error = %e, "source stopped with an error");
                                Some(format!("sources.{id}: {e}"))
                            }
                        }
                    });
                }
                Built::Transform(transform) => {
                    let Some(input) = receivers.remove(&stage.id) else {
                        continue;
                    };
                    tasks.spawn(async move {
                        drive_transform(runtime, transform, input, Output::new(targets)).await;
                        None
                    });
                }
                Built::Sink(sink) => {
                    let Some(input) = receivers.remove(&stage.id) else {
                        continue;
                    };
                    tasks.spawn(async move {
                        drive_sink(runtime, sink, input).await;
                        None
                    });
                }
            }
        }

        let mut stage_errors = Vec::new();
        let mut timed_out = false;
        let mut shutdown_rx = shutdown.subscribe();
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut ticker = tokio::time::interval(self.global.metrics_interval);
        ticker.tick().await;
        loop {
            let wait_deadline = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    None => break,
                    Some(Ok(Some(error))) => stage_errors.push(error),
                    Some(Ok(None)) => {}
                    Some(Err(e)) if e.is_panic() => {
                        tracing::error!(error = %e, "a stage task panicked");
                        stage_errors.push(format!("a stage task panicked: {e}"));
                    }
                    Some(Err(_)) => {}
                },
                _ = shutdown_rx.wait_for(|stop| *stop), if deadline.is_none() => {
                    tracing::info!(timeout = ?self.global.shutdown_timeout, "shutting down: stopping sources and draining");
                    deadline = Some(tokio::time::Instant::now() + self.global.shutdown_timeout);
                }
                _ = wait_deadline => {
                    tracing::warn!("shutdown deadline passed; abandoning in-flight records (they will be fetched again)");
                    timed_out = true;
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
                _ = ticker.tick(), if mode == RunMode::Continuous => metrics.log(),
            }
        }
        metrics.log();
        RunSummary {
            feeds: RunStats::get(&stats.feeds_polled),
            feeds_failed: RunStats::get(&stats.feeds_failed),
            new_items: RunStats::get(&stats.items_new),
            delivered: RunStats::get(&stats.delivered),
            retried: RunStats::get(&stats.retried),
            rejected: RunStats::get(&stats.rejected),
            stage_errors,
            stages: metrics.snapshot(),
            timed_out,
        }
    }
}
