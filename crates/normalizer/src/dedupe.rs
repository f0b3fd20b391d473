//! The `dedupe` transform: exact duplicates (same canonical URL, same content) and
//! near-duplicates (syndicated copies, small edits) by 64-bit SimHash over word shingles.
//!
//! Fingerprints live in memory, the SimHashes in a multi-index ([`crate::near::NearIndex`]:
//! a lookup probes a fixed number of places, each holding a share of the records that
//! `max_entries` bounds), and in the state store
//! so a restart remembers them; entries older than `ttl` are forgotten while running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::near::NearIndex;
use chrono::{DateTime, Utc};
use khabar_core_model::{
    Article, BuildContext, RecordId, StageError, StateStore, Transform, TransformConfig, Verdict,
};
use serde::{Deserialize, Serialize};

/// `[transforms.<id>] type = "dedupe"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeConfig {
    /// Most differing bits (of 64) for two texts to count as near-duplicates.
    #[serde(default = "default_max_distance")]
    pub max_distance: u32,
    /// Words per shingle.
    #[serde(default = "default_shingle")]
    pub shingle: usize,
    /// How long a fingerprint is remembered.
    #[serde(
        default = "default_ttl",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub ttl: Duration,
    /// Drop duplicates (counted as delivered) instead of marking them.
    #[serde(default)]
    pub drop: bool,
    /// Texts shorter than this many words are only checked for exact duplicates: a short
    /// text's SimHash says little.
    #[serde(default = "default_min_words")]
    pub min_words: usize,
    /// Most fingerprints held in memory (about 460 bytes each, claimed as the index fills
    /// its tables, which are sized for this bound when the stage starts); past it the oldest
    /// are forgotten before `ttl`, and the stage says how far back it still reaches.
    #[serde(default = "default_max_entries")]
    pub max_entries: usize,
    /// How near-duplicates more than 7 bits apart are searched: `"approximate"` (the default:
    /// a lookup probes a fixed number of places, at about half the cost of the exact search,
    /// and finds 98 % of pairs exactly `max_distance` bits apart, all pairs up to 7) or
    /// `"exact"` (never misses one; see [`crate::near`]).
    #[serde(default)]
    pub near_search: NearSearch,
}

/// `near_search` of `[transforms.<id>] type = "dedupe"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NearSearch {
    #[default]
    Approximate,
    Exact,
}

/// A week of a 1,000-feed monitor at 35 new articles per feed a day, in about 95 MB: copies of
/// a story come within hours or days of it, and a bigger deployment raises it.
fn default_max_entries() -> usize {
    250_000
}

/// The longest `ttl`: past it date arithmetic could overflow, and no newsroom needs to match
/// a copy against a story ten years old.
const LONGEST_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// The moment before which fingerprints are forgotten.
fn oldest_kept(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(ttl.min(LONGEST_TTL))
        .ok()
        .and_then(|ttl| now.checked_sub_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// 10 of 64 bits catches a syndicated copy with its own dateline, a reworded sentence and a
/// trimmed last paragraph; unrelated texts sit near 32 bits apart.
fn default_max_distance() -> u32 {
    10
}
fn default_shingle() -> usize {
    3
}
fn default_ttl() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_min_words() -> usize {
    30
}

/// FNV-1a: a stable 64-bit hash (fingerprints are stored, so the hash must never change).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Words of a text in search form (see `khabar_text::normalize_for_search`).
pub fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !khabar_text::is_alphanumeric(c))
        .filter(|w| !w.is_empty())
        .collect()
}

/// 64-bit SimHash over `shingle`-word shingles.
pub fn simhash(words: &[&str], shingle: usize) -> u64 {
    let shingle = shingle.max(1);
    let mut weights = [0i64; 64];
    let mut add = |text: &str| {
        let h = fnv1a(text.as_bytes());
        for (bit, weight) in weights.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *weight += 1;
            } else {
                *weight -= 1;
            }
        }
    };
    if words.len() < shingle {
        add(&words.join(" "));
    } else {
        for window in words.windows(shingle) {
            add(&window.join(" "));
        }
    }
    weights.iter().enumerate().fold(
        0u64,
        |acc, (bit, w)| if *w > 0 { acc | 1 << bit } else { acc },
    )
}

/// What is remembered of one record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Fingerprint {
    simhash: Option<u64>,
    content_hash: Option<String>,
    canonical_url: Option<String>,
    cluster: RecordId,
    seen_at: DateTime<Utc>,
}

/// What the in-memory index keeps of one record: integers and a 16-byte id (56 bytes; about
/// 460 with its share of the maps and of the near-duplicate tables, against 1.2 KB when ids,
/// URLs and hashes were kept as strings in each map).
#[derive(Debug, Clone)]
struct Entry {
    id: StoredId,
    /// The slot of its SimHash in [`Index::near`], when it has one.
    near_slot: Option<u32>,
    /// The story's first record, when it is another (boxed: most records start a story, and
    /// an empty box costs 8 bytes where an empty id costs 24).
    cluster: Option<Box<StoredId>>,
    seen_at: DateTime<Utc>,
}

/// A record id as the index keeps it: the 16 bytes its 32 lower-case hex digits stand for
/// (every id Khabar makes), or the text itself for an id from elsewhere (a message header, an
/// older store), so that any id goes back to exactly the text it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum StoredId {
    Digest([u8; 16]),
    Text(Box<str>),
}

impl StoredId {
    fn of(id: &RecordId) -> StoredId {
        let text = id.as_str();
        // Lower-case only: an upper-case id must come back upper-case.
        if text.len() == 32 && !text.bytes().any(|b| b.is_ascii_uppercase()) {
            if let Some(Ok(bytes)) = khabar_core_model::hex::decode(text).map(<[u8; 16]>::try_from)
            {
                return StoredId::Digest(bytes);
            }
        }
        StoredId::Text(text.into())
    }

    fn to_record_id(&self) -> RecordId {
        match self {
            StoredId::Digest(bytes) => RecordId::from_stored(khabar_core_model::hex::encode(bytes)),
            StoredId::Text(text) => RecordId::from_stored(text.as_ref()),
        }
    }
}

/// A URL, content hash or id as a table key: 64 bits of a keyed hash. Two different values
/// share a key with odds of about one in 2⁶⁴ per pair — far below any other error of the stage
/// — and a record found by its id is checked against the id it holds.
fn key_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::BuildHasher;
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(Default::default).hash_one(value)
}

struct Index {
    /// Records by slot; a freed slot is `None` until reused.
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    /// Slots by [`key_of`] the record's [`StoredId`].
    slot_of: HashMap<u64, u32>,
    by_url: HashMap<u64, u32>,
    by_content: HashMap<u64, u32>,
    /// SimHashes, valued by slot.
    near: NearIndex<u32>,
    /// Inserts since expired fingerprints were last swept out.
    since_sweep: usize,
    /// Fingerprints forgotten here and still in the state store: deleted a few per record
    /// ([`Index::take_deletes`]), so the store stays the size of the index without a pause at
    /// each sweep.
    unstored: Vec<RecordId>,
}

/// Inserts between two sweeps of expired fingerprints: often enough to keep the index near
/// its live size, rarely enough that the sweep's cost is small per record.
const SWEEP_EVERY: usize = 4096;

impl Index {
    /// An empty index with room for `max_entries` fingerprints (up to a million) made up
    /// front: its tables are claimed once, when the stage starts, rather than growing with
    /// every record until the index is full — so a long run's memory is flat from its first
    /// minutes, and what does grow later is not the index.
    fn new(max_distance: u32, search: NearSearch, max_entries: usize) -> Index {
        // A sweep comes every `SWEEP_EVERY` records, so the index may run that far past its
        // bound before it is cut back.
        let room = max_entries.min(1_000_000).saturating_add(SWEEP_EVERY);
        let mut near = match search {
            NearSearch::Approximate => NearIndex::new(max_distance),
            NearSearch::Exact => NearIndex::exact(max_distance),
        };
        near.reserve(room);
        Index {
            entries: Vec::with_capacity(room),
            free: Vec::new(),
            slot_of: HashMap::with_capacity(room),
            by_url: HashMap::with_capacity(room),
            by_content: HashMap::with_capacity(room),
            near,
            since_sweep: 0,
            unstored: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.slot_of.len()
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.entries.get(slot as usize).and_then(Option::as_ref)
    }

    fn insert(&mut self, id: RecordId, fp: Fingerprint) {
        let cluster = (fp.cluster != id).then(|| Box::new(StoredId::of(&fp.cluster)));
        let id = StoredId::of(&id);
        let id_key = key_of(&id);
        let slot = match self.slot_of.get(&id_key) {
            Some(slot) => *slot,
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.entries.push(None);
                        // More than 2³² records never fit in memory; `max_entries` is far below.
                        u32::try_from(self.entries.len() - 1).unwrap_or(u32::MAX)
                    }
                };
                self.slot_of.insert(id_key, slot);
                slot
            }
        };
        if let Some(url) = &fp.canonical_url {
            self.by_url.entry(key_of(url)).or_insert(slot);
        }
        if let Some(hash) = &fp.content_hash {
            self.by_content.entry(key_of(hash)).or_insert(slot);
        }
        let old_near = self.entry(slot).and_then(|e| e.near_slot);
        if let Some(old) = old_near {
            self.near.remove(old);
        }
        let near_slot = fp.simhash.map(|simhash| self.near.insert(simhash, slot));
        if let Some(place) = self.entries.get_mut(slot as usize) {
            *place = Some(Entry {
                id,
                near_slot,
                cluster,
                seen_at: fp.seen_at,
            });
        }
        self.since_sweep += 1;
    }

    /// Forgets fingerprints seen before `oldest` from every table, and when more than
    /// `max_entries` are left, the oldest down to nine tenths of it: a daemon that runs for
    /// months keeps only what `ttl` and `max_entries` ask for, and a full index pays for a sweep
    /// once per tenth of its size, not at every record.
    ///
    /// Returns the ids forgotten, for the state store to forget too.
    fn evict(&mut self, oldest: DateTime<Utc>, max_entries: usize) -> Vec<RecordId> {
        self.since_sweep = 0;
        let mut forgotten = Vec::new();
        let mut threshold = oldest;
        if self.len() > max_entries {
            let mut ages: Vec<DateTime<Utc>> =
                self.entries.iter().flatten().map(|e| e.seen_at).collect();
            let keep = max_entries - max_entries / 10;
            let cut = ages
                .len()
                .saturating_sub(keep)
                .min(ages.len().saturating_sub(1));
            ages.select_nth_unstable(cut);
            if ages[cut] > oldest {
                tracing::warn!(
                    max_entries,
                    reaches_back_to = %ages[cut],
                    "dedupe index full: duplicates are found back to this time only, short of `ttl`; raise `max_entries` to reach further"
                );
            }
            threshold = threshold.max(ages[cut]);
        }
        for (slot, place) in self.entries.iter_mut().enumerate() {
            let Some(entry) = place.as_ref().filter(|e| e.seen_at < threshold) else {
                continue;
            };
            if let Some(near) = entry.near_slot {
                self.near.remove(near);
            }
            self.slot_of.remove(&key_of(&entry.id));
            forgotten.push(entry.id.to_record_id());
            *place = None;
            self.free.push(u32::try_from(slot).unwrap_or(u32::MAX));
        }
        let entries = &self.entries;
        let live = |slot: &mut u32| entries.get(*slot as usize).is_some_and(Option::is_some);
        self.by_url.retain(|_, slot| live(slot));
        self.by_content.retain(|_, slot| live(slot));
        forgotten
    }

    /// Up to `limit` forgotten fingerprints for the state store to delete, leaving out any
    /// whose record came again since (it has a new fingerprint to keep).
    fn take_deletes(&mut self, limit: usize) -> Vec<RecordId> {
        let keep = self.unstored.len().saturating_sub(limit);
        let batch = self.unstored.split_off(keep);
        batch
            .into_iter()
            .filter(|id| !self.slot_of.contains_key(&key_of(&StoredId::of(id))))
            .collect()
    }

    fn live(&self, id: &RecordId, oldest: DateTime<Utc>) -> Option<&Entry> {
        let id = StoredId::of(id);
        let slot = *self.slot_of.get(&key_of(&id))?;
        self.entry(slot)
            .filter(|e| e.id == id && e.seen_at >= oldest)
    }

    /// The story a record belongs to: its first record's id.
    fn cluster_of(entry: &Entry) -> RecordId {
        entry.cluster.as_deref().unwrap_or(&entry.id).to_record_id()
    }
}

/// How a duplicate was recognised.
enum Match {
    Url(RecordId),
    Content(RecordId),
    Near(RecordId, u32),
}

#[async_trait]
impl TransformConfig for DedupeConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_distance > 20 {
            problems.push(format!(
                "field `max_distance`: {} of 64 bits is not a near-duplicate any more (at most 20)",
                self.max_distance
            ));
        }
        if self.shingle == 0 || self.shingle > 10 {
            problems.push("field `shingle`: between 1 and 10 words".to_string());
        }
        if self.ttl > LONGEST_TTL || self.ttl.is_zero() {
            problems.push(format!(
                "field `ttl`: {:?} is out of range (more than zero, at most 10 years)",
                self.ttl
            ));
        }
        if self.max_entries == 0 || self.max_entries > 100_000_000 {
            problems.push(format!(
                "field `max_entries`: {} is out of range (1 to 100000000)",
                self.max_entries
            ));
        }
        problems
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        let namespace = ctx.stage_id.clone();
        let oldest = oldest_kept(Utc::now(), self.ttl);
        let mut index = Index::new(self.max_distance, self.near_search, self.max_entries);
        let keys = ctx
            .state
            .keys(&namespace)
            .await
            .map_err(|e| StageError::config(e.to_string()))?;
        let mut remembered = Vec::new();
        for key in keys {
            let Ok(Some(bytes)) = ctx.state.get(&namespace, &key).await else {
                continue;
            };
            match serde_json::from_slice::<Fingerprint>(&bytes) {
                Ok(fp) if fp.seen_at >= oldest => remembered.push((RecordId::from_stored(key), fp)),
                // Expired or unreadable: forget it.
                _ => {
                    let _ = ctx.state.delete(&namespace, &key).await;
                }
            }
        }
        // Oldest first, so the first record of a story keeps representing it.
        remembered.sort_by_key(|(_, fp)| fp.seen_at);
        for (id, fp) in remembered {
            index.insert(id, fp);
        }
        if index.len() > self.max_entries {
            for id in index.evict(oldest, self.max_entries) {
                let _ = ctx.state.delete(&namespace, id.as_str()).await;
            }
        }
        Ok(Box::new(Dedupe {
            config: self.clone(),
            namespace,
            state: Arc::clone(&ctx.state),
            index: Mutex::new(index),
        }))
    }
}

struct Dedupe {
    config: DedupeConfig,
    namespace: String,
    state: Arc<dyn StateStore>,
    index: Mutex<Index>,
}

/// State-store deletes per record: more than the one fingerprint each record adds, so the
/// backlog of a sweep drains.
const DELETES_PER_RECORD: usize = 4;

impl Dedupe {
    fn find(
        &self,
        index: &Index,
        article: &Article,
        simhash: Option<u64>,
        oldest: DateTime<Utc>,
    ) -> Option<Match> {
        let own = StoredId::of(&article.id);
        let other = |slot: &u32| {
            index
                .entry(*slot)
                .filter(|e| e.id != own && e.seen_at >= oldest)
                .map(|e| e.id.to_record_id())
        };
        if let Some(id) = article
            .canonical_url
            .as_deref()
            .and_then(|u| index.by_url.get(&key_of(u)))
            .and_then(other)
        {
            return Some(Match::Url(id));
        }
        if let Some(id) = article
            .content_hash
            .as_deref()
            .and_then(|h| index.by_content.get(&key_of(h)))
            .and_then(other)
        {
            return Some(Match::Content(id));
        }
        let simhash = simhash?;
        index
            .near
            .nearest(simhash, |slot| other(slot).is_some())
            .and_then(|(slot, distance)| Some(Match::Near(other(slot)?, distance)))
    }
}

#[async_trait]
impl Transform for Dedupe {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        let basis = article.text_normalized.clone().or_else(|| {
            article
                .text
                .as_deref()
                .map(khabar_text::normalize_for_search)
        });
        let simhash = basis
            .as_deref()
            .map(words)
            .filter(|w| w.len() >= self.config.min_words)
            .map(|w| simhash(&w, self.config.shingle));
        if let Some(hash) = simhash {
            article.simhash = Some(format!("{hash:016x}"));
        }
        let now = Utc::now();
        let oldest = oldest_kept(now, self.config.ttl);
        let (found, fingerprint, deletes) = {
            let mut index = match self.index.lock() {
                Ok(index) => index,
                // A panic while the index was held left it as it was between two records at
                // worst (each insert is whole or absent): it stays usable.
                Err(poisoned) => poisoned.into_inner(),
            };
            if index.since_sweep >= SWEEP_EVERY || index.len() > self.config.max_entries {
                let forgotten = index.evict(oldest, self.config.max_entries);
                index.unstored.extend(forgotten);
            }
            // A record seen before (a replay after a crash) keeps its cluster.
            if let Some(known) = index.live(&article.id, oldest) {
                let cluster = Index::cluster_of(known);
                article.cluster_id = Some(cluster.clone());
                if cluster != article.id {
                    article.duplicate_of = Some(cluster);
                }
                return Ok(Verdict::Keep);
            }
            let found = self.find(&index, article, simhash, oldest);
            let cluster = match &found {
                Some(Match::Url(id) | Match::Content(id) | Match::Near(id, _)) => index
                    .live(id, oldest)
                    .map(Index::cluster_of)
                    .unwrap_or_else(|| id.clone()),
                None => article.id.clone(),
            };
            let fingerprint = Fingerprint {
                simhash,
                content_hash: article.content_hash.clone(),
                canonical_url: article.canonical_url.clone(),
                cluster,
                seen_at: now,
            };
            index.insert(article.id.clone(), fingerprint.clone());
            (found, fingerprint, index.take_deletes(DELETES_PER_RECORD))
        };
        for id in deletes {
            if let Err(e) = self.state.delete(&self.namespace, id.as_str()).await {
                // Left behind: the next start forgets it again.
                tracing::debug!(stage = %self.namespace, error = %e, "cannot delete a forgotten fingerprint");
            }
        }
        let bytes =
            serde_json::to_vec(&fingerprint).map_err(|e| StageError::permanent(e.to_string()))?;
        self.state
            .put(&self.namespace, article.id.as_str(), &bytes)
            .await
            .map_err(|e| StageError::transient(e.to_string()))?;
        article.cluster_id = Some(fingerprint.cluster.clone());
        let Some(found) = found else {
            return Ok(Verdict::Keep);
        };
        let (kind, distance) = match found {
            Match::Url(_) => ("canonical_url", 0),
            Match::Content(_) => ("content", 0),
            Match::Near(_, d) => ("near", d),
        };
        // The story's first record, not whichever copy matched.
        let of = fingerprint.cluster.clone();
        article.duplicate_of = Some(of.clone());
        article.attrs.insert(
            "duplicate".into(),
            serde_json::json!({"kind": kind, "hamming_distance": distance}),
        );
        if self.config.drop {
            return Ok(Verdict::Drop {
                reason: format!("{kind} duplicate of {of}"),
            });
        }
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(seen_at: DateTime<Utc>, simhash: u64, url: &str) -> Fingerprint {
        Fingerprint {
            simhash: Some(simhash),
            content_hash: Some(format!("c-{url}")),
            canonical_url: Some(url.to_string()),
            cluster: RecordId::from_url(url),
            seen_at,
        }
    }

    #[test]
    fn the_index_forgets_what_ttl_and_max_entries_ask_for() {
        let now = Utc::now();
        let mut index = Index::new(10, NearSearch::Approximate, 1000);
        for i in 0..100u64 {
            let url = format!("https://x/{i}");
            let seen_at = now - chrono::TimeDelta::hours(i64::try_from(i).unwrap_or(0));
            index.insert(RecordId::from_url(&url), fingerprint(seen_at, i, &url));
        }
        // Fingerprints older than 50 hours expire; of the 51 left, past `max_entries = 20`,
        // the 18 newest stay (nine tenths, so that the next sweep is a tenth away).
        let forgotten = index.evict(now - chrono::TimeDelta::hours(50), 20);
        assert_eq!(forgotten.len(), 82);
        assert!(forgotten.contains(&RecordId::from_url("https://x/99")));
        assert_eq!(index.len(), 18);
        assert_eq!(index.by_url.len(), 18);
        assert_eq!(index.by_content.len(), 18);
        assert_eq!(index.near.len(), 18);
        assert_eq!(index.entries.iter().flatten().count(), 18);
        assert!(index
            .live(
                &RecordId::from_url("https://x/0"),
                now - chrono::TimeDelta::hours(50)
            )
            .is_some());
        assert!(index
            .live(
                &RecordId::from_url("https://x/20"),
                now - chrono::TimeDelta::hours(50)
            )
            .is_none());
        // Freed slots are taken again, and the tables point at the new record, not the old.
        let url = "https://x/new";
        index.insert(RecordId::from_url(url), fingerprint(now, 1 << 40, url));
        assert_eq!(index.entries.iter().flatten().count(), 19);
        assert_eq!(index.entries.len(), 100, "a freed slot is reused");
        let slot = index.by_url.get(&key_of(url)).copied().unwrap_or(u32::MAX);
        assert_eq!(
            index.entry(slot).map(|e| e.id.to_record_id()),
            Some(RecordId::from_url(url))
        );
    }

    #[test]
    fn stored_ids_go_back_to_the_text_they_came_from() {
        for text in [
            RecordId::from_url("https://x/1").as_str().to_string(),
            "0123456789ABCDEF0123456789abcdef".to_string(),
            "0123456789abcdef0123456789abcde".to_string(),
            "not-hex-at-all-but-thirty-two-ch".to_string(),
            "قصف".to_string(),
            String::new(),
        ] {
            let id = RecordId::from_stored(text.clone());
            let stored = StoredId::of(&id);
            assert_eq!(stored.to_record_id().as_str(), text);
        }
        assert!(matches!(
            StoredId::of(&RecordId::from_url("https://x/1")),
            StoredId::Digest(_)
        ));
    }

    #[test]
    fn a_huge_ttl_is_refused_and_never_overflows() {
        let config: DedupeConfig = serde_json::from_value(serde_json::json!({"ttl": "300000y"}))
            .unwrap_or_else(|e| {
                panic!("decodes: {e}");
            });
        assert!(config.validate().iter().any(|p| p.contains("`ttl`")));
        let far = oldest_kept(Utc::now(), Duration::from_secs(u64::MAX));
        assert!(far < Utc::now());
    }
}
