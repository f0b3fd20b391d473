//! One poll of one feed: fetch (conditionally), parse, emit the new items, wait for their
//! outcomes, and commit the checkpoint for what was settled.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use khabar_core_model::{AckReceiver, Article, FeedRef, Outcome, RunStats};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::health::FeedHealth;
use super::state::{save_state, FeedState};
use super::subscriptions::Subscription;
use super::{to_std, Kind, Shared};
use crate::feed::{parse_feed, FeedError, FeedItem, ParsedFeed};
use crate::http::{FailureKind, FetchError, Validators};
use crate::schedule::Policy;
use crate::sitemap::{parse_sitemap, Sitemap};

/// Parses a feed on a blocking thread: a 16 MB feed takes long enough to stall the async
/// workers that poll every other feed. The body is moved there, not copied.
async fn parse_off_thread(
    body: Vec<u8>,
    content_type: Option<String>,
    url: String,
) -> Result<ParsedFeed, FeedError> {
    tokio::task::spawn_blocking(move || parse_feed(&body, content_type.as_deref(), &url))
        .await
        .unwrap_or_else(|e| Err(FeedError::Invalid(format!("feed parser task: {e}"))))
}

/// `now + wait`, saturating: waits come from servers and persisted state, and a date past
/// chrono's range must mean "much later", never a panic.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(wait)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn body_hash(body: &[u8]) -> String {
    khabar_core_model::hex::encode(&Sha256::digest(body)[..16])
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
    // The configured address may be a local file; an address learnt from the network (a
    // redirect, the feed an HTML page links to) may only be http(s).
    let fetched = if state.current_url.is_some() {
        shared.fetcher.get(url, Some(&state.validators)).await?
    } else {
        shared
            .fetcher
            .get_configured(url, Some(&state.validators))
            .await?
    };
    let Some(mut fetched) = fetched else {
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
        Kind::Feed => match parse_off_thread(
            std::mem::take(&mut fetched.body),
            fetched.content_type.clone(),
            fetched.final_url.clone(),
        )
        .await
        {
            Ok(feed) => (feed, None, Some(hash)),
            Err(FeedError::Html { alternates, .. }) if !alternates.is_empty() => {
                let page = &fetched.final_url;
                // The page's feed link came from the network: http(s) only (see `get`).
                let link = &alternates[0];
                // Worded as `khabar inspect feed` words it, naming each URL once.
                let via = |e: FetchError| FetchError {
                    message: format!(
                        "{page}: an HTML page; it links to the feed {link}, which failed: {}",
                        e.message
                            .strip_prefix(&format!("{link}: "))
                            .unwrap_or(&e.message)
                    ),
                    ..e
                };
                let target =
                    url::Url::parse(link).map_err(|e| via(FetchError::permanent(e.to_string())))?;
                let linked = shared
                    .fetcher
                    .get(&target, None)
                    .await
                    .map_err(via)?
                    .ok_or_else(|| {
                        via(FetchError::transient(format!("{target}: unexpected 304")))
                    })?;
                let feed =
                    parse_off_thread(linked.body, linked.content_type, linked.final_url.clone())
                        .await
                        .map_err(|e| via(FetchError::permanent(e.to_string())))?;
                (feed, Some(linked.final_url), None)
            }
            Err(e) => return Err(FetchError::permanent(e.to_string())),
        },
        Kind::Sitemap => match parse_sitemap(&fetched.body, content_type, &fetched.final_url)
            .map_err(|e| FetchError::permanent(e.to_string()))?
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

pub(super) async fn poll(
    shared: &Shared,
    sub: &Subscription,
    policy: &Policy,
    mut state: FeedState,
) {
    let ctx = &shared.ctx;
    let key = sub.url.as_str();
    let polling = state.current_url.clone().unwrap_or_else(|| sub.url.clone());
    let now = Utc::now();
    let elapsed = state.last_success.map(|t| to_std(now - t));
    state.last_poll = Some(now);
    RunStats::add(&ctx.stats.feeds_polled, 1);
    let Ok(url) = url::Url::parse(&polling) else {
        state.disabled = Some(format!("{polling}: not a URL"));
        finish(shared, key, &state, "error").await;
        return;
    };
    let Ok(permit) = shared.permits.acquire().await else {
        return;
    };
    let fetched = fetch_document(shared, &url, &state).await;
    let doc = match fetched {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            drop(permit);
            tracing::debug!(source = %ctx.id, feed = key, "not modified");
            unchanged(&mut state, policy, now, elapsed);
            finish(shared, key, &state, "not_modified").await;
            return;
        }
        Err(e) => {
            drop(permit);
            failed(shared, key, &mut state, policy, now, &e);
            finish(
                shared,
                key,
                &state,
                if e.kind == FailureKind::Gone {
                    "gone"
                } else {
                    "error"
                },
            )
            .await;
            return;
        }
    };
    follow_moves(shared, key, &mut state, &doc);
    let Some(feed) = doc.feed else {
        drop(permit);
        tracing::debug!(source = %ctx.id, feed = key, "unchanged body");
        unchanged(&mut state, policy, now, elapsed);
        finish(shared, key, &state, "not_modified").await;
        return;
    };
    if !feed.repairs.is_empty() {
        tracing::info!(source = %ctx.id, feed = key, repairs = ?feed.repairs, "feed repaired before parsing");
    }
    state.title = feed.title.clone().or(state.title.take());
    let server_floor = [
        doc.fresh_for,
        feed.ttl_minutes
            .map(|m| Duration::from_secs(u64::from(m).saturating_mul(60))),
    ]
    .into_iter()
    .flatten()
    .max();
    state.server_floor_secs = server_floor.map(|d| d.as_secs());

    let seen: HashSet<&str> = state.seen.iter().map(String::as_str).collect();
    let (still_shown, new_items): (Vec<&FeedItem>, Vec<&FeedItem>) = feed
        .items
        .iter()
        .partition(|i| seen.contains(i.id.as_str()));
    // Remembered afresh below, so that an item the feed keeps showing (a pinned story) never
    // falls out of the window and comes again as new.
    let still_shown: Vec<String> = still_shown
        .into_iter()
        .map(|i| i.id.as_str().to_string())
        .collect();
    drop(seen);
    let mut waiting = Vec::new();
    let mut complete = true;
    for item in new_items {
        if ctx.is_shutting_down() {
            complete = false;
            break;
        }
        let article = item_to_article(&ctx.id, &polling, &feed, item, now);
        // Kept (small: no page yet) in case its retry budget runs out.
        match ctx.emit(article.clone()).await {
            Ok(receiver) => waiting.push((article, receiver)),
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    drop(permit);
    RunStats::add(&ctx.stats.items_new, waiting.len() as u64);
    let settled_new = waiting.len();
    tracing::info!(source = %ctx.id, feed = key, items = feed.items.len(), new = waiting.len(), "feed polled");

    let settled = settle(shared, key, &mut state, waiting).await;
    complete &= settled.all_settled;
    state.items_seen = state.items_seen.saturating_add(settled.delivered as u64);
    state.seen.extend(still_shown);
    state.seen.extend(settled.ids);
    let window = seen_window(feed.items.len(), shared.max_seen);
    state.seen = newest_unique(std::mem::take(&mut state.seen), window);
    if state.attempts.len() > shared.max_seen {
        // Bounded like `seen`; an item that left the feed has no further attempts anyway.
        let current: HashSet<&str> = feed.items.iter().map(|i| i.id.as_str()).collect();
        state.attempts.retain(|id, _| current.contains(id.as_str()));
    }
    if complete {
        // Only a fully delivered poll may move the validators: otherwise a 304 would hide the
        // items still waiting for a retry.
        state.validators = doc.validators;
        state.body_hash = doc.hash;
    }
    let wait = policy.after_success(
        &mut state.schedule,
        settled.delivered,
        elapsed,
        server_floor,
    );
    state.next_poll = Some(later(now, wait));
    state.last_success = Some(now);
    state.last_error = None;
    state.retry_not_before = None;
    state.crashed = None;
    finish(
        shared,
        key,
        &state,
        if settled_new > 0 {
            "new_items"
        } else {
            "no_new_items"
        },
    )
    .await;
}

/// Saves what a poll learnt, and counts how it ended.
async fn finish(shared: &Shared, key: &str, state: &FeedState, result: &'static str) {
    let ctx = &shared.ctx;
    save_state(ctx.state.as_ref(), &ctx.id, key, state).await;
    shared.board.set(key, FeedHealth::of(state, true));
    metrics::counter!(
        crate::metrics::FEED_POLLS,
        "component_id" => ctx.id.clone(),
        "result" => result
    )
    .increment(1);
}

/// A poll that found nothing new (304, or the same body as last time).
fn unchanged(
    state: &mut FeedState,
    policy: &Policy,
    now: DateTime<Utc>,
    elapsed: Option<Duration>,
) {
    let server_floor = state.server_floor_secs.map(Duration::from_secs);
    let wait = policy.after_success(&mut state.schedule, 0, elapsed, server_floor);
    state.next_poll = Some(later(now, wait));
    state.last_success = Some(now);
    state.last_error = None;
    state.retry_not_before = None;
    state.crashed = None;
}

/// A poll that failed: back off (never sooner than `Retry-After`), or disable after 410.
fn failed(
    shared: &Shared,
    key: &str,
    state: &mut FeedState,
    policy: &Policy,
    now: DateTime<Utc>,
    e: &FetchError,
) {
    let ctx = &shared.ctx;
    RunStats::add(&ctx.stats.feeds_failed, 1);
    // The log line and the feed listing name the feed already (a feed polled at another
    // address keeps that address in the message).
    let error = e
        .message
        .strip_prefix(&format!("{key}: "))
        .unwrap_or(&e.message)
        .to_string();
    if e.kind == FailureKind::Gone {
        tracing::warn!(source = %ctx.id, feed = key, %error, "feed is gone (HTTP 410); disabled");
        state.disabled = Some(format!("{error}; re-import the feed to poll it again"));
    } else {
        let wait = policy.after_failure(&mut state.schedule, e.retry_after);
        state.next_poll = Some(later(now, wait));
        state.retry_not_before = e.retry_after.map(|r| later(now, r));
        tracing::warn!(source = %ctx.id, feed = key, %error, errors = state.schedule.consecutive_errors, retry_in = ?wait, "feed poll failed");
    }
    state.last_error = Some(error);
}

/// A permanent redirect moves the feed once it is seen on two polls in a row; the feed an
/// HTML page links to is polled instead of the page.
fn follow_moves(shared: &Shared, key: &str, state: &mut FeedState, doc: &Document) {
    let ctx = &shared.ctx;
    match &doc.moved_permanently_to {
        Some(target) if state.moved_to.as_deref() == Some(target) => {
            state.moved_streak = state.moved_streak.saturating_add(1);
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
}

/// What became of a poll's items.
struct Settled {
    /// Ids not to emit again: delivered, rejected, or out of attempts.
    ids: Vec<String>,
    delivered: usize,
    /// False when some item comes back for another attempt.
    all_settled: bool,
}

/// Waits for every emitted item's outcome. An item that comes back for a retry counts an
/// attempt (persisted in the feed's state); when it has used `max_attempts`, it goes to the
/// dead-letter file with its last reason and is not emitted again.
async fn settle(
    shared: &Shared,
    key: &str,
    state: &mut FeedState,
    waiting: Vec<(Article, AckReceiver)>,
) -> Settled {
    let ctx = &shared.ctx;
    let mut settled = Settled {
        ids: Vec::new(),
        delivered: 0,
        all_settled: true,
    };
    for (article, receiver) in waiting {
        let id = article.id.to_string();
        let resolution = receiver.resolution().await;
        match resolution.outcome {
            Outcome::Delivered => {
                RunStats::add(&ctx.stats.delivered, 1);
                settled.delivered += 1;
                state.attempts.remove(&id);
                settled.ids.push(id);
            }
            Outcome::Rejected => {
                // In the dead-letter file with its reason; emitting it again would fail again.
                RunStats::add(&ctx.stats.rejected, 1);
                state.attempts.remove(&id);
                settled.ids.push(id);
            }
            Outcome::Retry if ctx.is_shutting_down() => {
                // Abandoned by the shutdown, not failed: no attempt is counted.
                RunStats::add(&ctx.stats.retried, 1);
                settled.all_settled = false;
            }
            Outcome::Retry => {
                let reason = resolution.reason.unwrap_or_default();
                let attempts = state.attempts.entry(id.clone()).or_insert(0);
                *attempts = attempts.saturating_add(1);
                if *attempts >= shared.max_attempts {
                    let why = format!(
                        "not delivered after {} polls; last reason: {reason}",
                        *attempts
                    );
                    tracing::warn!(source = %ctx.id, feed = key, item = %id, url = %article.url, reason = %why, "item out of attempts; written to the dead-letter file");
                    ctx.dead_letter(&article, &why);
                    state.attempts.remove(&id);
                    settled.ids.push(id);
                } else {
                    RunStats::add(&ctx.stats.retried, 1);
                    settled.all_settled = false;
                    tracing::info!(source = %ctx.id, feed = key, item = %id, attempt = *attempts, reason = %reason, "item not delivered; will try again next poll");
                }
            }
        }
    }
    settled
}

/// Item ids a feed remembers: five times as many as it shows, at least 100, at most
/// `max_seen`. Enough for an item that drops off and comes back to be recognised, while the
/// state loaded, parsed and held at every poll stays the size of the feed rather than of its
/// history (at 10,000 ids a feed, a month of polls made every poll slower and held tens of
/// megabytes across a thousand feeds). An item older than the window that comes back is
/// delivered again, and sinks keep one record per id.
fn seen_window(items_in_feed: usize, max_seen: usize) -> usize {
    items_in_feed.saturating_mul(5).max(100).min(max_seen)
}

/// The last `limit` distinct ids of `ids` (oldest first, as kept), each once.
fn newest_unique(ids: Vec<String>, limit: usize) -> Vec<String> {
    let mut unique = HashSet::with_capacity(ids.len().min(limit));
    let mut keep = vec![false; ids.len()];
    let mut kept = 0;
    for (i, id) in ids.iter().enumerate().rev() {
        if kept == limit {
            break;
        }
        if unique.insert(id.as_str()) {
            keep[i] = true;
            kept += 1;
        }
    }
    drop(unique);
    ids.into_iter()
        .zip(keep)
        .filter_map(|(id, keep)| keep.then_some(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::newest_unique;

    #[test]
    fn the_seen_list_keeps_the_newest_distinct_ids_in_order() {
        let ids: Vec<String> = ["a", "b", "a", "c", "d", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(newest_unique(ids.clone(), 10), ["b", "a", "d", "c"]);
        assert_eq!(newest_unique(ids.clone(), 2), ["d", "c"]);
        assert!(newest_unique(ids, 0).is_empty());
    }
}
