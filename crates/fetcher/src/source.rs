//! The `feed` and `sitemap` sources: one polling loop per feed, each on its own adaptive
//! schedule; a feed's checkpoint is committed only for items every sink delivered.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use khabar_core_model::{
    Article, BuildContext, FeedRef, Outcome, RunMode, RunStats, Source, SourceConfig,
    SourceContext, StageError, StateStore,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::feed::{parse_feed, FeedError, FeedItem, ParsedFeed};
use crate::http::{FailureKind, FetchError, Fetcher, HttpOptions, Validators};
use crate::opml::{parse_opml, OpmlFeed};
use crate::politeness::Politeness;
use crate::schedule::{Policy, ScheduleState};
use crate::sitemap::{parse_sitemap, Sitemap};

/// `[sources.<id>] type = "feed"` (and `"sitemap"`, which takes the same settings).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSourceConfig {
    /// Feed locations: `http(s)://`, `file://`, or a path relative to the config file. An
    /// HTML page works too: the feed it links to (`<link rel="alternate">`) is polled.
    #[serde(default)]
    pub urls: Vec<String>,
    /// An OPML file whose feeds are polled too (relative to the config file).
    #[serde(default)]
    pub opml: Option<PathBuf>,
    /// Starting interval between two polls of a feed (and the fixed one when not adaptive).
    #[serde(
        default = "default_interval",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub interval: Duration,
    /// Adaptive bounds: busy feeds are polled down to `min_interval`, quiet ones up to
    /// `max_interval`. A feed's `<ttl>`, `Cache-Control: max-age` and `Expires` are floors.
    #[serde(
        default = "default_min_interval",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub min_interval: Duration,
    #[serde(
        default = "default_max_interval",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub max_interval: Duration,
    #[serde(default = "default_true")]
    pub adaptive: bool,
    /// Longest wait after repeated failures (backoff doubles from one minute).
    #[serde(
        default = "default_max_backoff",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub max_backoff: Duration,
    /// Feeds being fetched, parsed and emitted at the same time.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Item ids remembered per feed, to tell new items from old.
    #[serde(default = "default_max_seen")]
    pub max_seen: usize,
    #[serde(default)]
    pub http: HttpOptions,
}

/// `[sources.<id>] type = "sitemap"`: news sitemaps and sitemap indexes.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct SitemapSourceConfig(pub FeedSourceConfig);

fn default_interval() -> Duration {
    Duration::from_secs(600)
}
fn default_min_interval() -> Duration {
    Duration::from_secs(120)
}
fn default_max_interval() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(12 * 3600)
}
fn default_true() -> bool {
    true
}
fn default_concurrency() -> usize {
    16
}
fn default_max_seen() -> usize {
    10_000
}

/// One feed a source polls, with its own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub url: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Overrides the source's `interval` for this feed.
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl From<&OpmlFeed> for Subscription {
    fn from(f: &OpmlFeed) -> Self {
        Subscription {
            url: f.url.clone(),
            title: f.title.clone(),
            category: f.category.clone(),
            interval: f.interval.clone(),
            enabled: f.enabled,
        }
    }
}

/// The state-store namespace of feeds imported into a source with `khabar feeds import`.
fn subscriptions_namespace(source: &str) -> String {
    format!("{source}/subscriptions")
}

impl FeedSourceConfig {
    /// The feeds named in the config: `urls`, then the `opml` file's. Reads the OPML file.
    pub fn subscriptions(&self, config_dir: &Path) -> Result<Vec<Subscription>, String> {
        let mut subs = Vec::new();
        for location in &self.urls {
            let url = crate::location_to_url(location, config_dir)
                .map_err(|e| format!("field `urls`: {e}"))?;
            subs.push(Subscription {
                url: url.to_string(),
                title: None,
                category: None,
                interval: None,
                enabled: true,
            });
        }
        if let Some(opml) = &self.opml {
            let path = if opml.is_absolute() {
                opml.clone()
            } else {
                config_dir.join(opml)
            };
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("field `opml`: {}: {e}", path.display()))?;
            let text = crate::decode::decode_xml(&bytes, None).text;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            for entry in
                parse_opml(&text).map_err(|e| format!("field `opml`: {}: {e}", path.display()))?
            {
                let url = crate::location_to_url(&entry.url, &base)
                    .map_err(|e| format!("field `opml`: {}: {e}", path.display()))?;
                subs.push(Subscription {
                    url: url.to_string(),
                    ..Subscription::from(&entry)
                });
            }
        }
        let mut seen = HashSet::new();
        subs.retain(|s| seen.insert(s.url.clone()));
        Ok(subs)
    }

    fn problems(&self) -> Vec<String> {
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
        if self.min_interval > self.max_interval {
            problems.push("field `min_interval`: longer than `max_interval`".to_string());
        }
        if self.concurrency == 0 {
            problems.push("field `concurrency`: must be at least 1".to_string());
        }
        problems
    }

    fn policy(&self) -> Policy {
        Policy {
            interval: self.interval,
            min_interval: self.min_interval,
            max_interval: self.max_interval,
            max_backoff: self.max_backoff,
            adaptive: self.adaptive,
        }
    }

    fn build_source(&self, ctx: &BuildContext, kind: Kind) -> Result<Box<dyn Source>, StageError> {
        let subscriptions = self
            .subscriptions(&ctx.config_dir)
            .map_err(StageError::config)?;
        let politeness = ctx.resources.get_or_init(Politeness::default);
        let fetcher = Fetcher::new(self.http.clone(), politeness).map_err(StageError::config)?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::env::var("HOSTNAME"))
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".to_string());
        let data_dir =
            std::fs::canonicalize(&ctx.data_dir).unwrap_or_else(|_| ctx.data_dir.clone());
        Ok(Box::new(FeedSource {
            holder: format!("{host}:{}:{}", data_dir.display(), ctx.stage_id),
            subscriptions,
            fetcher,
            policy: self.policy(),
            concurrency: self.concurrency,
            max_seen: self.max_seen,
            kind,
        }))
    }
}

#[async_trait]
impl SourceConfig for FeedSourceConfig {
    fn validate(&self) -> Vec<String> {
        self.problems()
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Source>, StageError> {
        self.build_source(ctx, Kind::Feed)
    }
}

#[async_trait]
impl SourceConfig for SitemapSourceConfig {
    fn validate(&self) -> Vec<String> {
        self.0.problems()
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Source>, StageError> {
        self.0.build_source(ctx, Kind::Sitemap)
    }
}

/// What a source remembers of one feed between polls (JSON in the state store, keyed by the
/// feed's configured URL).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedState {
    #[serde(default)]
    pub validators: Validators,
    /// SHA-256 of the last body whose items were all delivered: an unchanged 200 is a 304.
    #[serde(default)]
    pub body_hash: Option<String>,
    /// Ids of delivered items, oldest first.
    #[serde(default)]
    pub seen: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// Where the feed is polled now, when that is not its configured URL (a permanent
    /// redirect seen on two polls in a row, or the feed an HTML page links to).
    #[serde(default)]
    pub current_url: Option<String>,
    #[serde(default)]
    pub moved_to: Option<String>,
    #[serde(default)]
    pub moved_streak: u32,
    #[serde(default)]
    pub last_poll: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_success: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_poll: Option<DateTime<Utc>>,
    /// Set from `Retry-After`: not even `khabar once` polls before this.
    #[serde(default)]
    pub retry_not_before: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Why the feed is no longer polled (HTTP 410).
    #[serde(default)]
    pub disabled: Option<String>,
    /// Items delivered from this feed, ever.
    #[serde(default)]
    pub items_seen: u64,
    /// The server's freshness hint from the last full answer, in seconds.
    #[serde(default)]
    pub server_floor_secs: Option<u64>,
    #[serde(default)]
    pub schedule: ScheduleState,
}

async fn load_state(store: &dyn StateStore, namespace: &str, feed: &str) -> FeedState {
    match store.get(namespace, feed).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(source = namespace, feed, error = %e, "unreadable feed state; starting this feed afresh");
            FeedState::default()
        }),
        Ok(None) => FeedState::default(),
        Err(e) => {
            tracing::warn!(source = namespace, feed, error = %e, "cannot read feed state; starting this feed afresh");
            FeedState::default()
        }
    }
}

async fn save_state(store: &dyn StateStore, namespace: &str, feed: &str, state: &FeedState) {
    let result = match serde_json::to_vec(state) {
        Ok(bytes) => store
            .put(namespace, feed, &bytes)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        // The items will come again next poll; sinks are idempotent, so nothing is lost.
        tracing::error!(source = namespace, feed, error = %e, "cannot save feed state");
    }
}

/// Feeds imported into `source` with `khabar feeds import`.
pub async fn imported_subscriptions(store: &dyn StateStore, source: &str) -> Vec<Subscription> {
    let namespace = subscriptions_namespace(source);
    let mut subs = Vec::new();
    for key in store.keys(&namespace).await.unwrap_or_default() {
        if let Ok(Some(bytes)) = store.get(&namespace, &key).await {
            if let Ok(sub) = serde_json::from_slice::<Subscription>(&bytes) {
                subs.push(sub);
            }
        }
    }
    subs
}

/// Adds (or updates) feeds of `source`; a re-imported feed that was disabled is enabled
/// again. Returns how many feeds were written.
pub async fn import_feeds(
    store: &dyn StateStore,
    source: &str,
    feeds: &[OpmlFeed],
) -> Result<usize, String> {
    let namespace = subscriptions_namespace(source);
    for feed in feeds {
        let sub = Subscription::from(feed);
        let bytes = serde_json::to_vec(&sub).map_err(|e| e.to_string())?;
        store
            .put(&namespace, &sub.url, &bytes)
            .await
            .map_err(|e| e.to_string())?;
        let mut state = load_state(store, source, &sub.url).await;
        if state.disabled.take().is_some() {
            state.next_poll = None;
            save_state(store, source, &sub.url, &state).await;
        }
    }
    Ok(feeds.len())
}

/// One line of `khabar feeds`.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    pub source: String,
    pub url: String,
    pub polling_url: Option<String>,
    pub title: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    pub next_poll: Option<DateTime<Utc>>,
    pub errors: u32,
    pub last_error: Option<String>,
    pub items_seen: u64,
    pub disabled: Option<String>,
    pub interval: Option<String>,
    pub category: Option<String>,
}

/// The state of every feed of `source`: those given, then those imported.
pub async fn feed_status(
    store: &dyn StateStore,
    source: &str,
    configured: &[Subscription],
) -> Vec<FeedStatus> {
    let mut subs = configured.to_vec();
    for sub in imported_subscriptions(store, source).await {
        if !subs.iter().any(|s| s.url == sub.url) {
            subs.push(sub);
        }
    }
    let mut out = Vec::new();
    for sub in subs {
        let state = load_state(store, source, &sub.url).await;
        out.push(FeedStatus {
            source: source.to_string(),
            polling_url: state.current_url.clone(),
            title: sub.title.clone().or(state.title.clone()),
            last_success: state.last_success,
            next_poll: state.next_poll,
            errors: state.schedule.consecutive_errors,
            last_error: state.last_error.clone(),
            items_seen: state.items_seen,
            disabled: state
                .disabled
                .clone()
                .or_else(|| (!sub.enabled).then(|| "disabled in the feed list".to_string())),
            interval: sub.interval.clone(),
            category: sub.category.clone(),
            url: sub.url,
        });
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Feed,
    Sitemap,
}

struct FeedSource {
    /// This fetcher's name on feed leases: the machine, the data folder and the stage, so that
    /// a fetcher restarted after a crash takes its own leases back at once.
    holder: String,
    subscriptions: Vec<Subscription>,
    fetcher: Fetcher,
    policy: Policy,
    concurrency: usize,
    max_seen: usize,
    kind: Kind,
}

struct Shared {
    ctx: SourceContext,
    fetcher: Fetcher,
    /// Bounds the documents fetched and parsed but not yet emitted.
    permits: Semaphore,
    policy: Policy,
    max_seen: usize,
    kind: Kind,
    holder: String,
}

/// How often a running source looks for newly imported feeds.
const RESCAN_IMPORTS: Duration = Duration::from_secs(60);
/// A poll's claim on its feed; released when the poll ends, expiring if its fetcher dies.
const LEASE_TTL: Duration = Duration::from_secs(600);
/// How long a fetcher waits before looking again at a feed another fetcher is polling.
const LEASE_RETRY: Duration = Duration::from_secs(30);

#[async_trait]
impl Source for FeedSource {
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<(), StageError> {
        let holder = self.holder.clone();
        let shared = Arc::new(Shared {
            ctx,
            fetcher: self.fetcher,
            permits: Semaphore::new(self.concurrency),
            policy: self.policy,
            max_seen: self.max_seen,
            kind: self.kind,
            holder,
        });
        let mut running: HashSet<String> = HashSet::new();
        let mut loops = JoinSet::new();
        loop {
            let mut subs = self.subscriptions.clone();
            subs.extend(imported_subscriptions(shared.ctx.state.as_ref(), &shared.ctx.id).await);
            for sub in subs.into_iter().filter(|s| s.enabled) {
                if running.insert(sub.url.clone()) {
                    loops.spawn(feed_loop(Arc::clone(&shared), sub));
                }
            }
            if shared.ctx.mode == RunMode::Once {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(RESCAN_IMPORTS) => {}
                _ = shared.ctx.shutdown_requested() => break,
            }
        }
        while loops.join_next().await.is_some() {}
        Ok(())
    }
}

fn to_std(d: chrono::TimeDelta) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

async fn feed_loop(shared: Arc<Shared>, sub: Subscription) {
    let ctx = &shared.ctx;
    let policy = match sub
        .interval
        .as_deref()
        .map(khabar_core_model::duration::parse)
    {
        Some(Ok(interval)) => Policy {
            interval,
            ..shared.policy
        },
        Some(Err(e)) => {
            tracing::warn!(source = %ctx.id, feed = %sub.url, error = %e, "bad per-feed interval; using the source's");
            shared.policy
        }
        None => shared.policy,
    };
    loop {
        if ctx.is_shutting_down() {
            return;
        }
        let state = load_state(ctx.state.as_ref(), &ctx.id, &sub.url).await;
        if let Some(reason) = &state.disabled {
            tracing::info!(source = %ctx.id, feed = %sub.url, reason, "feed disabled; not polled");
            return;
        }
        let now = Utc::now();
        match ctx.mode {
            RunMode::Once => {
                if let Some(not_before) = state.retry_not_before.filter(|t| *t > now) {
                    tracing::info!(source = %ctx.id, feed = %sub.url, until = %not_before, "the server asked not to be polled before then (Retry-After); skipped");
                    return;
                }
            }
            RunMode::Continuous => {
                if let Some(next) = state.next_poll.filter(|t| *t > now) {
                    tokio::select! {
                        _ = tokio::time::sleep(to_std(next - now)) => {}
                        _ = ctx.shutdown_requested() => return,
                    }
                }
            }
        }
        // With a state store shared by several fetchers, one of them polls a feed at a time.
        let leases = format!("{}/leases", ctx.id);
        match ctx
            .state
            .lease(&leases, &sub.url, &shared.holder, LEASE_TTL)
            .await
        {
            Ok(true) => {
                poll(&shared, &sub, &policy, state).await;
                if let Err(e) = ctx.state.release(&leases, &sub.url, &shared.holder).await {
                    tracing::debug!(source = %ctx.id, feed = %sub.url, error = %e, "cannot release the feed's lease; it expires by itself");
                }
            }
            Ok(false) => {
                tracing::debug!(source = %ctx.id, feed = %sub.url, "another fetcher is polling this feed");
                if ctx.mode == RunMode::Continuous {
                    tokio::select! {
                        _ = tokio::time::sleep(LEASE_RETRY) => {}
                        _ = ctx.shutdown_requested() => return,
                    }
                    continue;
                }
            }
            Err(e) => {
                // Polling twice is better than not polling: sinks are idempotent.
                tracing::warn!(source = %ctx.id, feed = %sub.url, error = %e, "cannot take the feed's lease; polling anyway");
                poll(&shared, &sub, &policy, state).await;
            }
        }
        if ctx.mode == RunMode::Once {
            return;
        }
    }
}

fn body_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A document as fetched; `feed` is `None` when its body has not changed since the last
/// fully delivered poll.
struct Document {
    feed: Option<ParsedFeed>,
    validators: Validators,
    hash: Option<String>,
    fresh_for: Option<Duration>,
    moved_permanently_to: Option<String>,
    /// The feed an HTML page linked to, now polled instead of the page.
    discovered: Option<String>,
}

/// Most child sitemaps read from one sitemap index per poll.
const MAX_CHILD_SITEMAPS: usize = 50;

async fn fetch_document(
    shared: &Shared,
    url: &url::Url,
    state: &FeedState,
) -> Result<Option<Document>, FetchError> {
    let Some(fetched) = shared.fetcher.get(url, Some(&state.validators)).await? else {
        return Ok(None);
    };
    let hash = body_hash(&fetched.body);
    if state.body_hash.as_deref() == Some(hash.as_str()) {
        // Unchanged: nothing to parse, but a permanent redirect on the way still counts.
        return Ok(Some(Document {
            feed: None,
            validators: fetched.validators,
            hash: Some(hash),
            fresh_for: fetched.fresh_for,
            moved_permanently_to: fetched.moved_permanently_to,
            discovered: None,
        }));
    }
    let content_type = fetched.content_type.as_deref();
    let (feed, discovered, hash) = match shared.kind {
        Kind::Feed => match parse_feed(&fetched.body, content_type, &fetched.final_url) {
            Ok(feed) => (feed, None, Some(hash)),
            Err(FeedError::Html { alternates, .. }) if !alternates.is_empty() => {
                let target = url::Url::parse(&alternates[0])
                    .map_err(|e| FetchError::permanent(format!("{}: {e}", alternates[0])))?;
                let linked =
                    shared.fetcher.get(&target, None).await?.ok_or_else(|| {
                        FetchError::transient(format!("{target}: unexpected 304"))
                    })?;
                let feed = parse_feed(
                    &linked.body,
                    linked.content_type.as_deref(),
                    &linked.final_url,
                )
                .map_err(|e| FetchError::permanent(e.to_string()))?;
                (feed, Some(linked.final_url), None)
            }
            Err(e) => return Err(FetchError::permanent(e.to_string())),
        },
        Kind::Sitemap => match parse_sitemap(&fetched.body, content_type, &fetched.final_url)
            .map_err(FetchError::permanent)?
        {
            Sitemap::Urls(feed) => (feed, None, Some(hash)),
            Sitemap::Index(children) => {
                // An index rarely changes while its children do: always read the children.
                let mut merged: Option<ParsedFeed> = None;
                for child in children.iter().take(MAX_CHILD_SITEMAPS) {
                    let Ok(child_url) = url::Url::parse(child) else {
                        continue;
                    };
                    let Some(doc) = shared.fetcher.get(&child_url, None).await? else {
                        continue;
                    };
                    match parse_sitemap(&doc.body, doc.content_type.as_deref(), &doc.final_url) {
                        Ok(Sitemap::Urls(part)) => match merged.as_mut() {
                            Some(m) => m.items.extend(part.items),
                            None => merged = Some(part),
                        },
                        Ok(Sitemap::Index(_)) => {
                            tracing::debug!(sitemap = child, "nested sitemap index skipped")
                        }
                        Err(e) => {
                            tracing::warn!(sitemap = child, error = %e, "child sitemap unreadable")
                        }
                    }
                }
                let feed = merged.ok_or_else(|| {
                    FetchError::permanent(format!(
                        "{url}: a sitemap index whose sitemaps list no URL"
                    ))
                })?;
                (feed, None, None)
            }
        },
    };
    Ok(Some(Document {
        feed: Some(feed),
        validators: if hash.is_some() {
            fetched.validators
        } else {
            Validators::default()
        },
        hash,
        fresh_for: fetched.fresh_for,
        moved_permanently_to: fetched.moved_permanently_to,
        discovered,
    }))
}

fn item_to_article(
    source: &str,
    feed_url: &str,
    parsed: &ParsedFeed,
    item: &FeedItem,
    fetched_at: DateTime<Utc>,
) -> Article {
    let mut article = Article::new(
        item.id.clone(),
        FeedRef {
            source: source.to_string(),
            url: feed_url.to_string(),
            title: parsed.title.clone(),
        },
        item.url.clone().unwrap_or_default(),
        fetched_at,
    );
    article.guid = item.guid.clone();
    article.title = item.title.clone();
    article.summary = item.summary.clone();
    article.authors = item.authors.clone();
    article.published_at = item.published_at;
    if article.published_at.is_none() {
        // No usable date: the fetch time stands in, flagged so nobody mistakes it.
        article.published_at = Some(fetched_at);
        article.attrs.insert(
            "published_at_estimated".into(),
            Value::String("fetch_time".into()),
        );
    }
    article.updated_at = item.updated_at;
    article.tags = item.categories.clone();
    article.language = item
        .language
        .as_deref()
        .or(parsed.language.as_deref())
        .and_then(|l| l.split(['-', '_']).next())
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| l.len() == 2);
    if !parsed.repairs.is_empty() {
        article
            .attrs
            .insert("feed_repairs".into(), Value::from(parsed.repairs.clone()));
    }
    article
}

async fn poll(shared: &Shared, sub: &Subscription, policy: &Policy, mut state: FeedState) {
    let ctx = &shared.ctx;
    let key = sub.url.as_str();
    let polling = state.current_url.clone().unwrap_or_else(|| sub.url.clone());
    let now = Utc::now();
    let elapsed = state.last_success.map(|t| to_std(now - t));
    state.last_poll = Some(now);
    RunStats::add(&ctx.stats.feeds_polled, 1);
    let Ok(url) = url::Url::parse(&polling) else {
        state.disabled = Some(format!("{polling}: not a URL"));
        save_state(ctx.state.as_ref(), &ctx.id, key, &state).await;
        return;
    };
    let Ok(permit) = shared.permits.acquire().await else {
        return;
    };
    let fetched = fetch_document(shared, &url, &state).await;

    let not_modified = |state: &mut FeedState| {
        let server_floor = state.server_floor_secs.map(Duration::from_secs);
        let wait = policy.after_success(&mut state.schedule, 0, elapsed, server_floor);
        state.next_poll = Some(now + wait);
        state.last_success = Some(now);
        state.last_error = None;
        state.retry_not_before = None;
    };
    let doc = match fetched {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            drop(permit);
            tracing::debug!(source = %ctx.id, feed = key, "not modified");
            not_modified(&mut state);
            save_state(ctx.state.as_ref(), &ctx.id, key, &state).await;
            return;
        }
        Err(e) => {
            drop(permit);
            RunStats::add(&ctx.stats.feeds_failed, 1);
            state.last_error = Some(e.message.clone());
            if e.kind == FailureKind::Gone {
                tracing::warn!(source = %ctx.id, feed = key, error = %e, "feed is gone (HTTP 410); disabled");
                state.disabled = Some(format!(
                    "{}; re-import the feed to poll it again",
                    e.message
                ));
            } else {
                let wait = policy.after_failure(&mut state.schedule, e.retry_after);
                state.next_poll = Some(now + wait);
                state.retry_not_before = e.retry_after.map(|r| now + r);
                tracing::warn!(source = %ctx.id, feed = key, error = %e, errors = state.schedule.consecutive_errors, retry_in = ?wait, "feed poll failed");
            }
            save_state(ctx.state.as_ref(), &ctx.id, key, &state).await;
            return;
        }
    };

    // A permanent redirect moves the feed once it is seen on two polls in a row.
    match &doc.moved_permanently_to {
        Some(target) if state.moved_to.as_deref() == Some(target) => {
            state.moved_streak += 1;
            if state.moved_streak >= 2 && state.current_url.as_deref() != Some(target) {
                tracing::info!(source = %ctx.id, feed = key, to = %target, "feed moved permanently; polling its new address");
                state.current_url = Some(target.clone());
            }
        }
        Some(target) => {
            state.moved_to = Some(target.clone());
            state.moved_streak = 1;
        }
        None => {
            state.moved_to = None;
            state.moved_streak = 0;
        }
    }
    if let Some(found) = &doc.discovered {
        tracing::info!(source = %ctx.id, page = key, feed = %found, "an HTML page: polling the feed it links to");
        state.current_url = Some(found.clone());
    }
    let Some(feed) = doc.feed else {
        drop(permit);
        tracing::debug!(source = %ctx.id, feed = key, "unchanged body");
        not_modified(&mut state);
        save_state(ctx.state.as_ref(), &ctx.id, key, &state).await;
        return;
    };
    if !feed.repairs.is_empty() {
        tracing::info!(source = %ctx.id, feed = key, repairs = ?feed.repairs, "feed repaired before parsing");
    }
    state.title = feed.title.clone().or(state.title.take());
    let server_floor = [
        doc.fresh_for,
        feed.ttl_minutes
            .map(|m| Duration::from_secs(u64::from(m) * 60)),
    ]
    .into_iter()
    .flatten()
    .max();
    state.server_floor_secs = server_floor.map(|d| d.as_secs());

    let seen: HashSet<&str> = state.seen.iter().map(String::as_str).collect();
    let new_items: Vec<&FeedItem> = feed
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
            .emit(item_to_article(&ctx.id, &polling, &feed, item, now))
            .await
        {
            Ok(receiver) => waiting.push((item.id.to_string(), receiver)),
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    drop(permit);
    RunStats::add(&ctx.stats.items_new, waiting.len() as u64);
    tracing::info!(source = %ctx.id, feed = key, items = feed.items.len(), new = waiting.len(), "feed polled");

    let mut settled = Vec::new();
    let mut delivered = 0usize;
    for (id, receiver) in waiting {
        let resolution = receiver.resolution().await;
        match resolution.outcome {
            Outcome::Delivered => {
                RunStats::add(&ctx.stats.delivered, 1);
                delivered += 1;
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
    state.items_seen += delivered as u64;
    state.seen.extend(settled);
    let mut unique = HashSet::new();
    let mut kept: Vec<String> = std::mem::take(&mut state.seen)
        .into_iter()
        .rev()
        .filter(|id| unique.insert(id.clone()))
        .collect();
    kept.truncate(shared.max_seen);
    kept.reverse();
    state.seen = kept;
    if complete {
        // Only a fully delivered poll may move the validators: otherwise a 304 would hide the
        // items still waiting for a retry.
        state.validators = doc.validators;
        state.body_hash = doc.hash;
    }
    let wait = policy.after_success(&mut state.schedule, delivered, elapsed, server_floor);
    state.next_poll = Some(now + wait);
    state.last_success = Some(now);
    state.last_error = None;
    state.retry_not_before = None;
    save_state(ctx.state.as_ref(), &ctx.id, key, &state).await;
}
