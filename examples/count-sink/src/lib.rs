//! An example Khabar plugin: the `count` sink keeps a running tally of records per feed and
//! per language in a JSON file, rewritten atomically after every batch.
//!
//! It shows the one rule of I/O in a stage: `build` and `write` run on the async worker
//! threads that also poll feeds and fetch pages, so files are read and written with
//! `tokio::fs` (which hands the blocking call to tokio's blocking pool), never `std::fs`,
//! and CPU-heavy work goes to `tokio::task::spawn_blocking`.
//!
//! ```toml
//! [sinks.tally]
//! type = "count"
//! inputs = ["clean"]
//! path = "tally.json"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use khabar_core_model::{
    async_trait, Article, BuildContext, Registry, Sink, SinkConfig, StageError,
};
use serde::{Deserialize, Serialize};

pub fn register(registry: &mut Registry) {
    registry.add_sink::<CountConfig>(
        "count",
        "tallies records per feed and language in a JSON file",
    );
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountConfig {
    /// The tally file, relative to `data_dir`.
    pub path: PathBuf,
}

/// The file's content. Counting ids (not records) keeps a replay after a crash from counting
/// anything twice.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Tally {
    pub by_feed: BTreeMap<String, u64>,
    pub by_language: BTreeMap<String, u64>,
    pub ids: std::collections::BTreeSet<String>,
}

#[async_trait]
impl SinkConfig for CountConfig {
    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let path = ctx.resolve_data(&self.path);
        let tally = match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StageError::config(format!("field `path`: {}: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Tally::default(),
            Err(e) => {
                return Err(StageError::config(format!(
                    "field `path`: {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(Box::new(CountSink { path, tally }))
    }
}

struct CountSink {
    path: PathBuf,
    tally: Tally,
}

impl CountSink {
    /// Writes the tally beside the file, then renames it over: a crash mid-write leaves the
    /// old tally whole.
    async fn save(&self) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(&self.tally).map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("tmp");
        let written = match tokio::fs::write(&tmp, bytes).await {
            Ok(()) => tokio::fs::rename(&tmp, &self.path).await,
            Err(e) => Err(e),
        };
        written.map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[async_trait]
impl Sink for CountSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        for article in batch {
            if self.tally.ids.insert(article.id.to_string()) {
                *self
                    .tally
                    .by_feed
                    .entry(article.feed.url.clone())
                    .or_default() += 1;
                let language = article.language.clone().unwrap_or_else(|| "unknown".into());
                *self.tally.by_language.entry(language).or_default() += 1;
            }
        }
        match self.save().await {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            Err(e) => batch
                .iter()
                .map(|_| Err(StageError::transient(e.clone())))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khabar_core_model::{FeedRef, RecordId};

    #[tokio::test]
    async fn counts_each_id_once_across_restarts() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ctx = BuildContext::standalone("tally", dir.path().into(), dir.path().into());
        let article = |url: &str, lang: &str| {
            let feed = FeedRef {
                source: "s".into(),
                url: "https://x/rss".into(),
                title: None,
            };
            let mut a = Article::new(RecordId::from_url(url), feed, url, chrono::Utc::now());
            a.language = Some(lang.into());
            a
        };
        let config = CountConfig {
            path: "tally.json".into(),
        };
        let mut sink = config.build(&ctx).await?;
        assert!(sink
            .write(&[article("https://x/1", "ar"), article("https://x/2", "en")])
            .await
            .iter()
            .all(Result::is_ok));
        let mut sink = config.build(&ctx).await?;
        assert!(sink
            .write(&[article("https://x/2", "en"), article("https://x/3", "ar")])
            .await
            .iter()
            .all(Result::is_ok));
        let tally: Tally = serde_json::from_slice(&std::fs::read(dir.path().join("tally.json"))?)?;
        assert_eq!(tally.by_feed.get("https://x/rss"), Some(&3));
        assert_eq!(tally.by_language.get("ar"), Some(&2));
        Ok(())
    }
}
