//! Building a checked [`Plan`] into running tasks, and running them to the end.

use std::collections::BTreeMap;
use std::sync::Arc;

use khabar_core_model::{
    BuildContext, Record, RunMode, RunStats, Sink, SinkConfig, Source, SourceConfig, SourceContext,
    StageCounters, StageKind, StateStore, Transform,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::GlobalConfig;
use crate::dead_letter::DeadLetter;
use crate::drivers::{
    drive_sink, drive_transform, fan_out, panic_text, Output, SinkSlot, StageRuntime,
};
use crate::metrics::StageMetrics;
use crate::monitor::{Monitor, Phase};
use crate::validate::{Common, ConfigIssue, Plan, StageSettings};

/// A built stage, with its settings and build context kept: a source or sink that panics is
/// built again from them.
enum Built {
    Source(Box<dyn Source>, Arc<dyn SourceConfig>),
    Transform(Arc<dyn Transform>),
    Sink(Box<dyn Sink>, Arc<dyn SinkConfig>),
}

struct BuiltStage {
    id: String,
    kind: StageKind,
    inputs: Vec<String>,
    common: Common,
    stage: Built,
    ctx: BuildContext,
    /// What the stage's drivers update and watchers read (registered at build time, so a
    /// tap can be opened before the first record passes).
    watched: crate::monitor::StageHandles,
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
    /// Panics caught (feed loops, records, sinks, sources), each logged and recovered from.
    pub tasks_crashed: u64,
    pub stage_errors: Vec<String>,
    pub stages: Vec<StageMetrics>,
    /// True when the shutdown deadline passed and in-flight work was abandoned.
    pub timed_out: bool,
    /// How late the async workers answered a timer while the run went on (poll latency).
    pub scheduler_lag: crate::SchedulerLag,
}

/// A pipeline whose stages are built and ready to run.
pub struct Pipeline {
    stages: Vec<BuiltStage>,
    global: GlobalConfig,
    data_dir: std::path::PathBuf,
    state: Arc<dyn StateStore>,
    monitor: Monitor,
}

impl Pipeline {
    /// Builds every stage of `plan` (which may connect to services), creating `data_dir`.
    /// Reports every stage that failed to build.
    pub async fn build(
        plan: Plan,
        state: Arc<dyn StateStore>,
    ) -> Result<Pipeline, Vec<ConfigIssue>> {
        Pipeline::build_watched(plan, state, Monitor::new()).await
    }

    /// As [`Pipeline::build`], reporting to `monitor`, which watchers may hold already (the
    /// API answers while the stages build).
    pub async fn build_watched(
        plan: Plan,
        state: Arc<dyn StateStore>,
        monitor: Monitor,
    ) -> Result<Pipeline, Vec<ConfigIssue>> {
        let state = crate::timed_state::TimedStateStore::wrap(state);
        monitor.set_state(Arc::clone(&state));
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
            let built = match stage.settings {
                StageSettings::Source(c) => {
                    let config: Arc<dyn SourceConfig> = Arc::from(c);
                    config
                        .build(&ctx)
                        .await
                        .map(|s| Built::Source(s, Arc::clone(&config)))
                }
                StageSettings::Transform(c) => {
                    c.build(&ctx).await.map(|t| Built::Transform(Arc::from(t)))
                }
                StageSettings::Sink(c) => {
                    let config: Arc<dyn SinkConfig> = Arc::from(c);
                    config
                        .build(&ctx)
                        .await
                        .map(|s| Built::Sink(s, Arc::clone(&config)))
                }
            };
            match built {
                Ok(built) => stages.push(BuiltStage {
                    watched: monitor.register(&stage.id, stage.kind, &stage.type_name),
                    id: stage.id,
                    kind: stage.kind,
                    inputs: stage.inputs,
                    common: stage.common,
                    stage: built,
                    ctx,
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
            monitor,
        })
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The handle watchers read the running pipeline through.
    pub fn monitor(&self) -> Monitor {
        self.monitor.clone()
    }

    /// Runs until every source has finished (always so in [`RunMode::Once`]) or `shutdown` is
    /// triggered; then drains, flushes and returns within `shutdown_timeout`.
    pub async fn run(self, mode: RunMode, shutdown: Shutdown) -> RunSummary {
        let stats = Arc::new(RunStats::default());
        let lag = crate::lag::LagProbe::start();
        let dead_letter = Arc::new(DeadLetter::new(&self.data_dir));
        let monitor = self.monitor.clone();
        monitor.set_stats(Arc::clone(&stats));
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
        let inputs: BTreeMap<String, mpsc::WeakSender<Record>> = senders
            .iter()
            .map(|(id, tx)| (id.clone(), tx.downgrade()))
            .collect();
        // Only producers hold senders now, so a stage's input closes when its producers end.
        drop(senders);

        let mut outputs = outputs;
        for stage in self.stages {
            if let Some(input) = inputs.get(&stage.id) {
                monitor.attach_input(&stage.id, input.clone());
            }
            let crate::monitor::StageHandles {
                counters,
                tap,
                health,
            } = stage.watched;
            let runtime = Arc::new(StageRuntime {
                id: stage.id.clone(),
                common: stage.common.clone(),
                counters: Arc::clone(&counters),
                tap: tap.clone(),
                health,
                dead_letter: Arc::clone(&dead_letter),
                shutdown: shutdown.subscribe(),
                stats: Arc::clone(&stats),
            });
            let targets = outputs.remove(&stage.id).unwrap_or_default();
            match stage.stage {
                Built::Source(source, config) => {
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
                    let supervised = SupervisedSource {
                        id: stage.id.clone(),
                        mode,
                        config,
                        build: stage.ctx,
                        state: Arc::clone(&self.state),
                        stats: Arc::clone(&stats),
                        counters,
                        tap,
                        out,
                        shutdown: shutdown.clone(),
                        dead_letter: Arc::clone(&dead_letter),
                    };
                    tasks.spawn(supervised.run(source));
                }
                Built::Transform(transform) => {
                    let Some(input) = receivers.remove(&stage.id) else {
                        continue;
                    };
                    tasks.spawn(async move {
                        let output = Output::new(targets).with_tap(runtime.tap.clone());
                        drive_transform(runtime, transform, input, output).await;
                        None
                    });
                }
                Built::Sink(sink, config) => {
                    let Some(input) = receivers.remove(&stage.id) else {
                        continue;
                    };
                    let slot = SinkSlot {
                        sink,
                        config,
                        ctx: stage.ctx,
                    };
                    tasks.spawn(async move {
                        drive_sink(runtime, slot, input).await;
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
        let once_deadline = async {
            match mode {
                RunMode::Once => tokio::time::sleep(self.global.once_timeout).await,
                RunMode::Continuous => std::future::pending().await,
            }
        };
        tokio::pin!(once_deadline);
        let mut once_expired = false;
        monitor.set_phase(Phase::Running);
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
                    monitor.set_phase(Phase::Stopping);
                    deadline = Some(tokio::time::Instant::now() + self.global.shutdown_timeout);
                }
                _ = wait_deadline => {
                    tracing::warn!("shutdown deadline passed; abandoning in-flight records (they will be fetched again)");
                    timed_out = true;
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
                _ = ticker.tick(), if mode == RunMode::Continuous => log_counters(&monitor),
                _ = &mut once_deadline, if !once_expired => {
                    once_expired = true;
                    tracing::warn!(timeout = ?self.global.once_timeout, "once: the run took longer than global.once_timeout; shutting down");
                    stage_errors.push(format!(
                        "global.once_timeout: the run took longer than {:?}; what was not delivered comes again on the next run",
                        self.global.once_timeout
                    ));
                    shutdown.trigger();
                }
            }
        }
        log_counters(&monitor);
        monitor.set_phase(Phase::Stopped);
        RunSummary {
            feeds: RunStats::get(&stats.feeds_polled),
            feeds_failed: RunStats::get(&stats.feeds_failed),
            new_items: RunStats::get(&stats.items_new),
            delivered: RunStats::get(&stats.delivered),
            retried: RunStats::get(&stats.retried),
            rejected: RunStats::get(&stats.rejected),
            tasks_crashed: RunStats::get(&stats.tasks_crashed),
            stage_errors,
            stages: monitor.stages().into_iter().map(|s| s.counters).collect(),
            timed_out,
            scheduler_lag: lag.stop(),
        }
    }
}

/// The counters of every stage, one log line each.
fn log_counters(monitor: &Monitor) {
    for s in monitor.stages() {
        let m = s.counters;
        tracing::info!(
            stage = %m.stage,
            kind = %m.kind,
            received = m.received,
            sent = m.sent,
            dropped = m.dropped,
            errored = m.errored,
            cpu_ms = m.cpu_ms,
            queue = s.queue_depth,
            "stage counters"
        );
    }
}

/// A source's task: runs it, and when it panics, logs and counts the panic and (while the
/// pipeline runs continuously) builds it again from its settings and starts it after a
/// backoff. In `once`, a panic ends the source and is reported as a stage error.
struct SupervisedSource {
    id: String,
    mode: RunMode,
    config: Arc<dyn SourceConfig>,
    build: BuildContext,
    state: Arc<dyn StateStore>,
    stats: Arc<RunStats>,
    counters: Arc<StageCounters>,
    tap: khabar_core_model::Tap,
    out: mpsc::Sender<Record>,
    shutdown: Shutdown,
    dead_letter: Arc<DeadLetter>,
}

impl SupervisedSource {
    fn context(&self) -> SourceContext {
        SourceContext::new(
            self.id.clone(),
            self.mode,
            Arc::clone(&self.state),
            Arc::clone(&self.stats),
            Arc::clone(&self.counters),
            self.out.clone(),
            self.shutdown.subscribe(),
        )
        .with_dead_letters(Arc::clone(&self.dead_letter) as _)
        .with_tap(self.tap.clone())
    }

    fn stopping(&self) -> bool {
        *self.shutdown.subscribe().borrow()
    }

    async fn pause(&self, wait: std::time::Duration) -> bool {
        let mut stop = self.shutdown.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = stop.wait_for(|s| *s) => false,
        }
    }

    async fn run(self, first: Box<dyn Source>) -> Option<String> {
        use futures_util::FutureExt;
        let mut source = first;
        let mut backoff = std::time::Duration::from_secs(1);
        loop {
            let outcome = std::panic::AssertUnwindSafe(source.run(self.context()))
                .catch_unwind()
                .await;
            let panic = match outcome {
                Ok(Ok(())) => return None,
                Ok(Err(e)) => {
                    tracing::error!(stage = %self.id, error = %e, "source stopped with an error");
                    return Some(format!("sources.{}: {e}", self.id));
                }
                Err(payload) => panic_text(payload.as_ref()),
            };
            RunStats::add(&self.stats.tasks_crashed, 1);
            tracing::error!(stage = %self.id, panic = %panic, restart_in = ?backoff, "source panicked");
            if self.mode == RunMode::Once || self.stopping() {
                return Some(format!("sources.{}: panicked: {panic}", self.id));
            }
            source = loop {
                if !self.pause(backoff).await {
                    return Some(format!("sources.{}: panicked: {panic}", self.id));
                }
                backoff = (backoff * 2).min(std::time::Duration::from_secs(300));
                match self.config.build(&self.build).await {
                    Ok(rebuilt) => break rebuilt,
                    Err(e) => {
                        tracing::error!(stage = %self.id, error = %e, "cannot rebuild the source after a panic; trying again")
                    }
                }
            };
        }
    }
}
