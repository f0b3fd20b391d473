//! `cargo xtask bench dedupe`: what a near-duplicate lookup and insert cost with 10k, 100k,
//! 250k (the stage's default `max_entries`) and 1M SimHashes stored, at the default
//! `max_distance = 10`, in the approximate multi-index that `dedupe` uses by default, in the
//! exact one (`near_search = "exact"`), and in the banding they replaced (11 bands of 5–6
//! bits, the pigeonhole at k = 10), re-created here for the comparison; and how many
//! near-copies the approximate search finds, against the exact one.
//!
//! Hashes are pseudo-random (xorshift, fixed seed), as SimHashes of unrelated texts are; a
//! tenth of the queries are planted near-copies (4 to 10 bits away) of stored hashes, so the
//! answers are checked as well as timed. One thread; each figure is the fastest of three
//! rounds of 20,000 queries (then as many inserts). The indexes are sized up front as the
//! stage sizes its own, for its default `max_entries` or for what is stored where that is more.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use khabar_normalizer::near::NearIndex;

const MAX_DISTANCE: u32 = 10;
const ROUND: usize = 20_000;
/// The room the `dedupe` stage makes at its default `max_entries` (250,000, and 4,096 more
/// for the records between two sweeps).
const STAGE_ROOM: usize = 250_000 + 4096;

fn stream(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed | 1;
    std::iter::from_fn(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Some(state)
    })
}

/// The design `dedupe` had before: `k + 1` bands, every record under each.
struct Banded {
    bands: HashMap<(u32, u64), Vec<u32>>,
    hashes: Vec<u64>,
}

impl Banded {
    fn band_values(hash: u64) -> impl Iterator<Item = (u32, u64)> {
        let count = MAX_DISTANCE + 1;
        let width = 64 / count;
        (0..count).map(move |b| {
            let shift = b * width;
            let bits = if b == count - 1 { 64 - shift } else { width };
            (b, hash >> shift & ((1u64 << bits) - 1))
        })
    }

    fn insert(&mut self, hash: u64) {
        let slot = u32::try_from(self.hashes.len()).unwrap_or(u32::MAX);
        self.hashes.push(hash);
        for band in Self::band_values(hash) {
            self.bands.entry(band).or_default().push(slot);
        }
    }

    fn nearest(&self, hash: u64) -> Option<u32> {
        let mut best: Option<u32> = None;
        for band in Self::band_values(hash) {
            for slot in self.bands.get(&band).into_iter().flatten() {
                let stored = self.hashes.get(*slot as usize).copied().unwrap_or(0);
                let distance = (stored ^ hash).count_ones();
                if distance <= MAX_DISTANCE && best.is_none_or(|d| distance < d) {
                    best = Some(distance);
                }
            }
        }
        best
    }
}

/// Queries: mostly unrelated hashes, one in ten a near-copy of a stored one.
fn queries(stored: &[u64], seed: u64) -> Vec<(u64, bool)> {
    let mut random = stream(seed);
    (0..ROUND)
        .map(|i| {
            let pick = random.next().unwrap_or(0);
            if i % 10 == 0 && !stored.is_empty() {
                let base = stored[(pick as usize) % stored.len()];
                let mut query = base;
                let bits = 4 + (pick % 7) as u32;
                while (query ^ base).count_ones() < bits {
                    query ^= 1 << (random.next().unwrap_or(0) % 64);
                }
                (query, true)
            } else {
                (pick, false)
            }
        })
        .collect()
}

fn per_operation(spent: Duration) -> f64 {
    spent.as_secs_f64() * 1e6 / ROUND as f64
}

/// The fastest of three rounds of lookups, and what each lookup found in the last (whether a
/// stored hash within the distance, and its distance).
fn time_lookups(
    asked: &[(u64, bool)],
    mut nearest: impl FnMut(u64) -> Option<u32>,
) -> (Duration, Vec<Option<u32>>) {
    let mut fastest = Duration::MAX;
    let mut found = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        found = asked.iter().map(|(query, _)| nearest(*query)).collect();
        fastest = fastest.min(started.elapsed());
    }
    (fastest, found)
}

/// The fastest of three rounds of `ROUND` inserts, each round removed again afterwards so
/// that every round starts from the same index.
fn time_inserts(index: &mut NearIndex<usize>) -> Duration {
    let mut fastest = Duration::MAX;
    for round in 0..3u64 {
        let fresh: Vec<u64> = stream(7000 + round).take(ROUND).collect();
        let started = Instant::now();
        let slots: Vec<u32> = fresh
            .iter()
            .enumerate()
            .map(|(i, h)| index.insert(*h, i))
            .collect();
        fastest = fastest.min(started.elapsed());
        for slot in slots {
            index.remove(slot);
        }
    }
    fastest
}

/// The share of planted near-copies exactly `bits` away from stored hashes that the
/// approximate index finds.
fn recall_at(index: &NearIndex<usize>, stored: &[u64], bits: u32) -> f64 {
    let mut random = stream(500 + u64::from(bits));
    let trials = 5000;
    let found = (0..trials)
        .filter(|_| {
            let base = stored[(random.next().unwrap_or(0) as usize) % stored.len()];
            let mut query = base;
            while (query ^ base).count_ones() < bits {
                query ^= 1 << (random.next().unwrap_or(0) % 64);
            }
            index.nearest(query, |_| true).is_some()
        })
        .count();
    found as f64 / trials as f64
}

fn main() {
    println!("| stored | approximate lookup µs | approximate insert µs | exact lookup µs | exact insert µs | banded lookup µs | planted copies found, approximate / exact |");
    println!("|---|---|---|---|---|---|---|");
    let mut recall_rows = Vec::new();
    for stored_count in [10_000usize, 100_000, 250_000, 1_000_000] {
        let stored: Vec<u64> = stream(42).take(stored_count).collect();
        let mut approximate = NearIndex::new(MAX_DISTANCE);
        let mut exact = NearIndex::exact(MAX_DISTANCE);
        // Sized as the stage sizes them: for its `max_entries` (and the records it may run
        // past it between sweeps), or for what is stored where that is more.
        approximate.reserve(stored_count.max(STAGE_ROOM));
        exact.reserve(stored_count.max(STAGE_ROOM));
        let mut banded = Banded {
            bands: HashMap::new(),
            hashes: Vec::new(),
        };
        for (i, hash) in stored.iter().enumerate() {
            approximate.insert(*hash, i);
            exact.insert(*hash, i);
            banded.insert(*hash);
        }
        let asked = queries(&stored, 1000);
        let (approximate_time, approximate_found) =
            time_lookups(&asked, |q| approximate.nearest(q, |_| true).map(|(_, d)| d));
        let (exact_time, exact_found) =
            time_lookups(&asked, |q| exact.nearest(q, |_| true).map(|(_, d)| d));
        let (banded_time, banded_found) = time_lookups(&asked, |q| banded.nearest(q));
        if exact_found != banded_found {
            eprintln!("the exact index and the banding disagree at {stored_count} stored");
            std::process::exit(1);
        }
        let planted = asked.iter().filter(|(_, planted)| *planted).count();
        let mut found = [0usize; 2];
        for (((_, was_planted), a), e) in asked.iter().zip(&approximate_found).zip(&exact_found) {
            if e.is_none() && *was_planted {
                eprintln!("the exact index missed a planted near-copy");
                std::process::exit(1);
            }
            // The approximate search finds a subset of what the exact one does: never a hash
            // the exact one did not find, never one nearer than the nearest.
            let impossible = match (a, e) {
                (Some(_), None) => true,
                (Some(a), Some(e)) => a < e,
                (None, _) => false,
            };
            if impossible {
                eprintln!("the approximate index found what the exact one did not");
                std::process::exit(1);
            }
            if *was_planted {
                found[0] += usize::from(a.is_some());
                found[1] += usize::from(e.is_some());
            }
        }
        let approximate_insert = time_inserts(&mut approximate);
        let exact_insert = time_inserts(&mut exact);
        println!(
            "| {stored_count} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} of {planted} |",
            per_operation(approximate_time),
            per_operation(approximate_insert),
            per_operation(exact_time),
            per_operation(exact_insert),
            per_operation(banded_time),
            found[0],
            found[1],
        );
        if stored_count == 250_000 {
            recall_rows = (6..=MAX_DISTANCE)
                .map(|bits| (bits, recall_at(&approximate, &stored, bits)))
                .collect();
        }
    }
    println!(
        "\nApproximate search ({} cuts), share of near-copies exactly so many bits away that it finds (5,000 each, 250,000 stored; the exact search finds all):\n",
        NearIndex::<usize>::new(MAX_DISTANCE).cuts()
    );
    println!("| bits apart | found |\n|---|---|");
    for (bits, recall) in recall_rows {
        println!("| {bits} | {:.1} % |", recall * 100.0);
    }
}
