//! The loops that drive transforms and sinks: concurrency, retries, acknowledgements.

use std::sync::Arc;
use std::time::Duration;

use khabar_core_model::{
    Ack, Article, BuildContext, Record, RunStats, Sink, SinkConfig, StageCounters, StageError, Tap,
    Transform, Verdict,
};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use crate::dead_letter::DeadLetter;
use crate::metrics::names;
use crate::monitor::StageHealth;
use crate::validate::Common;

/// Where a stage's records go: every consumer gets its own clone (the clones share the ack).
#[derive(Clone)]
pub(crate) struct Output {
    targets: Vec<mpsc::Sender<Record>>,
    tap: Option<Tap>,
}

impl Output {
    pub(crate) fn new(targets: Vec<mpsc::Sender<Record>>) -> Output {
        Output { targets, tap: None }
    }

    /// Offers every record sent to the watchers of `tap`.
    pub(crate) fn with_tap(mut self, tap: Tap) -> Output {
        self.tap = Some(tap);
        self
    }

    /// Waits while a consumer is full. A consumer that is gone drops its clone, which settles
    /// it as `Retry`: the source will emit it again.
    pub(crate) async fn send(&self, record: Record) {
        if let Some(tap) = &self.tap {
            tap.offer(&record.article);
        }
        let Some((last, rest)) = self.targets.split_last() else {
            record.ack.delivered();
            return;
        };
        for target in rest {
            let _ = target.send(record.clone()).await;
        }
        let _ = last.send(record).await;
    }
}

/// Shared by every driver of a stage.
pub(crate) struct StageRuntime {
    pub(crate) id: String,
    pub(crate) common: Common,
    pub(crate) counters: Arc<StageCounters>,
    /// Where the records the stage passes on are offered to watchers.
    pub(crate) tap: Tap,
    /// The stage's last failure to write, for `/ready`.
    pub(crate) health: Arc<StageHealth>,
    pub(crate) dead_letter: Arc<DeadLetter>,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The run's totals (panics caught are counted in `tasks_crashed`).
    pub(crate) stats: Arc<RunStats>,
}

impl StageRuntime {
    fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Sleeps, unless shutdown comes first; returns false on shutdown.
    async fn pause(&self, duration: Duration) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(duration) => true,
            _ = shutdown.wait_for(|stop| *stop) => false,
        }
    }

    fn reject(&self, error: &StageError, article: &Article, ack: Ack) {
        StageCounters::add(&self.counters.errored, 1);
        let reason = format!("{}: {error}", self.id);
        self.dead_letter
            .write(&self.id, &error.to_string(), article);
        ack.reject(reason);
    }
}

/// Forwards a source's records to several consumers.
pub(crate) async fn fan_out(mut input: mpsc::Receiver<Record>, output: Output) {
    while let Some(record) = input.recv().await {
        output.send(record).await;
    }
}

pub(crate) async fn drive_transform(
    stage: Arc<StageRuntime>,
    transform: Arc<dyn Transform>,
    mut input: mpsc::Receiver<Record>,
    output: Output,
) {
    let permits = Arc::new(Semaphore::new(stage.common.max_in_flight));
    let cpu_bound = transform.cpu_bound();
    let mut tasks = JoinSet::new();
    while let Some(record) = input.recv().await {
        StageCounters::add(&stage.counters.received, 1);
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let (stage, transform, output) =
            (Arc::clone(&stage), Arc::clone(&transform), output.clone());
        tasks.spawn(async move {
            process_one(&stage, &transform, cpu_bound, record, &output).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// The text of a caught panic.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// What became of one call of `process`.
enum Attempt {
    Finished(Article, Result<Verdict, StageError>),
    Panicked(Article, String),
    /// The blocking task was cancelled (the runtime is stopping): the record is abandoned like
    /// any in-flight one, and its source emits it again.
    Abandoned(String),
}

/// One call of `process`: on a blocking thread when the stage computes (so the async workers
/// stay free for polling and I/O), with a panic caught either way.
async fn attempt(
    stage: &StageRuntime,
    transform: &Arc<dyn Transform>,
    cpu_bound: bool,
    mut article: Article,
) -> Attempt {
    use futures_util::FutureExt;
    if !cpu_bound {
        let process =
            crate::cpu::Timed::new(&stage.counters.cpu_nanos, transform.process(&mut article));
        let outcome = std::panic::AssertUnwindSafe(process).catch_unwind().await;
        return match outcome {
            Ok(result) => Attempt::Finished(article, result),
            Err(payload) => Attempt::Panicked(article, panic_text(payload.as_ref())),
        };
    }
    let transform = Arc::clone(transform);
    let counters = Arc::clone(&stage.counters);
    let handle = tokio::runtime::Handle::current();
    let joined = tokio::task::spawn_blocking(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::cpu::timed(&counters.cpu_nanos, || {
                handle.block_on(transform.process(&mut article))
            })
        }));
        match outcome {
            Ok(result) => Attempt::Finished(article, result),
            Err(payload) => Attempt::Panicked(article, panic_text(payload.as_ref())),
        }
    })
    .await;
    joined.unwrap_or_else(|e| Attempt::Abandoned(e.to_string()))
}

async fn process_one(
    stage: &StageRuntime,
    transform: &Arc<dyn Transform>,
    cpu_bound: bool,
    record: Record,
    output: &Output,
) {
    let Record { mut article, ack } = record;
    let mut attempts: usize = 0;
    loop {
        let outcome = match attempt(stage, transform, cpu_bound, article).await {
            Attempt::Finished(returned, result) => {
                article = returned;
                Ok(result)
            }
            Attempt::Panicked(returned, panic) => {
                article = returned;
                Err(panic)
            }
            Attempt::Abandoned(why) => {
                ack.retry(format!("{}: abandoned: {why}", stage.id));
                return;
            }
        };
        match outcome {
            Ok(Ok(Verdict::Keep)) => {
                StageCounters::add(&stage.counters.sent, 1);
                output.send(Record { article, ack }).await;
                return;
            }
            Ok(Ok(Verdict::Drop { reason })) => {
                StageCounters::add(&stage.counters.dropped, 1);
                tracing::debug!(stage = %stage.id, id = %article.id, reason, "record dropped");
                ack.delivered();
                return;
            }
            Ok(Err(error)) if error.is_transient() => {
                let backoff = stage
                    .common
                    .retry_backoff
                    .saturating_mul(1u32 << attempts.min(16))
                    .min(MAX_RETRY_BACKOFF);
                if attempts < stage.common.retries
                    && !stage.shutting_down()
                    && stage.pause(backoff).await
                {
                    attempts += 1;
                    metrics::counter!(names::RETRIES, "component_id" => stage.id.clone())
                        .increment(1);
                    continue;
                }
                StageCounters::add(&stage.counters.errored, 1);
                tracing::warn!(stage = %stage.id, url = %article.url, error = %error, attempts = attempts + 1, "record will be retried on a later poll");
                ack.retry(format!("{}: {error}", stage.id));
                return;
            }
            Ok(Err(error)) => {
                stage.reject(&error, &article, ack);
                return;
            }
            Err(panic) => {
                // A panic is a bug that this record sets off; trying it again would panic
                // again, so it goes to the dead-letter file and the stage goes on.
                RunStats::add(&stage.stats.tasks_crashed, 1);
                tracing::error!(stage = %stage.id, id = %article.id, url = %article.url, panic = %panic, "the stage panicked on this record; written to the dead-letter file");
                let error = StageError::permanent(format!("the stage panicked: {panic}"));
                stage.reject(&error, &article, ack);
                return;
            }
        }
    }
}

/// The longest wait between two attempts of a transform.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(3600);

/// A caught panic's message.
pub(crate) struct Panicked(String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sink and what it takes to build it again after a panic (its state may be broken: a
/// poisoned lock, a half-written buffer).
pub(crate) struct SinkSlot {
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) config: Arc<dyn SinkConfig>,
    pub(crate) ctx: BuildContext,
}

impl SinkSlot {
    /// `write`, with a panic caught: `Err(message)` when it panicked.
    async fn guarded_write(
        &mut self,
        cpu: &std::sync::atomic::AtomicU64,
        articles: &[Article],
    ) -> Result<Vec<Result<(), StageError>>, Panicked> {
        use futures_util::FutureExt;
        std::panic::AssertUnwindSafe(crate::cpu::Timed::new(cpu, self.sink.write(articles)))
            .catch_unwind()
            .await
            .map_err(|payload| Panicked(panic_text(payload.as_ref())))
    }

    /// Builds the sink again, with backoff, until it works or shutdown is requested.
    async fn rebuild(&mut self, stage: &StageRuntime) -> bool {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.config.build(&self.ctx).await {
                Ok(sink) => {
                    self.sink = sink;
                    tracing::info!(stage = %stage.id, "sink rebuilt after a panic");
                    return true;
                }
                Err(error) => {
                    tracing::error!(stage = %stage.id, error = %error, retry_in = ?backoff, "cannot rebuild the sink after a panic");
                    if !stage.pause(backoff).await {
                        return false;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// Writes a batch. When the sink panics, it is rebuilt and the records are written one
    /// by one, so that the record that sets the panic off goes to the dead-letter file and
    /// the others are delivered.
    async fn write(
        &mut self,
        stage: &StageRuntime,
        articles: &[Article],
    ) -> Vec<Result<(), StageError>> {
        let panic = match self
            .guarded_write(&stage.counters.cpu_nanos, articles)
            .await
        {
            Ok(results) => return results,
            Err(panic) => panic,
        };
        RunStats::add(&stage.stats.tasks_crashed, 1);
        tracing::error!(stage = %stage.id, records = articles.len(), panic = %panic, "the sink panicked; rebuilding it and writing the batch record by record");
        let stopped = || {
            StageError::transient(format!(
                "{}: the sink panicked and shutdown came before it was rebuilt",
                stage.id
            ))
        };
        if !self.rebuild(stage).await {
            return articles.iter().map(|_| Err(stopped())).collect();
        }
        if let [_] = articles {
            return vec![Err(StageError::permanent(format!(
                "the sink panicked on this record: {panic}"
            )))];
        }
        let mut results = Vec::with_capacity(articles.len());
        for article in articles {
            match self
                .guarded_write(&stage.counters.cpu_nanos, std::slice::from_ref(article))
                .await
            {
                Ok(mut one) if one.len() == 1 => results.push(one.remove(0)),
                Ok(other) => results.push(Err(StageError::transient(format!(
                    "sink returned {} results for 1 record",
                    other.len()
                )))),
                Err(panic) => {
                    RunStats::add(&stage.stats.tasks_crashed, 1);
                    tracing::error!(stage = %stage.id, id = %article.id, panic = %panic, "the sink panicked on this record");
                    results.push(Err(StageError::permanent(format!(
                        "the sink panicked on this record: {panic}"
                    ))));
                    if !self.rebuild(stage).await {
                        // The rest cannot be written by a broken sink: they are retried.
                        break;
                    }
                }
            }
        }
        results.truncate(articles.len());
        while results.len() < articles.len() {
            results.push(Err(stopped()));
        }
        results
    }
}

pub(crate) async fn drive_sink(
    stage: Arc<StageRuntime>,
    mut slot: SinkSlot,
    mut input: mpsc::Receiver<Record>,
) {
    let mut open = true;
    while open {
        let Some(first) = input.recv().await else {
            break;
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + stage.common.batch_timeout;
        while batch.len() < stage.common.batch_size {
            match tokio::time::timeout_at(deadline, input.recv()).await {
                Ok(Some(record)) => batch.push(record),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        StageCounters::add(&stage.counters.received, batch.len() as u64);
        deliver(&stage, &mut slot, batch).await;
    }
    if let Err(error) = slot.sink.flush().await {
        tracing::error!(stage = %stage.id, error = %error, "sink flush failed");
    }
}

/// Writes a batch, writing transient failures again with capped exponential backoff until
/// they succeed or shutdown is requested.
async fn deliver(stage: &StageRuntime, slot: &mut SinkSlot, batch: Vec<Record>) {
    let (mut articles, mut acks): (Vec<Article>, Vec<Ack>) =
        batch.into_iter().map(|r| (r.article, r.ack)).unzip();
    let mut backoff = Duration::from_millis(200);
    let labels = [("component_id", stage.id.clone())];
    loop {
        metrics::histogram!(names::SINK_BATCH_SIZE, &labels).record(articles.len() as f64);
        let started = std::time::Instant::now();
        let mut results = slot.write(stage, &articles).await;
        metrics::histogram!(names::SINK_WRITE_SECONDS, &labels)
            .record(started.elapsed().as_secs_f64());
        if results.len() != articles.len() {
            let message = format!(
                "sink returned {} results for {} records",
                results.len(),
                articles.len()
            );
            results = articles
                .iter()
                .map(|_| Err(StageError::transient(message.clone())))
                .collect();
        }
        let mut again_articles = Vec::new();
        let mut again_acks = Vec::new();
        let mut last_error = None;
        for ((article, ack), result) in articles.into_iter().zip(acks).zip(results) {
            match result {
                Ok(()) => {
                    StageCounters::add(&stage.counters.sent, 1);
                    stage.tap.offer(&article);
                    ack.delivered();
                }
                Err(error) if error.is_transient() => {
                    last_error = Some(error);
                    again_articles.push(article);
                    again_acks.push(ack);
                }
                Err(error) => stage.reject(&error, &article, ack),
            }
        }
        if again_acks.is_empty() {
            stage.health.succeeded();
            return;
        }
        let error = last_error.map(|e| e.to_string()).unwrap_or_default();
        stage.health.failed(&error);
        metrics::counter!(names::RETRIES, &labels).increment(1);
        tracing::warn!(stage = %stage.id, records = again_acks.len(), error, retry_in = ?backoff, "sink write failed; retrying");
        if stage.shutting_down() || !stage.pause(backoff).await {
            StageCounters::add(&stage.counters.errored, again_acks.len() as u64);
            for ack in again_acks {
                ack.retry(format!("{}: {error} (shutdown before retry)", stage.id));
            }
            return;
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
        articles = again_articles;
        acks = again_acks;
    }
}
