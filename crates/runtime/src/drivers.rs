//! The loops that drive transforms and sinks: concurrency, retries, acknowledgements.

use std::sync::Arc;
use std::time::Duration;

use khabar_core_model::{
    Ack, Article, Record, Sink, StageCounters, StageError, Transform, Verdict,
};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use crate::dead_letter::DeadLetter;
use crate::validate::Common;

/// Where a stage's records go: every consumer gets its own clone (the clones share the ack).
#[derive(Clone)]
pub(crate) struct Output {
    targets: Vec<mpsc::Sender<Record>>,
}

impl Output {
    pub(crate) fn new(targets: Vec<mpsc::Sender<Record>>) -> Output {
        Output { targets }
    }

    /// Waits while a consumer is full. A consumer that is gone drops its clone, which settles
    /// it as `Retry`: the source will emit it again.
    pub(crate) async fn send(&self, record: Record) {
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
    pub(crate) dead_letter: Arc<DeadLetter>,
    pub(crate) shutdown: watch::Receiver<bool>,
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
    let mut tasks = JoinSet::new();
    while let Some(record) = input.recv().await {
        StageCounters::add(&stage.counters.received, 1);
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let (stage, transform, output) =
            (Arc::clone(&stage), Arc::clone(&transform), output.clone());
        tasks.spawn(async move {
            process_one(&stage, transform.as_ref(), record, &output).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

async fn process_one(
    stage: &StageRuntime,
    transform: &dyn Transform,
    record: Record,
    output: &Output,
) {
    let Record { mut article, ack } = record;
    let mut attempt: usize = 0;
    loop {
        match transform.process(&mut article).await {
            Ok(Verdict::Keep) => {
                StageCounters::add(&stage.counters.sent, 1);
                output.send(Record { article, ack }).await;
                return;
            }
            Ok(Verdict::Drop { reason }) => {
                StageCounters::add(&stage.counters.dropped, 1);
                tracing::debug!(stage = %stage.id, id = %article.id, reason, "record dropped");
                ack.delivered();
                return;
            }
            Err(error) if error.is_transient() => {
                let backoff = stage
                    .common
                    .retry_backoff
                    .saturating_mul(1u32 << attempt.min(16));
                if attempt < stage.common.retries
                    && !stage.shutting_down()
                    && stage.pause(backoff).await
                {
                    attempt += 1;
                    continue;
                }
                StageCounters::add(&stage.counters.errored, 1);
                tracing::warn!(stage = %stage.id, url = %article.url, error = %error, attempts = attempt + 1, "record will be retried on a later poll");
                ack.retry(format!("{}: {error}", stage.id));
                return;
            }
            Err(error) => {
                stage.reject(&error, &article, ack);
                return;
            }
        }
    }
}

pub(crate) async fn drive_sink(
    stage: Arc<StageRuntime>,
    mut sink: Box<dyn Sink>,
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
        deliver(&stage, sink.as_mut(), batch).await;
    }
    if let Err(error) = sink.flush().await {
        tracing::error!(stage = %stage.id, error = %error, "sink flush failed");
    }
}

/// Writes a batch, writing transient failures again with capped exponential backoff until
/// they succeed or shutdown is requested.
async fn deliver(stage: &StageRuntime, sink: &mut dyn Sink, batch: Vec<Record>) {
    let (mut articles, mut acks): (Vec<Article>, Vec<Ack>) =
        batch.into_iter().map(|r| (r.article, r.ack)).unzip();
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut results = sink.write(&articles).await;
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
            return;
        }
        let error = last_error.map(|e| e.to_string()).unwrap_or_default();
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
