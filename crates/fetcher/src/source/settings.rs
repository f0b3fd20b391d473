//! What a `feed` or `sitemap` source's config says, its pure checks, and building the source.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use khabar_core_model::{BuildContext, InputFile, Source, SourceConfig, StageError};
use serde::Deserialize;

use super::subscriptions::Subscription;
use super::{FeedSource, Kind};
use crate::error::SubscriptionError;
use crate::http::{Fetcher, HttpOptions};
use crate::opml::parse_opml;
use crate::politeness::Politeness;
use crate::schedule::Policy;

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
    /// The most item ids remembered per feed, to tell new items from old: a feed remembers
    /// what it shows and the most recent others, up to five times as many as it shows (at
    /// least 100) and never more than this.
    #[serde(default = "default_max_seen")]
    pub max_seen: usize,
    /// Polls on which an item may come back undelivered (a page that always answers 503, a
    /// record no sink accepts) before it goes to the dead-letter file with its last reason.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
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
fn default_max_attempts() -> u32 {
    5
}

/// The longest any schedule setting may be: longer would overflow date arithmetic, and no
/// feed is worth polling less than yearly.
const LONGEST_INTERVAL: Duration = Duration::from_secs(366 * 24 * 3600);

impl FeedSourceConfig {
    /// The feeds named in the config: `urls`, then the `opml` file's. Reads the OPML file.
    pub fn subscriptions(&self, config_dir: &Path) -> Result<Vec<Subscription>, SubscriptionError> {
        let mut subs = Vec::new();
        for location in &self.urls {
            let url =
                crate::location_to_url(location, config_dir).map_err(SubscriptionError::Url)?;
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
            let bytes = std::fs::read(&path).map_err(|source| SubscriptionError::OpmlRead {
                path: path.clone(),
                source,
            })?;
            let text = crate::decode::decode_xml(&bytes, None).text;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let entries = parse_opml(&text).map_err(|source| SubscriptionError::OpmlParse {
                path: path.clone(),
                source,
            })?;
            for entry in entries {
                let url = crate::location_to_url(&entry.url, &base).map_err(|source| {
                    SubscriptionError::OpmlEntry {
                        path: path.clone(),
                        source,
                    }
                })?;
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

    fn opml_file(&self) -> Vec<InputFile> {
        self.opml
            .iter()
            .map(|path| InputFile {
                field: "opml".to_string(),
                path: path.clone(),
            })
            .collect()
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
        for (field, value) in [
            ("interval", self.interval),
            ("min_interval", self.min_interval),
            ("max_interval", self.max_interval),
            ("max_backoff", self.max_backoff),
        ] {
            if value > LONGEST_INTERVAL {
                problems.push(format!(
                    "field `{field}`: {value:?} is longer than the 366 days allowed"
                ));
            }
        }
        if self.concurrency == 0 || self.concurrency > 10_000 {
            problems.push(format!(
                "field `concurrency`: {} is out of range (1 to 10000)",
                self.concurrency
            ));
        }
        if self.max_seen == 0 || self.max_seen > 1_000_000 {
            problems.push(format!(
                "field `max_seen`: {} is out of range (1 to 1000000)",
                self.max_seen
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > 1000 {
            problems.push(format!(
                "field `max_attempts`: {} is out of range (1 to 1000)",
                self.max_attempts
            ));
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
            .map_err(|e| StageError::config(e.to_string()))?;
        let politeness = ctx.resources.get_or_init(Politeness::default);
        let fetcher = Fetcher::new(self.http.clone(), politeness)
            .map(|f| f.for_stage(&ctx.stage_id))
            .map_err(|e| StageError::config("HTTP client").with_cause(e))?;
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
            max_attempts: self.max_attempts,
            kind,
        }))
    }
}

#[async_trait]
impl SourceConfig for FeedSourceConfig {
    fn validate(&self) -> Vec<String> {
        self.problems()
    }

    fn input_files(&self) -> Vec<InputFile> {
        self.opml_file()
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

    fn input_files(&self) -> Vec<InputFile> {
        self.0.opml_file()
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Source>, StageError> {
        self.0.build_source(ctx, Kind::Sitemap)
    }
}
