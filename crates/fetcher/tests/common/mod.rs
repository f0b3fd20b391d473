//! Helpers shared by the fetcher's integration tests: feeds, source settings for loopback
//! servers, one `khabar once` cycle of a source, the state it left.
#![allow(dead_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use khabar_core_model::{
    Article, BuildContext, MemoryDeadLetters, MemoryStateStore, Record, RunMode, RunStats,
    SourceConfig, SourceContext, StageCounters, StateStore,
};
use khabar_fetcher::{FeedSourceConfig, FeedState, SitemapSourceConfig};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

pub fn rss(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(title, link)| format!("<item><title>{title}</title><link>{link}</link></item>"))
        .collect();
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>")
}

/// Settings for a source polling loopback servers.
pub fn settings(urls: &[String], extra: Value) -> Value {
    let mut v = json!({ "urls": urls, "http": { "refuse_private_addresses": false, "per_host_interval": "0s" } });
    if let (Some(base), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in more {
            if k == "http" {
                if let (Some(http), Some(extra_http)) = (
                    base.get_mut("http").and_then(Value::as_object_mut),
                    val.as_object(),
                ) {
                    http.extend(extra_http.clone());
                }
            } else {
                base.insert(k.clone(), val.clone());
            }
        }
    }
    v
}

pub struct Poll {
    pub articles: Vec<Article>,
    pub stats: Arc<RunStats>,
    pub dead_letters: Arc<MemoryDeadLetters>,
}

/// One `khabar once` cycle of a source, every record acknowledged as delivered.
pub async fn poll_once(kind: &str, config: Value, state: Arc<dyn StateStore>) -> Poll {
    poll_once_with(kind, config, state, |record| record.ack.delivered()).await
}

/// One `khabar once` cycle of a source, each record settled by `settle`.
pub async fn poll_once_with(
    kind: &str,
    config: Value,
    state: Arc<dyn StateStore>,
    settle: impl Fn(Record) + Send + 'static,
) -> Poll {
    let mut ctx = BuildContext::standalone("src", std::env::temp_dir(), std::env::temp_dir());
    ctx.state = state.clone();
    let source = match kind {
        "sitemap" => serde_json::from_value::<SitemapSourceConfig>(config)
            .map(|c| Box::new(c) as Box<dyn SourceConfig>),
        _ => serde_json::from_value::<FeedSourceConfig>(config)
            .map(|c| Box::new(c) as Box<dyn SourceConfig>),
    }
    .expect("settings decode");
    assert!(source.validate().is_empty(), "{:?}", source.validate());
    let source = source.build(&ctx).await.expect("build");
    let (tx, mut rx) = mpsc::channel(16);
    let (_stop, stop_rx) = watch::channel(false);
    let stats = Arc::new(RunStats::default());
    let dead_letters = Arc::new(MemoryDeadLetters::default());
    let sctx = SourceContext::new(
        "src".into(),
        RunMode::Once,
        state,
        Arc::clone(&stats),
        Arc::new(StageCounters::default()),
        tx,
        stop_rx,
    )
    .with_dead_letters(Arc::clone(&dead_letters) as _);
    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(record) = rx.recv().await {
            got.push(record.article.clone());
            settle(record);
        }
        got
    });
    source.run(sctx).await.expect("run");
    let articles = collector.await.expect("collector");
    Poll {
        articles,
        stats,
        dead_letters,
    }
}

pub async fn feed_state(state: &MemoryStateStore, url: &str) -> FeedState {
    let bytes = state
        .get("src", url)
        .await
        .expect("state")
        .expect("a state for the feed");
    serde_json::from_slice(&bytes).expect("state JSON")
}

pub fn count(stat: &std::sync::atomic::AtomicU64) -> u64 {
    stat.load(Ordering::Relaxed)
}
