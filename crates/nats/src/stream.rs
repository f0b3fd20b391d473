//! NATS JetStream, to spread a pipeline over machines: the `nats` sink publishes records
//! (deduplicated by the server on `Nats-Msg-Id` = record id), the `nats` source consumes them
//! through a durable pull consumer shared by any number of workers, acknowledging a message
//! only when every sink downstream delivered its record.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, AckKind};
use async_trait::async_trait;
use futures_util::StreamExt;
use khabar_core_model::{
    Article, BuildContext, Outcome, RunMode, Sink, SinkConfig, Source, SourceConfig, SourceContext,
    StageError,
};
use serde::Deserialize;
use tokio::task::JoinSet;

fn default_url() -> String {
    "nats://127.0.0.1:4222".to_string()
}
fn default_stream() -> String {
    "KHABAR".to_string()
}
fn default_subject() -> String {
    "khabar.articles".to_string()
}
fn default_true() -> bool {
    true
}
fn default_duplicate_window() -> Duration {
    Duration::from_secs(120)
}

async fn connect(url: &str) -> Result<(async_nats::Client, jetstream::Context), StageError> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| {
            StageError::config(format!("field `url`: cannot connect to {url}")).with_cause(e)
        })?;
    Ok((client.clone(), jetstream::new(client)))
}

/// How much of the stream the server keeps. Without limits every record (with its page) would
/// stay on the server's disk for ever; past either limit the oldest messages go first, so a
/// worker that lags by more than this loses them (they are fetched again on a later poll only
/// if their feed still lists them).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Retention {
    max_age: Duration,
    max_bytes: i64,
}

async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
    subject: &str,
    duplicate_window: Duration,
    retention: Retention,
    create: bool,
) -> Result<jetstream::stream::Stream, StageError> {
    if !create {
        return js.get_stream(name).await.map_err(|e| {
            StageError::config(format!(
                "field `stream`: {name:?} (set create_stream = true to create it)"
            ))
            .with_cause(e)
        });
    }
    let wanted = jetstream::stream::Config {
        name: name.to_string(),
        subjects: vec![subject.to_string()],
        duplicate_window,
        max_age: retention.max_age,
        max_bytes: retention.max_bytes,
        ..Default::default()
    };
    let mut stream = js.get_or_create_stream(wanted.clone()).await.map_err(|e| {
        StageError::config(format!("field `stream`: cannot create {name:?}")).with_cause(e)
    })?;
    // A stream made by an earlier version (or by hand) keeps its limits until told otherwise.
    let current = stream
        .info()
        .await
        .map_err(|e| StageError::config(format!("field `stream`: {name:?}")).with_cause(e))?
        .config
        .clone();
    if current.max_age != retention.max_age || current.max_bytes != retention.max_bytes {
        let updated = jetstream::stream::Config {
            max_age: retention.max_age,
            max_bytes: retention.max_bytes,
            ..current
        };
        js.update_stream(updated).await.map_err(|e| {
            StageError::config(format!(
                "field `max_age`/`max_bytes`: cannot set the limits of stream {name:?}"
            ))
            .with_cause(e)
        })?;
        tracing::info!(stream = name, max_age = ?retention.max_age, max_bytes = retention.max_bytes, "stream retention limits updated");
    }
    Ok(stream)
}

fn retention_problems(max_age: Duration, max_bytes: i64) -> Vec<String> {
    let mut problems = Vec::new();
    if max_age < Duration::from_secs(60) {
        problems.push("field `max_age`: at least 1m".to_string());
    }
    if max_age > Duration::from_secs(10 * 365 * 24 * 3600) {
        problems.push("field `max_age`: at most 10 years".to_string());
    }
    if max_bytes < 1 << 20 {
        problems.push("field `max_bytes`: at least 1048576 (1 MiB)".to_string());
    }
    problems
}

fn default_max_age() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_max_bytes() -> i64 {
    8 << 30
}

fn check_names(stream: &str, subject: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if stream.is_empty() || stream.contains(['.', ' ', '*', '>']) {
        problems.push(format!(
            "field `stream`: {stream:?} may not be empty or contain '.', '*', '>' or spaces"
        ));
    }
    if subject.is_empty() || subject.contains(' ') {
        problems.push(format!(
            "field `subject`: {subject:?} may not be empty or contain spaces"
        ));
    }
    problems
}

/// `[sinks.<id>] type = "nats"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkConfig {
    #[serde(default = "default_url")]
    pub url: String,
    #[serde(default = "default_stream")]
    pub stream: String,
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Create the stream (with `subject`) when it does not exist.
    #[serde(default = "default_true")]
    pub create_stream: bool,
    /// How long the server remembers message ids to drop republished records.
    #[serde(
        default = "default_duplicate_window",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub duplicate_window: Duration,
    /// Send the raw page (workers downstream usually need it to normalize).
    #[serde(default = "default_true")]
    pub include_html: bool,
    /// Messages older than this are removed from the stream (when this stage creates it).
    #[serde(
        default = "default_max_age",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub max_age: Duration,
    /// The most the stream keeps on the server's disk; the oldest messages go first.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: i64,
}

#[async_trait]
impl SinkConfig for NatsSinkConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = check_names(&self.stream, &self.subject);
        problems.extend(retention_problems(self.max_age, self.max_bytes));
        problems
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let (_, js) = connect(&self.url).await?;
        ensure_stream(
            &js,
            &self.stream,
            &self.subject,
            self.duplicate_window,
            Retention {
                max_age: self.max_age,
                max_bytes: self.max_bytes,
            },
            self.create_stream,
        )
        .await?;
        Ok(Box::new(NatsSink {
            js,
            config: self.clone(),
        }))
    }
}

struct NatsSink {
    js: jetstream::Context,
    config: NatsSinkConfig,
}

#[async_trait]
impl Sink for NatsSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        let mut pending = Vec::with_capacity(batch.len());
        for article in batch {
            let payload = article.to_json(self.config.include_html);
            let bytes = match serde_json::to_vec(&payload) {
                Ok(b) => b,
                Err(e) => {
                    pending.push(Err(StageError::permanent(format!(
                        "cannot serialize record: {e}"
                    ))));
                    continue;
                }
            };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", article.id.as_str());
            let sent = self
                .js
                .publish_with_headers(self.config.subject.clone(), headers, bytes.into())
                .await
                .map_err(|e| StageError::transient("nats publish").with_cause(e));
            pending.push(sent);
        }
        let mut results = Vec::with_capacity(batch.len());
        for item in pending {
            results.push(match item {
                // Delivered only once the server has acknowledged (and stored) the message.
                Ok(ack) => ack
                    .await
                    .map(|_| ())
                    .map_err(|e| StageError::transient("nats publish ack").with_cause(e)),
                Err(e) => Err(e),
            });
        }
        results
    }
}

/// `[sources.<id>] type = "nats"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSourceConfig {
    #[serde(default = "default_url")]
    pub url: String,
    #[serde(default = "default_stream")]
    pub stream: String,
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The durable consumer all workers share.
    #[serde(default = "default_consumer")]
    pub consumer: String,
    #[serde(default = "default_true")]
    pub create_stream: bool,
    /// The stream's limits when this stage creates it (see the sink's).
    #[serde(
        default = "default_max_age",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub max_age: Duration,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: i64,
    /// Messages handed out and not yet acknowledged, across all workers.
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: i64,
    /// How long the server waits for an acknowledgement before handing a message to another
    /// worker (a worker that died).
    #[serde(
        default = "default_ack_wait",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub ack_wait: Duration,
    /// Deliveries after which a record that keeps coming back for a retry goes to the
    /// dead-letter file.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i64,
    /// Delay before a record that must be retried is delivered again.
    #[serde(
        default = "default_retry_delay",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub retry_delay: Duration,
    /// In `khabar once`: stop after this long without messages.
    #[serde(
        default = "default_idle",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub idle_timeout: Duration,
}

fn default_consumer() -> String {
    "khabar-workers".to_string()
}
fn default_max_ack_pending() -> i64 {
    256
}
fn default_max_attempts() -> i64 {
    5
}
fn default_ack_wait() -> Duration {
    Duration::from_secs(300)
}
fn default_retry_delay() -> Duration {
    Duration::from_secs(30)
}
fn default_idle() -> Duration {
    Duration::from_secs(2)
}

#[async_trait]
impl SourceConfig for NatsSourceConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = check_names(&self.stream, &self.subject);
        if self.consumer.is_empty() || self.consumer.contains(['.', ' ', '*', '>']) {
            problems.push(format!(
                "field `consumer`: {:?} may not be empty or contain '.', '*', '>' or spaces",
                self.consumer
            ));
        }
        if self.max_ack_pending < 1 {
            problems.push("field `max_ack_pending`: at least 1".to_string());
        }
        if !(1..=1000).contains(&self.max_attempts) {
            problems.push(format!(
                "field `max_attempts`: {} is out of range (1 to 1000)",
                self.max_attempts
            ));
        }
        problems.extend(retention_problems(self.max_age, self.max_bytes));
        problems
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Source>, StageError> {
        let (client, js) = connect(&self.url).await?;
        let stream = ensure_stream(
            &js,
            &self.stream,
            &self.subject,
            default_duplicate_window(),
            Retention {
                max_age: self.max_age,
                max_bytes: self.max_bytes,
            },
            self.create_stream,
        )
        .await?;
        let consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(
                &self.consumer,
                pull::Config {
                    durable_name: Some(self.consumer.clone()),
                    filter_subject: self.subject.clone(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.ack_wait,
                    max_ack_pending: self.max_ack_pending,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| {
                StageError::config(format!("field `consumer`: {:?}", self.consumer)).with_cause(e)
            })?;
        Ok(Box::new(NatsSource {
            client,
            consumer,
            config: self.clone(),
        }))
    }
}

struct NatsSource {
    client: async_nats::Client,
    consumer: jetstream::consumer::PullConsumer,
    config: NatsSourceConfig,
}

/// Settles a message by its record's outcome: ack, nak with delay, or term.
/// A record that comes back for a retry on its `max_attempts`-th delivery goes to the
/// dead-letter file and is terminated, instead of circling between workers for ever.
async fn settle(
    ctx: Arc<SourceContext>,
    message: jetstream::Message,
    article: Article,
    receiver: khabar_core_model::AckReceiver,
    retry_delay: Duration,
    max_attempts: i64,
) {
    let resolution = receiver.resolution().await;
    let deliveries = message.info().map(|info| info.delivered).unwrap_or(1);
    let sent = match resolution.outcome {
        // Confirmed by the server, so a delivered record is not handed out again.
        Outcome::Delivered => message.double_ack().await,
        Outcome::Retry if deliveries >= max_attempts && !ctx.is_shutting_down() => {
            let reason = format!(
                "not delivered after {deliveries} deliveries; last reason: {}",
                resolution.reason.as_deref().unwrap_or("")
            );
            tracing::warn!(source = %ctx.id, id = %article.id, reason, "record out of attempts; written to the dead-letter file");
            ctx.dead_letter(&article, &reason);
            message.ack_with(AckKind::Term).await
        }
        Outcome::Retry => message.ack_with(AckKind::Nak(Some(retry_delay))).await,
        // Already in the dead-letter file; handing it out again would fail again.
        Outcome::Rejected => message.ack_with(AckKind::Term).await,
    };
    if let Err(e) = sent {
        // Unacknowledged, the server hands it out again after ack_wait: at-least-once holds.
        tracing::warn!(error = %e, "cannot acknowledge a NATS message");
    }
}

#[async_trait]
impl Source for NatsSource {
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<(), StageError> {
        let ctx = Arc::new(ctx);
        let mut settling = JoinSet::new();
        let batch = usize::try_from(self.config.max_ack_pending)
            .unwrap_or(256)
            .clamp(1, 512);
        loop {
            if ctx.is_shutting_down() {
                break;
            }
            let fetch = self
                .consumer
                .fetch()
                .max_messages(batch)
                .expires(self.config.idle_timeout)
                .messages();
            let mut messages = tokio::select! {
                m = fetch => m.map_err(|e| StageError::transient("nats fetch").with_cause(e))?,
                _ = ctx.shutdown_requested() => break,
            };
            let mut got = 0usize;
            while let Some(message) = messages.next().await {
                let message = match message {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(source = %ctx.id, error = %e, "nats message error");
                        continue;
                    }
                };
                got += 1;
                let article: Article = match serde_json::from_slice(&message.payload) {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::error!(source = %ctx.id, subject = %message.subject, error = %e, "not a Khabar record; terminated");
                        let _ = message.ack_with(AckKind::Term).await;
                        continue;
                    }
                };
                let receiver = ctx.emit(article.clone()).await?;
                settling.spawn(settle(
                    Arc::clone(&ctx),
                    message,
                    article,
                    receiver,
                    self.config.retry_delay,
                    self.config.max_attempts,
                ));
                while settling.try_join_next().is_some() {}
            }
            if got == 0 && ctx.mode == RunMode::Once {
                break;
            }
        }
        // Acknowledge what is still in flight before stopping, and make sure the server has
        // the acknowledgements (the client buffers them).
        while settling.join_next().await.is_some() {}
        if let Err(e) = self.client.flush().await {
            tracing::warn!(source = %ctx.id, error = %e, "cannot flush acknowledgements to NATS; unacknowledged messages come again after ack_wait");
        }
        Ok(())
    }
}
