//! What a source remembers of one feed between polls: the checkpoint (delivered item ids,
//! validators, body hash), the schedule, and what went wrong.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use khabar_core_model::StateStore;
use serde::{Deserialize, Serialize};

use crate::http::Validators;
use crate::schedule::ScheduleState;

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
    /// The last panic of this feed's loop, until a poll succeeds again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashed: Option<String>,
    /// Items that came back undelivered, by id: polls they failed on. Persisted with the
    /// checkpoint, so a record that can never be delivered reaches the dead-letter file after
    /// its budget instead of being emitted on every poll for ever. Bounded like `seen`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attempts: BTreeMap<String, u32>,
}

pub(super) async fn load_state(store: &dyn StateStore, namespace: &str, feed: &str) -> FeedState {
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

pub(super) async fn save_state(
    store: &dyn StateStore,
    namespace: &str,
    feed: &str,
    state: &FeedState,
) {
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
