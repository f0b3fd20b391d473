//! Feeds imported with `khabar feeds import` (kept in the state store beside the configured
//! ones) and the status of every feed for `khabar feeds`.

use chrono::{DateTime, Utc};
use khabar_core_model::StateStore;
use serde::{Deserialize, Serialize};

use super::state::{load_state, save_state};
use crate::opml::OpmlFeed;

fn default_true() -> bool {
    true
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

/// Feeds imported into `source` with `khabar feeds import`.
pub(super) async fn imported_subscriptions(
    store: &dyn StateStore,
    source: &str,
) -> Vec<Subscription> {
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
) -> Result<usize, crate::error::SubscriptionError> {
    use crate::error::SubscriptionError;
    let namespace = subscriptions_namespace(source);
    for feed in feeds {
        let sub = Subscription::from(feed);
        let bytes = serde_json::to_vec(&sub).map_err(SubscriptionError::Encode)?;
        store
            .put(&namespace, &sub.url, &bytes)
            .await
            .map_err(SubscriptionError::State)?;
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
    /// The feed's loop panicked (and was restarted); the panic's message.
    pub crashed: Option<String>,
    /// In one word: ok, new, backing_off, failing, disabled, moved, crashed.
    pub status: super::health::FeedHealth,
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
            status: super::health::FeedHealth::of(&state, sub.enabled),
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
            crashed: state.crashed.clone(),
            interval: sub.interval.clone(),
            category: sub.category.clone(),
            url: sub.url,
        });
    }
    out
}
