//! The three kinds of stage and how the runtime drives each.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

use crate::ack::{Ack, AckReceiver};
use crate::article::{Article, Record};
use crate::error::StageError;
use crate::state::StateStore;
use crate::stats::{RunStats, StageCounters};
use crate::tap::Tap;

/// Whether the pipeline runs until told to stop, or for one cycle (`khabar once`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Poll, process and deliver until told to stop (`khabar run`).
    Continuous,
    /// One cycle: poll every feed once, deliver what came, stop (`khabar once`).
    Once,
}

/// Where records that can never be delivered are kept, with their reason, so that nothing
/// vanishes silently. The runtime provides one (a file in `data_dir`).
pub trait DeadLetters: Send + Sync {
    /// Keeps `article` with the stage that gave up on it and why.
    fn write(&self, stage: &str, reason: &str, article: &Article);
}

/// Keeps dead letters in memory: for tests and one-off commands.
#[derive(Default)]
pub struct MemoryDeadLetters {
    letters: std::sync::Mutex<Vec<(String, String, Article)>>,
}

impl MemoryDeadLetters {
    /// Every letter so far: stage, reason, record.
    pub fn letters(&self) -> Vec<(String, String, Article)> {
        match self.letters.lock() {
            Ok(letters) => letters.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl DeadLetters for MemoryDeadLetters {
    fn write(&self, stage: &str, reason: &str, article: &Article) {
        let entry = (stage.to_string(), reason.to_string(), article.clone());
        match self.letters.lock() {
            Ok(mut letters) => letters.push(entry),
            Err(poisoned) => poisoned.into_inner().push(entry),
        }
    }
}

/// What a [`Source`] gets from the runtime: where to send records, where to keep checkpoints,
/// where to put records that ran out of attempts, and when to stop.
pub struct SourceContext {
    /// The source stage's id in the config.
    pub id: String,
    /// Whether to run until shutdown or for one cycle.
    pub mode: RunMode,
    /// The pipeline's state store, for the source's checkpoints (what was delivered).
    pub state: Arc<dyn StateStore>,
    /// Counters of the run, for the summary and the logs.
    pub stats: Arc<RunStats>,
    counters: Arc<StageCounters>,
    out: mpsc::Sender<Record>,
    shutdown: watch::Receiver<bool>,
    dead_letters: Arc<dyn DeadLetters>,
    tap: Option<Tap>,
}

impl SourceContext {
    /// A context for a source outside a pipeline: tests and tools that drive a source by hand.
    pub fn new(
        id: String,
        mode: RunMode,
        state: Arc<dyn StateStore>,
        stats: Arc<RunStats>,
        counters: Arc<StageCounters>,
        out: mpsc::Sender<Record>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        SourceContext {
            id,
            mode,
            state,
            stats,
            counters,
            out,
            shutdown,
            // Kept, at least, until the runtime gives the file it writes.
            dead_letters: Arc::new(MemoryDeadLetters::default()),
            tap: None,
        }
    }

    /// Where the records this source emits are offered to watchers (`khabar tap`).
    pub fn with_tap(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Where this source's records go when their retry budget is spent.
    pub fn with_dead_letters(mut self, dead_letters: Arc<dyn DeadLetters>) -> Self {
        self.dead_letters = dead_letters;
        self
    }

    /// Gives up on a record for good (its retry budget is spent): it goes to the dead-letter
    /// file with `reason`, and counts as rejected.
    pub fn dead_letter(&self, article: &Article, reason: &str) {
        self.dead_letters.write(&self.id, reason, article);
        StageCounters::add(&self.counters.errored, 1);
        RunStats::add(&self.stats.rejected, 1);
    }

    /// Sends an article downstream, waiting while the pipeline is full (backpressure). The
    /// receiver resolves when every sink has settled it. Fails only when the pipeline is gone.
    pub async fn emit(&self, article: Article) -> Result<AckReceiver, StageError> {
        let (ack, receiver) = Ack::new();
        if let Some(tap) = &self.tap {
            tap.offer(&article);
        }
        self.out
            .send(Record { article, ack })
            .await
            .map_err(|_| StageError::transient(format!("source {}: pipeline closed", self.id)))?;
        StageCounters::add(&self.counters.sent, 1);
        Ok(receiver)
    }

    /// True once shutdown has been asked for: stop emitting and return.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves when the runtime asks sources to stop.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the runtime is gone, which is a stop too.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// A stage that produces records: polls feeds, reads a queue.
///
/// How it is driven: the runtime calls [`Source::run`] once, in a task of its own, and the
/// source owns its loop. It sends records with [`SourceContext::emit`] (which waits when the
/// pipeline is full), waits on the returned receivers, and commits its checkpoint to
/// [`SourceContext::state`] only for what was delivered. In [`RunMode::Once`] it does one cycle
/// and returns; otherwise it runs until [`SourceContext::shutdown_requested`]. Returning closes
/// its output, which lets the stages downstream drain and finish.
#[async_trait]
pub trait Source: Send {
    /// Emits records until the input is exhausted (`RunMode::Once`) or shutdown is asked
    /// for; commits each record once its acknowledgement resolves as delivered.
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<(), StageError>;
}

/// What a transform decided about a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the (possibly changed) record on.
    Keep,
    /// Drop it on purpose (a filter, a duplicate): it counts as delivered.
    Drop {
        /// Why, for the logs.
        reason: String,
    },
}

/// A stage that changes records: fetches a page, cleans text, finds entities.
///
/// How it is driven: the runtime calls [`Transform::process`] for each incoming record, up to
/// the stage's `max_in_flight` calls at once (hence `&self` and `Sync`). The transform edits
/// the article in place and returns a [`Verdict`]. A [`StageError`] of kind
/// [`ErrorKind::Transient`](crate::ErrorKind::Transient) makes the runtime call it again with
/// backoff, up to the stage's `retries`, then hands the record back to its source as `Retry`;
/// so leave the article unchanged when you fail. One of kind
/// [`ErrorKind::Permanent`](crate::ErrorKind::Permanent) sends the record to the dead-letter
/// file as rejected. A panic
/// inside `process` is caught: the record goes to the dead-letter file with the panic's
/// message, and the stage goes on with the next one.
///
/// A transform that computes rather than waits (text extraction, entity matching) says so
/// with [`Transform::cpu_bound`]: the runtime then runs its `process` on a blocking thread, so
/// that it never stalls the worker threads that poll feeds and talk to the network.
#[async_trait]
pub trait Transform: Send + Sync {
    /// Changes `article` in place and says whether to keep it.
    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError>;

    /// True when `process` spends its time computing, not waiting.
    fn cpu_bound(&self) -> bool {
        false
    }
}

/// A stage that stores or forwards records: a file, a database, a queue.
///
/// How it is driven: the runtime gathers up to the stage's `batch_size` records (waiting at
/// most `batch_timeout` for a batch to fill) and calls [`Sink::write`] with them, one at a
/// time: a sink is never called concurrently. The sink returns one result per record, in
/// order. Transient failures are written again after backoff until they succeed or the
/// pipeline shuts down; permanent ones go to the dead-letter file. Writes must be idempotent
/// on the record id: after a crash the same records come again. [`Sink::flush`] is called
/// when the input is exhausted, before shutdown completes.
#[async_trait]
pub trait Sink: Send {
    /// Writes a batch; one result per record, in order.
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>>;

    /// Makes everything written so far durable; called when the input ends.
    async fn flush(&mut self) -> Result<(), StageError> {
        Ok(())
    }
}
