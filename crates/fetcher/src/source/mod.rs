//! The `feed` and `sitemap` sources: one polling loop per feed, each on its own adaptive
//! schedule; a feed's checkpoint is committed only for items every sink delivered.
//!
//! By concern: [`settings`] (what the config says), [`state`] (what is remembered of a feed
//! between polls), [`poll`] (one poll of one feed), [`subscriptions`] (imported feeds and
//! `khabar feeds`). This file runs the loops and supervises them.

mod health;
mod poll;
mod settings;
mod state;
mod subscriptions;

pub use health::{FeedHealth, FAILING_AFTER};
pub use settings::{FeedSourceConfig, SitemapSourceConfig};
pub use state::FeedState;
pub use subscriptions::{feed_status, import_feeds, FeedStatus, Subscription};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use khabar_core_model::{RunMode, RunStats, Source, SourceContext, StageError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::http::Fetcher;
use crate::schedule::Policy;
use poll::poll;
use state::{load_state, save_state};
use subscriptions::imported_subscriptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Feed,
    Sitemap,
}

pub(crate) struct FeedSource {
    /// This fetcher's name on feed leases: the machine, the data folder and the stage, so that
    /// a fetcher restarted after a crash takes its own leases back at once.
    holder: String,
    subscriptions: Vec<Subscription>,
    fetcher: Fetcher,
    policy: Policy,
    concurrency: usize,
    max_seen: usize,
    max_attempts: u32,
    kind: Kind,
}

struct Shared {
    ctx: SourceContext,
    fetcher: Fetcher,
    /// Bounds the documents fetched and parsed but not yet emitted.
    permits: Semaphore,
    policy: Policy,
    max_seen: usize,
    /// Polls an item may fail to be delivered on before it goes to the dead-letter file.
    max_attempts: u32,
    kind: Kind,
    holder: String,
    board: health::FeedBoard,
}

/// How often a running source looks for newly imported feeds.
const RESCAN_IMPORTS: Duration = Duration::from_secs(60);
/// A poll's claim on its feed; released when the poll ends, expiring if its fetcher dies.
const LEASE_TTL: Duration = Duration::from_secs(600);
/// How long a fetcher waits before looking again at a feed another fetcher is polling.
const LEASE_RETRY: Duration = Duration::from_secs(30);

/// First wait before a crashed feed loop is started again; doubles per crash in a row.
const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
const LONGEST_RESTART_DELAY: Duration = Duration::from_secs(300);

/// The text of a panic, for logs and `khabar feeds`.
fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string()),
        Err(error) => error.to_string(),
    }
}

#[async_trait]
impl Source for FeedSource {
    /// Starts a loop per enabled feed and supervises them: a loop that panics is logged with
    /// its feed, counted as a failed feed, marked `crashed: …` in the feed's state (so `khabar
    /// feeds` shows it), and started again after a backoff, so one hostile feed can never stop
    /// its own polling (or anyone else's) for good.
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<(), StageError> {
        let holder = self.holder.clone();
        let board = health::FeedBoard::new(&ctx.id);
        let shared = Arc::new(Shared {
            ctx,
            board,
            fetcher: self.fetcher,
            permits: Semaphore::new(self.concurrency),
            policy: self.policy,
            max_seen: self.max_seen,
            max_attempts: self.max_attempts,
            kind: self.kind,
            holder,
        });
        let mut running: HashMap<tokio::task::Id, Subscription> = HashMap::new();
        let mut started: HashSet<String> = HashSet::new();
        let mut crashes: HashMap<String, u32> = HashMap::new();
        let mut loops = JoinSet::new();
        let mut rescan = tokio::time::interval(RESCAN_IMPORTS);
        // The feed list is read at the start and at each rescan, not each time a feed loop
        // ends: with 10,000 feeds, reading it again after every loop that finished (as
        // `once` does 10,000 times) made a cycle quadratic — 48 s of CPU instead of 2.
        let mut scan = true;
        loop {
            if std::mem::take(&mut scan) {
                let mut subs = self.subscriptions.clone();
                subs.extend(
                    imported_subscriptions(shared.ctx.state.as_ref(), &shared.ctx.id).await,
                );
                for sub in subs.into_iter().filter(|s| s.enabled) {
                    if !started.contains(&sub.url) {
                        started.insert(sub.url.clone());
                        let handle = loops.spawn(feed_loop(Arc::clone(&shared), sub.clone(), None));
                        running.insert(handle.id(), sub);
                    }
                }
            }
            // In `once` there is nothing to rescan for: wait for the loops, then stop.
            let rescan_due = async {
                if shared.ctx.mode == RunMode::Once {
                    std::future::pending::<()>().await
                } else {
                    rescan.tick().await;
                }
            };
            if shared.ctx.mode == RunMode::Once && loops.is_empty() {
                break;
            }
            tokio::select! {
                _ = rescan_due => scan = true,
                _ = shared.ctx.shutdown_requested(), if shared.ctx.mode == RunMode::Continuous => break,
                joined = loops.join_next_with_id(), if !loops.is_empty() => match joined {
                    None => {}
                    Some(Ok((id, ()))) => {
                        running.remove(&id);
                    }
                    Some(Err(error)) => {
                        let Some(sub) = running.remove(&error.id()) else { continue };
                        let message = panic_message(error);
                        RunStats::add(&shared.ctx.stats.feeds_failed, 1);
                        RunStats::add(&shared.ctx.stats.tasks_crashed, 1);
                        let crashes_in_a_row = crashes.entry(sub.url.clone()).or_insert(0);
                        *crashes_in_a_row = crashes_in_a_row.saturating_add(1);
                        let delay = FIRST_RESTART_DELAY
                            .saturating_mul(1u32 << (*crashes_in_a_row - 1).min(16))
                            .min(LONGEST_RESTART_DELAY);
                        tracing::error!(source = %shared.ctx.id, feed = %sub.url, panic = %message, restart_in = ?delay, "feed loop crashed");
                        mark_crashed(&shared, &sub.url, &message).await;
                        if shared.ctx.mode == RunMode::Continuous && !shared.ctx.is_shutting_down() {
                            let handle = loops.spawn(feed_loop(Arc::clone(&shared), sub.clone(), Some(delay)));
                            running.insert(handle.id(), sub);
                        }
                    }
                }
            }
        }
        while loops.join_next().await.is_some() {}
        Ok(())
    }
}

/// Writes the crash into the feed's state: `khabar feeds` shows it until a poll succeeds.
async fn mark_crashed(shared: &Shared, feed: &str, message: &str) {
    let store = shared.ctx.state.as_ref();
    let mut state = load_state(store, &shared.ctx.id, feed).await;
    state.crashed = Some(format!("{message} (at {})", Utc::now().to_rfc3339()));
    save_state(store, &shared.ctx.id, feed, &state).await;
    shared.board.set(feed, health::FeedHealth::Crashed);
}

fn to_std(d: chrono::TimeDelta) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

async fn feed_loop(shared: Arc<Shared>, sub: Subscription, restart_after: Option<Duration>) {
    let ctx = &shared.ctx;
    if let Some(delay) = restart_after {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.shutdown_requested() => return,
        }
    }
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
        shared
            .board
            .set(&sub.url, health::FeedHealth::of(&state, sub.enabled));
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
                    // Not held while waiting: thousands of feeds asleep would keep every seen
                    // set in memory. Read again when due.
                    drop(state);
                    tokio::select! {
                        _ = tokio::time::sleep(to_std(next - now)) => {}
                        _ = ctx.shutdown_requested() => return,
                    }
                    continue;
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
