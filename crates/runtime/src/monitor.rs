//! What a running pipeline shows to whoever watches it: the HTTP API's `/metrics`, `/ready`
//! and tap, `khabar top`. Watching never blocks the pipeline: counters are atomics read at
//! any moment, queue depths are read from the channels, taps drop for slow viewers.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use khabar_core_model::{Record, RunStats, StageCounters, StageKind, StateStore, Tap};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::metrics::{names, StageMetrics};

/// Where the pipeline is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Stages are being built (a gazetteer loading, a database connecting).
    Building,
    Running,
    /// Shutdown was asked for: sources stopped, the rest drains.
    Stopping,
    Stopped,
}

/// The last failure of a stage that talks to something outside (a sink's database), cleared
/// by the next success: what `/ready` reports as unreachable.
#[derive(Default)]
pub(crate) struct StageHealth {
    last_error: Mutex<Option<(String, SystemTime)>>,
}

impl StageHealth {
    pub(crate) fn failed(&self, error: &str) {
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = Some((error.to_string(), SystemTime::now()));
        }
    }

    pub(crate) fn succeeded(&self) {
        if let Ok(mut slot) = self.last_error.lock() {
            if slot.is_some() {
                *slot = None;
            }
        }
    }

    fn current(&self) -> Option<(String, SystemTime)> {
        self.last_error.lock().ok().and_then(|slot| slot.clone())
    }
}

/// The handles a stage's drivers update.
pub(crate) struct StageHandles {
    pub(crate) counters: Arc<StageCounters>,
    pub(crate) tap: Tap,
    pub(crate) health: Arc<StageHealth>,
}

struct StageEntry {
    id: String,
    kind: StageKind,
    type_name: String,
    counters: Arc<StageCounters>,
    tap: Tap,
    health: Arc<StageHealth>,
    /// The stage's input channel (sources have none). Weak, so that watching never keeps a
    /// channel open after its producers finished.
    input: Option<mpsc::WeakSender<Record>>,
}

/// One stage as seen from outside at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageStatus {
    #[serde(flatten)]
    pub counters: StageMetrics,
    /// The stage's `type` in the config.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Records waiting in the stage's input channel, and how many it holds.
    pub queue_depth: Option<usize>,
    pub queue_capacity: Option<usize>,
    /// The stage's last failure to reach what it writes to, while it lasts.
    pub last_error: Option<String>,
    /// `khabar tap` clients watching the stage now.
    pub tap_watchers: usize,
}

/// The run's totals at one moment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    pub feeds_polled: u64,
    pub feeds_failed: u64,
    pub items_new: u64,
    pub delivered: u64,
    pub retried: u64,
    pub rejected: u64,
    pub tasks_crashed: u64,
}

/// Everything `khabar top` draws: the phase, the totals and each stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub phase: Phase,
    pub uptime_seconds: f64,
    pub totals: Totals,
    pub stages: Vec<StageStatus>,
}

/// One check of `/ready`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// What is wrong, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Whether the pipeline can do its work, and every check that says so.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub phase: Phase,
    pub checks: Vec<Check>,
}

struct Inner {
    started: Instant,
    phase: RwLock<Phase>,
    stages: RwLock<Vec<StageEntry>>,
    stats: RwLock<Option<Arc<RunStats>>>,
    state: RwLock<Option<Arc<dyn StateStore>>>,
}

/// A handle on a pipeline for watchers. Cloneable; made before the pipeline is built (so the
/// API answers `/health` while stages load) and filled in as it builds and runs.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor::new()
    }
}

/// How long `/ready` waits for the state store to take a write.
const STATE_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

impl Monitor {
    pub fn new() -> Monitor {
        Monitor {
            inner: Arc::new(Inner {
                started: Instant::now(),
                phase: RwLock::new(Phase::Building),
                stages: RwLock::new(Vec::new()),
                stats: RwLock::new(None),
                state: RwLock::new(None),
            }),
        }
    }

    pub fn phase(&self) -> Phase {
        self.inner
            .phase
            .read()
            .map(|p| *p)
            .unwrap_or(Phase::Stopped)
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        if let Ok(mut current) = self.inner.phase.write() {
            *current = phase;
        }
    }

    pub(crate) fn set_state(&self, state: Arc<dyn StateStore>) {
        if let Ok(mut slot) = self.inner.state.write() {
            *slot = Some(state);
        }
    }

    pub(crate) fn set_stats(&self, stats: Arc<RunStats>) {
        if let Ok(mut slot) = self.inner.stats.write() {
            *slot = Some(stats);
        }
    }

    /// Adds a stage (a pipeline registers each of its stages once, as it builds them) and
    /// gives the handles the stage's drivers update.
    pub(crate) fn register(&self, id: &str, kind: StageKind, type_name: &str) -> StageHandles {
        let handles = StageHandles {
            counters: Arc::new(StageCounters::default()),
            tap: Tap::default(),
            health: Arc::new(StageHealth::default()),
        };
        if let Ok(mut stages) = self.inner.stages.write() {
            stages.retain(|s| s.id != id);
            stages.push(StageEntry {
                id: id.to_string(),
                kind,
                type_name: type_name.to_string(),
                counters: Arc::clone(&handles.counters),
                tap: handles.tap.clone(),
                health: Arc::clone(&handles.health),
                input: None,
            });
        }
        handles
    }

    /// Gives stage `id` the input channel whose depth it reports.
    pub(crate) fn attach_input(&self, id: &str, input: mpsc::WeakSender<Record>) {
        if let Ok(mut stages) = self.inner.stages.write() {
            if let Some(stage) = stages.iter_mut().find(|s| s.id == id) {
                stage.input = Some(input);
            }
        }
    }

    /// The tap of stage `id`, when the pipeline has that stage.
    pub fn tap(&self, id: &str) -> Option<Tap> {
        let stages = self.inner.stages.read().ok()?;
        stages.iter().find(|s| s.id == id).map(|s| s.tap.clone())
    }

    /// The ids of the stages, sources first, in the order they were built.
    pub fn stage_ids(&self) -> Vec<String> {
        self.inner
            .stages
            .read()
            .map(|stages| stages.iter().map(|s| s.id.clone()).collect())
            .unwrap_or_default()
    }

    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    pub fn totals(&self) -> Totals {
        let Some(stats) = self.inner.stats.read().ok().and_then(|s| s.clone()) else {
            return Totals::default();
        };
        Totals {
            feeds_polled: RunStats::get(&stats.feeds_polled),
            feeds_failed: RunStats::get(&stats.feeds_failed),
            items_new: RunStats::get(&stats.items_new),
            delivered: RunStats::get(&stats.delivered),
            retried: RunStats::get(&stats.retried),
            rejected: RunStats::get(&stats.rejected),
            tasks_crashed: RunStats::get(&stats.tasks_crashed),
        }
    }

    pub fn stages(&self) -> Vec<StageStatus> {
        let Ok(stages) = self.inner.stages.read() else {
            return Vec::new();
        };
        stages
            .iter()
            .map(|s| {
                let channel = s.input.as_ref().and_then(|weak| weak.upgrade());
                StageStatus {
                    counters: StageMetrics::read(&s.id, s.kind, &s.counters),
                    type_name: s.type_name.clone(),
                    queue_depth: channel
                        .as_ref()
                        .map(|tx| tx.max_capacity().saturating_sub(tx.capacity())),
                    queue_capacity: channel.as_ref().map(|tx| tx.max_capacity()),
                    last_error: s.health.current().map(|(error, _)| error),
                    tap_watchers: s.tap.watchers(),
                }
            })
            .collect()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            phase: self.phase(),
            uptime_seconds: self.uptime().as_secs_f64(),
            totals: self.totals(),
            stages: self.stages(),
        }
    }

    /// Every stage built, every sink's last write through, the state store taking a write.
    pub async fn readiness(&self) -> Readiness {
        let phase = self.phase();
        let mut checks = vec![Check {
            name: "stages built".into(),
            ok: matches!(phase, Phase::Running),
            problem: match phase {
                Phase::Running => None,
                Phase::Building => Some("the stages are still being built".into()),
                Phase::Stopping => Some("the pipeline is shutting down".into()),
                Phase::Stopped => Some("the pipeline has stopped".into()),
            },
        }];
        let sinks: Vec<(String, Option<(String, SystemTime)>)> = self
            .inner
            .stages
            .read()
            .map(|stages| {
                stages
                    .iter()
                    .filter(|s| s.kind == StageKind::Sink)
                    .map(|s| (s.id.clone(), s.health.current()))
                    .collect()
            })
            .unwrap_or_default();
        for (id, failure) in sinks {
            checks.push(Check {
                name: format!("sinks.{id} reachable"),
                ok: failure.is_none(),
                problem: failure.map(|(error, since)| {
                    let ago = since.elapsed().unwrap_or_default().as_secs();
                    format!("the last write failed {ago} s ago: {error}")
                }),
            });
        }
        let state = self.inner.state.read().ok().and_then(|s| s.clone());
        checks.push(match state {
            None => Check {
                name: "state store writable".into(),
                ok: false,
                problem: Some("the state store is not open yet".into()),
            },
            Some(state) => {
                let stamp = chrono::Utc::now().to_rfc3339();
                let probe = state.put(READY_NAMESPACE, "probe", stamp.as_bytes());
                let problem = match tokio::time::timeout(STATE_PROBE_TIMEOUT, probe).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("a write failed: {e}")),
                    Err(_) => Some(format!(
                        "a write took longer than {} s",
                        STATE_PROBE_TIMEOUT.as_secs()
                    )),
                };
                Check {
                    name: "state store writable".into(),
                    ok: problem.is_none(),
                    problem,
                }
            }
        });
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            phase,
            checks,
        }
    }

    /// Sets the metrics that are read rather than counted as they happen (per-stage
    /// counters, queue depths, totals, process figures) in the installed `metrics` recorder;
    /// the exporter renders them with those counted where they happen. Called before each
    /// scrape.
    pub fn publish_metrics(&self) {
        for stage in self.stages() {
            let c = &stage.counters;
            let labels = [
                ("component_id", c.stage.clone()),
                ("component_kind", c.kind.clone()),
                ("component_type", stage.type_name.clone()),
            ];
            metrics::counter!(names::RECEIVED, &labels).absolute(c.received);
            metrics::counter!(names::SENT, &labels).absolute(c.sent);
            metrics::counter!(names::DROPPED, &labels).absolute(c.dropped);
            metrics::counter!(names::ERRORED, &labels).absolute(c.errored);
            metrics::counter!(names::CPU_MILLISECONDS, &labels).absolute(c.cpu_ms);
            if let (Some(depth), Some(capacity)) = (stage.queue_depth, stage.queue_capacity) {
                metrics::gauge!(names::QUEUE_DEPTH, &labels).set(depth as f64);
                metrics::gauge!(names::QUEUE_CAPACITY, &labels).set(capacity as f64);
            }
        }
        let totals = self.totals();
        for (outcome, value) in [
            ("delivered", totals.delivered),
            ("retry", totals.retried),
            ("rejected", totals.rejected),
        ] {
            metrics::counter!(names::ACKS, "outcome" => outcome).absolute(value);
        }
        metrics::counter!(names::FEED_POLLS_COMPLETED).absolute(totals.feeds_polled);
        metrics::counter!(names::ITEMS_NEW).absolute(totals.items_new);
        metrics::counter!(names::TASKS_CRASHED).absolute(totals.tasks_crashed);
        metrics::gauge!(names::UPTIME).set(self.uptime().as_secs_f64());
        if let Some(bytes) = resident_bytes() {
            metrics::gauge!(names::RESIDENT_MEMORY).set(bytes as f64);
        }
        metrics::gauge!(names::READY_PHASE)
            .set(f64::from(u8::from(self.phase() == Phase::Running)));
    }
}

/// Where `/ready` writes its probe in the state store.
const READY_NAMESPACE: &str = "khabar#ready";

/// The process's resident set size, from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

impl StageMetrics {
    pub(crate) fn read(id: &str, kind: StageKind, c: &StageCounters) -> StageMetrics {
        StageMetrics {
            stage: id.to_string(),
            kind: kind.singular().to_string(),
            received: c.received.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            errored: c.errored.load(Ordering::Relaxed),
            cpu_ms: c.cpu_nanos.load(Ordering::Relaxed) / 1_000_000,
        }
    }
}
