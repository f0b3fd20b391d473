//! What each feed is doing, in one word: the STATUS column of `khabar feeds`, the feeds page
//! and the `khabar_feeds` gauge all read it from here, so they never disagree.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::state::FeedState;
use crate::metrics;

/// Failures in a row after which a backing-off feed counts as failing.
pub const FAILING_AFTER: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedHealth {
    /// Never polled successfully yet, and no error either.
    New,
    Ok,
    /// The last poll failed; the feed is polled again after a backoff.
    BackingOff,
    /// [`FAILING_AFTER`] polls or more in a row failed.
    Failing,
    /// Not polled: gone (HTTP 410), or switched off in the feed list.
    Disabled,
    /// Polled at another address than the configured one (a permanent redirect, the feed an
    /// HTML page links to).
    Moved,
    /// Its loop panicked and was restarted; cleared by the next good poll.
    Crashed,
}

impl FeedHealth {
    pub const ALL: [FeedHealth; 7] = [
        FeedHealth::New,
        FeedHealth::Ok,
        FeedHealth::BackingOff,
        FeedHealth::Failing,
        FeedHealth::Disabled,
        FeedHealth::Moved,
        FeedHealth::Crashed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedHealth::New => "new",
            FeedHealth::Ok => "ok",
            FeedHealth::BackingOff => "backing_off",
            FeedHealth::Failing => "failing",
            FeedHealth::Disabled => "disabled",
            FeedHealth::Moved => "moved",
            FeedHealth::Crashed => "crashed",
        }
    }

    /// The health a feed's remembered state shows; `enabled` is the feed list's switch.
    pub fn of(state: &FeedState, enabled: bool) -> FeedHealth {
        if state.disabled.is_some() || !enabled {
            FeedHealth::Disabled
        } else if state.crashed.is_some() {
            FeedHealth::Crashed
        } else if state.last_error.is_some() {
            if state.schedule.consecutive_errors >= FAILING_AFTER {
                FeedHealth::Failing
            } else {
                FeedHealth::BackingOff
            }
        } else if state.current_url.is_some() {
            FeedHealth::Moved
        } else if state.last_success.is_none() {
            FeedHealth::New
        } else {
            FeedHealth::Ok
        }
    }
}

impl std::fmt::Display for FeedHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health of every feed a running source polls, published as the `khabar_feeds` gauge
/// (one series per status) each time a feed's health is learnt.
pub(super) struct FeedBoard {
    stage: String,
    feeds: Mutex<HashMap<String, FeedHealth>>,
}

impl FeedBoard {
    pub(super) fn new(stage: &str) -> FeedBoard {
        FeedBoard {
            stage: stage.to_string(),
            feeds: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn set(&self, feed: &str, health: FeedHealth) {
        let Ok(mut feeds) = self.feeds.lock() else {
            return;
        };
        if feeds.get(feed) == Some(&health) {
            return;
        }
        feeds.insert(feed.to_string(), health);
        let mut counts = [0usize; FeedHealth::ALL.len()];
        for health in feeds.values() {
            if let Some(i) = FeedHealth::ALL.iter().position(|h| h == health) {
                counts[i] += 1;
            }
        }
        drop(feeds);
        for (health, count) in FeedHealth::ALL.iter().zip(counts) {
            ::metrics::gauge!(
                metrics::FEEDS,
                "component_id" => self.stage.clone(),
                "status" => health.as_str()
            )
            .set(count as f64);
        }
    }
}
