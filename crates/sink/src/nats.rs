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
        .map_err(|e| StageError::config(format!("field `url`: cannot connect to {url}: {e}")))?;
    Ok((client.clone(), jetstream::new(client)))
}

async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
    subject: &str,
    duplicate_window: Duration,
    create: bool,
) -> Result<jetstream::stream::Stream, StageError> {
    if create {
        js.get_or_create_stream(jetstream::stream::Config {
            name: name.to_string(),
            subjects: vec![subject.to_string()],
            duplicate_window,
            ..Default::default()
        })
        .await
        .map_err(|e| StageError::config(format!("field `stream`: cannot create {name:?}: {e}")))
    } else {
        js.get_stream(name).await.map_err(|e| {
            StageError::config(format!(
                "field `stream`: {name:?}: {e} (set create_stream = true to create it)"
            ))
        })
    }
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
}

#[async_trait]
impl SinkConfig for NatsSinkConfig {
    fn validate(&self) -> Vec<String> {
        check_names(&self.stream, &self.subject)
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let (_, js) = connect(&self.url).await?;
        ensure_stream(
            &js,
            &self.stream,
            &self.subject,
            self.duplicate_window,
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
            let payload = crate::stdout::record_json(article, self.config.include_html);
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
                .map_err(|e| StageError::transient(format!("nats publish: {e}")));
            pending.push(sent);
        }
        let mut results = Vec::with_capacity(batch.len());
        for item in pending {
            results.push(match item {
                // Delivered only once the server has acknowledged (and stored) the message.
                Ok(ack) => ack
                    .await
                    .map(|_| ())
                    .map_err(|e| StageError::transient(format!("nats publish ack: {e}"))),
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
        problems
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Source>, StageError> {
        let (client, js) = connect(&self.url).await?;
        let stream = ensure_stream(
            &js,
            &self.stream,
            &self.subject,
            default_duplicate_window(),
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
                StageError::config(format!("field `consumer`: {:?}: {e}", self.consumer))
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
async fn settle(
    message: jetstream::Message,
    receiver: khabar_core_model::AckReceiver,
    retry_delay: Duration,
) {
    let resolution = receiver.resolution().await;
    let sent = match resolution.outcome {
        // Confirmed by the server, so a delivered record is not handed out again.
        Outcome::Delivered => message.double_ack().await,
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
                m = fetch => m.map_err(|e| StageError::transient(format!("nats fetch: {e}")))?,
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
                let receiver = ctx.emit(article).await?;
                settling.spawn(settle(message, receiver, self.config.retry_delay));
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
