//! `cargo xtask bench dedupe`: what a near-duplicate lookup and insert cost with 10k, 100k,
//! 250k (the stage's default `max_entries`) and 1M SimHashes stored, at the default
//! `max_distance = 10`, in the multi-index that `dedupe` uses and in the banding it replaced
//! (11 bands of 5–6 bits, the pigeonhole at k = 10), re-created here for the comparison.
//!
//! Hashes are pseudo-random (xorshift, fixed seed), as SimHashes of unrelated texts are; a
//! tenth of the queries are planted near-copies (4 to 10 bits away) of stored hashes, so the
//! answers are checked as well as timed. One thread; each figure is the fastest of three
//! rounds of 20,000 queries (then as many inserts).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use khabar_normalizer::near::NearIndex;

const MAX_DISTANCE: u32 = 10;
const ROUND: usize = 20_000;

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

fn main() {
    println!("| stored | multi-index lookup µs | multi-index insert µs | banded lookup µs | banded insert µs |");
    println!("|---|---|---|---|---|");
    for stored_count in [10_000usize, 100_000, 250_000, 1_000_000] {
        let stored: Vec<u64> = stream(42).take(stored_count).collect();
        let mut index = NearIndex::new(MAX_DISTANCE);
        let mut banded = Banded {
            bands: HashMap::new(),
            hashes: Vec::new(),
        };
        for (i, hash) in stored.iter().enumerate() {
            index.insert(*hash, i);
            banded.insert(*hash);
        }
        let mut times = [Duration::MAX; 4];
        for round in 0..3u64 {
            let asked = queries(&stored, 1000 + round);
            let started = Instant::now();
            let mut found = 0;
            for (query, planted) in &asked {
                let hit = index.nearest(*query, |_| true).is_some();
                if *planted && !hit {
                    eprintln!("missed a planted near-copy");
                    std::process::exit(1);
                }
                found += usize::from(hit);
            }
            times[0] = times[0].min(started.elapsed());
            let started = Instant::now();
            let mut found_banded = 0;
            for (query, _) in &asked {
                found_banded += usize::from(banded.nearest(*query).is_some());
            }
            times[2] = times[2].min(started.elapsed());
            if found != found_banded {
                eprintln!("the two designs disagree: {found} against {found_banded}");
                std::process::exit(1);
            }
            // Inserts: new hashes, removed again so every round starts from the same index.
            let fresh: Vec<u64> = stream(7000 + round).take(ROUND).collect();
            let started = Instant::now();
            let slots: Vec<u32> = fresh
                .iter()
                .enumerate()
                .map(|(i, h)| index.insert(*h, i))
                .collect();
            times[1] = times[1].min(started.elapsed());
            for slot in slots {
                index.remove(slot);
            }
            let mut copy = Banded {
                bands: HashMap::new(),
                hashes: Vec::new(),
            };
            std::mem::swap(&mut copy, &mut banded);
            let started = Instant::now();
            for hash in &fresh {
                copy.insert(*hash);
            }
            times[3] = times[3].min(started.elapsed());
            // Back to the stored set for the next round.
            banded = Banded {
                bands: HashMap::new(),
                hashes: Vec::new(),
            };
            for hash in &stored {
                banded.insert(*hash);
            }
        }
        println!(
            "| {stored_count} | {:.2} | {:.2} | {:.2} | {:.2} |",
            per_operation(times[0]),
            per_operation(times[1]),
            per_operation(times[2]),
            per_operation(times[3])
        );
    }
}
