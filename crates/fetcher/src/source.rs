//! The `feed` source: one polling loop per feed, checkpoints committed only for delivered items.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use khabar_core_model::{
    Article, BuildContext, FeedRef, Outcome, RunMode, RunStats, Source, SourceConfig,
    SourceContext, StageError,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::feed::{parse_feed, FeedItem, ParsedFeed};
use crate::http::{FetchError, Fetcher, HttpOptions, Validators};
use crate::opml::parse_opml;

/// `[sources.<id>] type = "feed"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSourceConfig {
    /// Feed locations: `http(s)://`, `file://`, or a path relative to the config file.
    #[serde(default)]
    pub urls: Vec<String>,
    /// An OPML file whose feeds are polled too (relative to the config file).
    #[serde(default)]
    pub opml: Option<PathBuf>,
    /// Time between two polls of one feed (±10 % jitter so feeds do not fire together).
    #[serde(
        default = "default_interval",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub interval: Duration,
    /// Feeds fetched at the same time.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Item ids remembered per feed, to tell new items from old.
    #[serde(default = "default_max_seen")]
    pub max_seen: usize,
    #[serde(default)]
    pub http: HttpOptions,
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}
fn default_concurrency() -> usize {
    16
}
fn default_max_seen() -> usize {
    10_000
}

#[async_trait]
impl SourceConfig for FeedSourceConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = self.http.problems();
        if self.urls.is_empty() && self.opml.is_none() {
            problems.push("missing field `urls` (or `opml`): the feeds to poll".to_string());
        }
        for (i, location) in self.urls.iter().enumerate() {
            if location.trim().is_empty() {
                problems.push(format!("field `urls[{i}]`: empty"));
            } else if let Ok(url) = url::Url::parse(location.trim()) {
                if !matches!(url.scheme(), "http" | "https" | "file") {
                    problems.push(format!(
                        "field `urls[{i}]`: unsupported scheme {:?} in {location:?}; use http, https or file",
                        url.scheme()
                    ));
                }
            }
        }
        if self.interval < Duration::from_secs(1) {
            problems.push("field `interval`: must be at least 1s".to_string());
        }
        if self.concurrency == 0 {
            problems.push("field `concurrency`: must be at least 1".to_string());
        }
        problems
    }

    async fn build(
        &self,
        ctx: &BuildContext,
    ) -> Result<Box<dyn khabar_core_model::Source>, StageError> {
        let mut feeds = Vec::new();
        for location in &self.urls {
            let url = crate::location_to_url(location, &ctx.config_dir)
                .map_err(|e| StageError::config(format!("field `urls`: {e}")))?;
            feeds.push(url);
        }
        if let Some(opml) = &self.opml {
            let path = ctx.resolve_input(opml);
            let text = std::fs::read(&path).map_err(|e| {
                StageError::config(format!("field `opml`: {}: {e}", path.display()))
            })?;
            let text = crate::decode::decode_xml(&text, None).text;
            let base = path.parent().map(PathBuf::from).unwrap_or_default();
            for entry in parse_opml(&text)
                .map_err(|e| StageError::config(format!("field `opml`: {}: {e}", path.display())))?
            {
                let url = crate::location_to_url(&entry.url, &base).map_err(|e| {
                    StageError::config(format!("field `opml`: {}: {e}", path.display()))
                })?;
                feeds.push(url);
            }
        }
        feeds.dedup();
        let fetcher = Fetcher::new(self.http.clone()).map_err(StageError::config)?;
        Ok(Box::new(FeedSource {
            feeds,
            fetcher,
            interval: self.interval,
            concurrency: self.concurrency,
            max_seen: self.max_seen,
        }))
    }
}

/// What a source remembers of one feed between polls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedCheckpoint {
    #[serde(default)]
    pub validators: Validators,
    /// SHA-256 of the last body whose items were all delivered: an unchanged 200 is a 304.
    #[serde(default)]
    pub body_hash: Option<String>,
    /// Ids of delivered items, oldest first.
    #[serde(default)]
    pub seen: Vec<String>,
    #[serde(default)]
    pub last_success: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub consecutive_errors: u32,
}

struct FeedSource {
    feeds: Vec<url::Url>,
    fetcher: Fetcher,
    interval: Duration,
    concurrency: usize,
    max_seen: usize,
}

struct Shared {
    ctx: SourceContext,
    fetcher: Fetcher,
    permits: Semaphore,
    interval: Duration,
    max_seen: usize,
}

#[async_trait]
impl Source for FeedSource {
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<(), StageError> {
        let shared = Arc::new(Shared {
            ctx,
            fetcher: self.fetcher,
            permits: Semaphore::new(self.concurrency),
            interval: self.interval,
            max_seen: self.max_seen,
        });
        let mut loops = JoinSet::new();
        for feed in self.feeds {
            loops.spawn(feed_loop(Arc::clone(&shared), feed));
        }
        while loops.join_next().await.is_some() {}
        Ok(())
    }
}

async fn feed_loop(shared: Arc<Shared>, feed: url::Url) {
    loop {
        if shared.ctx.is_shutting_down() {
            return;
        }
        poll(&shared, &feed).await;
        if shared.ctx.mode == RunMode::Once {
            return;
        }
        let jitter = 0.9 + fastrand::f64() * 0.2;
        let wait = shared.interval.mul_f64(jitter);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.ctx.shutdown_requested() => return,
        }
    }
}

fn body_hash(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

async fn load_checkpoint(ctx: &SourceContext, feed: &str) -> FeedCheckpoint {
    match ctx.state.get(&ctx.id, feed).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(source = %ctx.id, feed, error = %e, "unreadable checkpoint; starting this feed afresh");
            FeedCheckpoint::default()
        }),
        Ok(None) => FeedCheckpoint::default(),
        Err(e) => {
            tracing::warn!(source = %ctx.id, feed, error = %e, "cannot read checkpoint; starting this feed afresh");
            FeedCheckpoint::default()
        }
    }
}

async fn save_checkpoint(ctx: &SourceContext, feed: &str, checkpoint: &FeedCheckpoint) {
    let result = match serde_json::to_vec(checkpoint) {
        Ok(bytes) => ctx
            .state
            .put(&ctx.id, feed, &bytes)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        // The items will come again next poll; sinks are idempotent, so nothing is lost.
        tracing::error!(source = %ctx.id, feed, error = %e, "cannot save checkpoint");
    }
}

/// Fetches and parses a feed; `Ok(None)` when it has not changed.
async fn fetch(
    shared: &Shared,
    feed: &url::Url,
    checkpoint: &FeedCheckpoint,
) -> Result<Option<(ParsedFeed, Validators, String)>, FetchError> {
    let _permit = shared
        .permits
        .acquire()
        .await
        .map_err(|_| FetchError::Transient("source closing".into()))?;
    let Some(fetched) = shared
        .fetcher
        .get(feed, Some(&checkpoint.validators))
        .await?
    else {
        return Ok(None);
    };
    let hash = body_hash(&fetched.body);
    if checkpoint.body_hash.as_deref() == Some(hash.as_str()) {
        return Ok(None);
    }
    let parsed = parse_feed(
        &fetched.body,
        fetched.content_type.as_deref(),
        &fetched.final_url,
    )
    .map_err(FetchError::Permanent)?;
    Ok(Some((parsed, fetched.validators, hash)))
}

fn item_to_article(source: &str, feed: &url::Url, parsed: &ParsedFeed, item: &FeedItem) -> Article {
    let url = item.url.clone().unwrap_or_default();
    let mut article = Article::new(
        item.id.clone(),
        FeedRef {
            source: source.to_string(),
            url: feed.to_string(),
            title: parsed.title.clone(),
        },
        url,
        Utc::now(),
    );
    article.guid = item.guid.clone();
    article.title = item.title.clone();
    article.summary = item.summary.clone();
    article.authors = item.authors.clone();
    article.published_at = item.published_at;
    article.updated_at = item.updated_at;
    article.tags = item.categories.clone();
    article.language = parsed
        .language
        .as_deref()
        .and_then(|l| l.split(['-', '_']).next())
        .map(|l| l.to_ascii_lowercase())
        .filter(|l| l.len() == 2);
    article
}

async fn poll(shared: &Shared, feed: &url::Url) {
    let ctx = &shared.ctx;
    let key = feed.as_str();
    let mut checkpoint = load_checkpoint(ctx, key).await;
    let fetched = fetch(shared, feed, &checkpoint).await;
    RunStats::add(&ctx.stats.feeds_polled, 1);
    let (parsed, validators, hash) = match fetched {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::debug!(source = %ctx.id, feed = key, "not modified");
            checkpoint.last_success = Some(Utc::now());
            checkpoint.consecutive_errors = 0;
            checkpoint.last_error = None;
            save_checkpoint(ctx, key, &checkpoint).await;
            return;
        }
        Err(e) => {
            RunStats::add(&ctx.stats.feeds_failed, 1);
            tracing::warn!(source = %ctx.id, feed = key, error = %e, "feed poll failed");
            checkpoint.last_error = Some(e.to_string());
            checkpoint.consecutive_errors = checkpoint.consecutive_errors.saturating_add(1);
            save_checkpoint(ctx, key, &checkpoint).await;
            return;
        }
    };

    let seen: std::collections::HashSet<&str> =
        checkpoint.seen.iter().map(String::as_str).collect();
    let new_items: Vec<&FeedItem> = parsed
        .items
        .iter()
        .filter(|i| !seen.contains(i.id.as_str()))
        .collect();
    let mut waiting = Vec::new();
    let mut complete = true;
    for item in new_items {
        if ctx.is_shutting_down() {
            complete = false;
            break;
        }
        match ctx
            .emit(item_to_article(&ctx.id, feed, &parsed, item))
            .await
        {
            Ok(receiver) => waiting.push((item.id.to_string(), receiver)),
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    RunStats::add(&ctx.stats.items_new, waiting.len() as u64);
    tracing::info!(source = %ctx.id, feed = key, items = parsed.items.len(), new = waiting.len(), "feed polled");

    let mut settled = Vec::new();
    for (id, receiver) in waiting {
        let resolution = receiver.resolution().await;
        match resolution.outcome {
            Outcome::Delivered => {
                RunStats::add(&ctx.stats.delivered, 1);
                settled.push(id);
            }
            Outcome::Rejected => {
                // In the dead-letter file with its reason; emitting it again would fail again.
                RunStats::add(&ctx.stats.rejected, 1);
                settled.push(id);
            }
            Outcome::Retry => {
                RunStats::add(&ctx.stats.retried, 1);
                complete = false;
                tracing::info!(source = %ctx.id, feed = key, item = id, reason = resolution.reason.as_deref().unwrap_or(""), "item not delivered; will try again next poll");
            }
        }
    }
    // Re-read: another writer (an import, a concurrent instance) may have changed it.
    let mut checkpoint = load_checkpoint(ctx, key).await;
    checkpoint.seen.extend(settled);
    let mut unique = std::collections::HashSet::new();
    let mut deduped: Vec<String> = checkpoint
        .seen
        .into_iter()
        .rev()
        .filter(|id| unique.insert(id.clone()))
        .collect();
    deduped.truncate(shared.max_seen);
    deduped.reverse();
    checkpoint.seen = deduped;
    if complete {
        // Only a fully delivered poll may move the validators: otherwise a 304 would hide
        // the items still waiting for a retry.
        checkpoint.validators = validators;
        checkpoint.body_hash = Some(hash);
    }
    checkpoint.last_success = Some(Utc::now());
    checkpoint.last_error = None;
    checkpoint.consecutive_errors = 0;
    save_checkpoint(ctx, key, &checkpoint).await;
}
