//! Near-duplicate search over 64-bit SimHashes by multi-index hashing: every stored hash is
//! filed under each of its four 16-bit blocks. Two hashes at most `k` bits apart differ in
//! at most `k / 4` bits in one of those blocks (pigeonhole), so a query looks up, in each
//! block's table, every value within that radius of its own block (137 values per block at
//! `k = 10`), and checks the exact distance of what it finds there. A lookup costs the same
//! whatever the index holds, apart from the few hashes sharing a bucket (one in 65,536 of
//! those stored, per probe); nothing within `k` is ever missed.
//!
//! Banding the hash into `k + 1` blocks instead (the usual pigeonhole) leaves blocks of five
//! or six bits at `k = 10`, whose buckets each hold a sixtieth of the index: a lookup then
//! reads a sixth of everything stored.

/// Bits per block, and blocks per hash.
const BLOCK_BITS: u32 = 16;
const BLOCKS: usize = 4;
const BUCKETS: usize = 1 << BLOCK_BITS;

/// Hashes and what they stand for, searchable by Hamming distance.
pub struct NearIndex<T> {
    max_distance: u32,
    /// Every 16-bit mask of at most `max_distance / 4` bits: the probes around a block.
    probes: Vec<u16>,
    /// Per block, per block value: (the 32 bits after the block, slot) of the hashes filed
    /// there — half the bytes of the whole hash, and enough to rule out nearly every candidate
    /// without reading its slot. Allocated on the first insert.
    tables: Vec<Vec<Vec<(u32, u32)>>>,
    slots: Vec<Option<(u64, T)>>,
    free: Vec<u32>,
    len: usize,
}

fn block(hash: u64, number: usize) -> usize {
    // Each block is 16 bits wide: the cast keeps exactly those bits.
    usize::from((hash >> (number as u32 * BLOCK_BITS)) as u16)
}

/// The 32 bits that follow block `number` (wrapping round): what a table keeps of a hash
/// besides the block its bucket stands for.
fn after_block(hash: u64, number: usize) -> u32 {
    // The cast keeps the 32 bits wanted.
    (hash.rotate_right(number as u32 * BLOCK_BITS) >> BLOCK_BITS) as u32
}

impl<T> NearIndex<T> {
    /// An index answering "which stored hash is within `max_distance` bits" (0 to 64).
    pub fn new(max_distance: u32) -> Self {
        let max_distance = max_distance.min(64);
        let radius = max_distance / BLOCKS as u32;
        let probes = (0..=u16::MAX)
            .filter(|mask| mask.count_ones() <= radius)
            .collect();
        NearIndex {
            max_distance,
            probes,
            tables: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Files `hash` for `value`; returns its slot, which [`remove`](Self::remove) takes.
    pub fn insert(&mut self, hash: u64, value: T) -> u32 {
        if self.tables.is_empty() {
            self.tables = (0..BLOCKS).map(|_| vec![Vec::new(); BUCKETS]).collect();
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                // Slots are u32: past four billion hashes the newest share the last slot's
                // number space no more; the caller's `max_entries` stays far below it.
                let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(None);
                slot
            }
        };
        if let Some(place) = self.slots.get_mut(slot as usize) {
            *place = Some((hash, value));
        }
        for (number, table) in self.tables.iter_mut().enumerate() {
            if let Some(bucket) = table.get_mut(block(hash, number)) {
                bucket.push((after_block(hash, number), slot));
            }
        }
        self.len += 1;
        slot
    }

    /// Forgets the hash in `slot`; returns what it stood for.
    pub fn remove(&mut self, slot: u32) -> Option<T> {
        let (hash, value) = self.slots.get_mut(slot as usize)?.take()?;
        for (number, table) in self.tables.iter_mut().enumerate() {
            if let Some(bucket) = table.get_mut(block(hash, number)) {
                if let Some(at) = bucket.iter().position(|(_, s)| *s == slot) {
                    bucket.swap_remove(at);
                }
            }
        }
        self.free.push(slot);
        self.len -= 1;
        Some(value)
    }

    /// The stored hash nearest to `hash` (within `max_distance`) whose value `accept`s, with
    /// its distance; of equally near ones, the one in the lowest slot.
    pub fn nearest(&self, hash: u64, mut accept: impl FnMut(&T) -> bool) -> Option<(&T, u32)> {
        let mut best: Option<(u32, u32)> = None;
        for (number, table) in self.tables.iter().enumerate() {
            let own = block(hash, number);
            for probe in &self.probes {
                let Some(bucket) = table.get(own ^ usize::from(*probe)) else {
                    continue;
                };
                let own_after = after_block(hash, number);
                for &(stored_after, slot) in bucket {
                    // The bits of the block and the 32 after it differ at least this much:
                    // past `max_distance`, the whole hash need not be read.
                    let at_least = probe.count_ones() + (stored_after ^ own_after).count_ones();
                    if at_least > self.max_distance {
                        continue;
                    }
                    let Some((stored, value)) =
                        self.slots.get(slot as usize).and_then(Option::as_ref)
                    else {
                        continue;
                    };
                    let distance = (stored ^ hash).count_ones();
                    if distance > self.max_distance {
                        continue;
                    }
                    let better = best.is_none_or(|(d, s)| (distance, slot) < (d, s));
                    if better && accept(value) {
                        best = Some((distance, slot));
                    }
                }
            }
        }
        let (distance, slot) = best?;
        let (_, value) = self.slots.get(slot as usize)?.as_ref()?;
        Some((value, distance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of 64-bit values (xorshift).
    fn stream(seed: u64) -> impl Iterator<Item = u64> {
        let mut state = seed | 1;
        std::iter::from_fn(move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Some(state)
        })
    }

    /// Flips `bits` distinct bits of `hash`, chosen by `pick`.
    fn flip(hash: u64, bits: u32, pick: &mut impl Iterator<Item = u64>) -> u64 {
        let mut out = hash;
        while (out ^ hash).count_ones() < bits {
            out ^= 1 << (pick.next().unwrap_or(0) % 64);
        }
        out
    }

    #[test]
    fn finds_every_hash_within_the_distance_and_nothing_beyond() {
        for max_distance in [0, 3, 6, 10, 13] {
            let mut index = NearIndex::new(max_distance);
            let mut values = stream(7);
            let stored: Vec<u64> = values.by_ref().take(2000).collect();
            for (i, hash) in stored.iter().enumerate() {
                index.insert(*hash, i);
            }
            let mut pick = stream(99);
            for (i, hash) in stored.iter().enumerate().take(300) {
                // The same hash with bits flipped, up to the distance and one past it.
                for bits in [0, max_distance / 2, max_distance, max_distance + 1] {
                    let query = flip(*hash, bits, &mut pick);
                    let brute = stored
                        .iter()
                        .enumerate()
                        .map(|(j, h)| ((h ^ query).count_ones(), j))
                        .filter(|(d, _)| *d <= max_distance)
                        .min();
                    let found = index.nearest(query, |_| true).map(|(j, d)| (d, *j));
                    assert_eq!(found, brute, "k={max_distance} item {i} flipped {bits}");
                }
            }
        }
    }

    #[test]
    fn removed_hashes_are_not_found_and_slots_are_reused() {
        let mut index = NearIndex::new(10);
        let a = index.insert(0xFFFF_0000_FFFF_0000, "a");
        let b = index.insert(0x0000_FFFF_0000_FFFF, "b");
        assert_eq!(index.len(), 2);
        assert_eq!(index.remove(a), Some("a"));
        assert_eq!(index.remove(a), None);
        assert!(index.nearest(0xFFFF_0000_FFFF_0001, |_| true).is_none());
        assert_eq!(
            index.nearest(0x0000_FFFF_0000_FFFE, |_| true),
            Some((&"b", 1))
        );
        let c = index.insert(0xFFFF_0000_FFFF_0000, "c");
        assert_eq!(c, a, "the freed slot is used again");
        assert_eq!(index.len(), 2);
        // A value the caller refuses (expired, itself) is passed over.
        assert!(index
            .nearest(0xFFFF_0000_FFFF_0000, |v| *v != "c")
            .is_none());
        let _ = b;
    }
}
