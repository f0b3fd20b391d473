//! Near-duplicate search over 64-bit SimHashes by multi-index hashing: every stored hash is
//! cut into four 16-bit blocks and filed under each. Two hashes at most `k` bits apart differ
//! in at most `k / 4` bits in one of those blocks (pigeonhole), so a query looks up, in each
//! block's table, every value within that radius of its own block, and checks the exact
//! distance of what it finds there.
//!
//! That is exact, and cheap up to `k = 7` (17 probes per block). At the default `k = 10` the
//! radius becomes 2 (137 probes per block), and each probe reads a bucket holding one in
//! 65,536 of the stored hashes: a lookup then costs about 13 times more at a million stored
//! than at ten thousand (`bench dedupe`). So past 7 bits the search is approximate by
//! default: it keeps the
//! radius at 1 and cuts the hash several times over, each time after a different fixed
//! shuffle of its bits. One cut finds every pair up to 7 bits apart and most pairs further
//! apart (those whose differing bits do not land two or more in every block); each further
//! cut, independent of the others, catches most of what the previous ones missed. The number
//! of cuts is the fewest that find 98 % of pairs exactly `k` bits apart (three at `k = 10`,
//! where 99.8 % of pairs 9 bits apart and all pairs up to 7 are found); `bench dedupe`
//! measures the recall against the exact search. `NearIndex::exact` keeps the single exact
//! cut at any `k`.
//!
//! Banding the hash into `k + 1` blocks instead (the usual pigeonhole) leaves blocks of five
//! or six bits at `k = 10`, whose buckets each hold a sixtieth of the index: a lookup then
//! reads a sixth of everything stored.

/// Bits per block, and blocks per hash.
const BLOCK_BITS: u32 = 16;
const BLOCKS: usize = 4;

/// Stored hashes within the distance after which a lookup that has found one stops: in a
/// cluster of thousands of copies every probe reads thousands of near hashes, and the 33rd is
/// hardly nearer than the best of the first 32 (the caller wants the story, which every copy
/// names alike). Below it the answer is exact.
pub const ENOUGH_NEAR: usize = 32;

/// The share of pairs exactly `max_distance` bits apart an approximate search finds.
const TARGET_RECALL: f64 = 0.98;
/// Most cuts an approximate search makes; a distance that needs more is searched exactly.
const MOST_CUTS: usize = 8;

/// A fixed reordering of a hash's 64 bits, applied a byte at a time through lookup tables.
struct Shuffle {
    by_byte: Box<[[u64; 256]; 8]>,
}

impl Shuffle {
    /// Bit `i` of a hash moves to bit `to[i]`.
    fn new(to: &[u32; 64]) -> Shuffle {
        let mut by_byte = Box::new([[0u64; 256]; 8]);
        for (byte, table) in by_byte.iter_mut().enumerate() {
            for (value, moved) in table.iter_mut().enumerate() {
                for bit in 0..8 {
                    if value >> bit & 1 == 1 {
                        *moved |= 1u64 << to[byte * 8 + bit];
                    }
                }
            }
        }
        Shuffle { by_byte }
    }

    /// The `number`th shuffle: the identity first, then permutations drawn from a fixed seed
    /// (the same in every build and run, though nothing stored depends on them).
    fn numbered(number: usize) -> Shuffle {
        let mut to: [u32; 64] = std::array::from_fn(|i| i as u32);
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ number as u64;
        for _ in 0..number {
            // Fisher–Yates with xorshift: a fresh permutation per further cut.
            for i in (1..64usize).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                to.swap(i, (state % (i as u64 + 1)) as usize);
            }
        }
        Shuffle::new(&to)
    }

    fn apply(&self, hash: u64) -> u64 {
        self.by_byte
            .iter()
            .enumerate()
            // The cast keeps the byte being looked up.
            .fold(0, |moved, (byte, table)| {
                moved | table[usize::from((hash >> (byte * 8)) as u8)]
            })
    }
}

/// The odds that one cut with probe radius 1 finds a pair exactly `distance` bits apart: one
/// minus the share of ways to place the differing bits with two or more in every block.
fn one_cut_recall(distance: u32) -> f64 {
    fn choose(n: u32, k: u32) -> f64 {
        (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
    }
    let distance = distance.min(64);
    // Ways to put `bits` differing bits in `blocks` blocks, at least two in each.
    let mut ways = vec![1.0f64; 1];
    for _ in 0..BLOCKS {
        let mut next = vec![0.0f64; distance as usize + 1];
        for (placed, count) in ways.iter().enumerate() {
            for here in 2..=BLOCK_BITS {
                if let Some(slot) = next.get_mut(placed + here as usize) {
                    *slot += count * choose(BLOCK_BITS, here);
                }
            }
        }
        ways = next;
    }
    let missed = ways.get(distance as usize).copied().unwrap_or(0.0);
    1.0 - missed / choose(64, distance)
}

/// Cuts for an approximate search at `max_distance`, or `None` where one exact cut is as good
/// (up to 7 bits) or the approximation would need too many.
fn approximate_cuts(max_distance: u32) -> Option<usize> {
    if max_distance < 4 * 2 {
        return None;
    }
    let one = one_cut_recall(max_distance);
    (1..=MOST_CUTS).find(|cuts| 1.0 - (1.0 - one).powi(*cuts as i32) >= TARGET_RECALL)
}

/// Hashes and what they stand for, searchable by Hamming distance.
pub struct NearIndex<T> {
    max_distance: u32,
    /// Every 16-bit mask of at most the probe radius in bits.
    probes: Vec<u16>,
    /// One per cut; a hash is shuffled by it before it is cut into blocks.
    shuffles: Vec<Shuffle>,
    /// Per cut and block (cut-major): the shuffled hashes filed under their block value, each
    /// as the 32 bits after the block and its slot — half the bytes of the whole hash, and
    /// enough to rule out nearly every candidate without reading its slot. Allocated on the
    /// first insert.
    tables: Vec<Table>,
    /// Hashes the tables are first sized for.
    expected: usize,
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

/// The hashes filed under one block of one cut: an open-addressing table with linear probing,
/// each entry homed by its block value, so that the entries of one value sit together and a
/// probe reads one or two cache lines. One flat allocation, made zeroed (the
/// pages become resident as entries land in them) and doubled when it is seven tenths full.
struct Table {
    /// Per cell: the 32 bits after the block, the slot plus one (0: an empty cell), the block.
    cells: Vec<[u32; 3]>,
    len: usize,
}

impl Table {
    /// Half full at `entries`. Why not seven tenths, where it grows: a probe reads the run
    /// of cells from its home, and at seven tenths the runs are long enough that a lookup in
    /// the full index of a long-running daemon cost two to three times what it cost at
    /// 100,000 records (`bench dedupe`, BENCHMARKS.md). Sized for half, a lookup in the full
    /// index costs about a fifth less, for 40 % more memory in the tables (12 B a cell,
    /// twice as many cells as the hashes the index is sized for).
    fn with_capacity(entries: usize) -> Table {
        let cells = entries.max(16).saturating_mul(2).max(64);
        Table {
            cells: vec![[0; 3]; cells],
            len: 0,
        }
    }

    /// Where entries of `block` start looking for a cell: scattered by a multiplicative hash,
    /// since SimHashes of real news are far from uniform (boilerplate and syndicated copies
    /// pile thousands of hashes on a few block values), and homes in block order would merge
    /// the runs of neighbouring values into one that every probe nearby must read through.
    fn home(&self, block: usize) -> usize {
        let scattered = (block as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        // Below 2³² × cells / 2³²: a valid cell, whatever the table's size.
        usize::try_from(scattered.saturating_mul(self.cells.len() as u64) >> 32).unwrap_or(0)
    }

    fn next(&self, cell: usize) -> usize {
        if cell + 1 == self.cells.len() {
            0
        } else {
            cell + 1
        }
    }

    fn insert(&mut self, block: usize, after: u32, slot: u32) {
        if (self.len + 1) * 10 > self.cells.len() * 7 {
            self.grow();
        }
        let mut cell = self.home(block);
        // Below seven tenths full there is always an empty cell ahead.
        while self.cells.get(cell).is_some_and(|c| c[1] != 0) {
            cell = self.next(cell);
        }
        if let Some(place) = self.cells.get_mut(cell) {
            // The block is 16 bits; the cast is lossless.
            *place = [after, slot.saturating_add(1), block as u32];
            self.len += 1;
        }
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.cells);
        self.cells = vec![[0; 3]; old.len().saturating_mul(2).max(64)];
        self.len = 0;
        for [after, slot_plus_one, block] in old {
            if slot_plus_one != 0 {
                self.insert(block as usize, after, slot_plus_one - 1);
            }
        }
    }

    /// The (32 bits after the block, slot) of the entries filed under `block`.
    fn entries(&self, block: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut cell = self.home(block);
        let mut seen = 0;
        std::iter::from_fn(move || loop {
            let [after, slot_plus_one, filed] = *self.cells.get(cell)?;
            // An empty cell ends the run; so does a full lap (never reached below 7/10 full).
            if slot_plus_one == 0 || seen == self.cells.len() {
                return None;
            }
            cell = self.next(cell);
            seen += 1;
            if filed as usize == block {
                return Some((after, slot_plus_one - 1));
            }
        })
    }

    fn remove(&mut self, block: usize, slot: u32) {
        let mut cell = self.home(block);
        loop {
            let Some(&[_, slot_plus_one, filed]) = self.cells.get(cell) else {
                return;
            };
            if slot_plus_one == 0 {
                return;
            }
            if filed as usize == block && slot_plus_one - 1 == slot {
                break;
            }
            cell = self.next(cell);
        }
        // Backward-shift deletion: entries further along the run that may live in the hole
        // move into it, so every entry stays reachable from its home without tombstones.
        let mut hole = cell;
        let mut at = self.next(hole);
        while let Some(&[after, slot_plus_one, filed]) = self.cells.get(at) {
            if slot_plus_one == 0 {
                break;
            }
            let home = self.home(filed as usize);
            // Movable unless its home lies cyclically in (hole, at].
            let stays = if hole < at {
                hole < home && home <= at
            } else {
                hole < home || home <= at
            };
            if !stays {
                if let Some(place) = self.cells.get_mut(hole) {
                    *place = [after, slot_plus_one, filed];
                }
                hole = at;
            }
            at = self.next(at);
        }
        if let Some(place) = self.cells.get_mut(hole) {
            *place = [0; 3];
        }
        self.len = self.len.saturating_sub(1);
    }
}

/// Each table with the block of `hash` it files or looks up under `shuffles`: (table, block
/// number, shuffled hash). A free function, so that it borrows the shuffles alone while the
/// tables are changed.
fn placements(shuffles: &[Shuffle], hash: u64) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
    shuffles.iter().enumerate().flat_map(move |(cut, shuffle)| {
        let shuffled = shuffle.apply(hash);
        (0..BLOCKS).map(move |number| (cut * BLOCKS + number, number, shuffled))
    })
}

impl<T> NearIndex<T> {
    /// An index answering "which stored hash is within `max_distance` bits" (0 to 64):
    /// exact up to 7 bits, approximate past them (see the module's notes).
    pub fn new(max_distance: u32) -> Self {
        let max_distance = max_distance.min(64);
        match approximate_cuts(max_distance) {
            Some(cuts) => Self::with_cuts(max_distance, 1, cuts),
            None => Self::exact(max_distance),
        }
    }

    /// An index that never misses a hash within `max_distance` bits, whatever it costs.
    pub fn exact(max_distance: u32) -> Self {
        let max_distance = max_distance.min(64);
        Self::with_cuts(max_distance, max_distance / BLOCKS as u32, 1)
    }

    fn with_cuts(max_distance: u32, radius: u32, cuts: usize) -> Self {
        let probes = (0..=u16::MAX)
            .filter(|mask| mask.count_ones() <= radius)
            .collect();
        NearIndex {
            max_distance,
            probes,
            shuffles: (0..cuts).map(Shuffle::numbered).collect(),
            tables: Vec::new(),
            expected: 0,
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Sizes the tables for `entries` hashes up front (they grow past it, a doubling at a
    /// time): a caller that knows its bound pays for it once, not in steps as it fills.
    pub fn reserve(&mut self, entries: usize) {
        self.expected = self.expected.max(entries);
        self.slots.reserve(entries.saturating_sub(self.slots.len()));
    }

    /// How many times each hash is cut (1 when the search is exact).
    pub fn cuts(&self) -> usize {
        self.shuffles.len()
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
            self.tables = (0..BLOCKS * self.shuffles.len())
                .map(|_| Table::with_capacity(self.expected))
                .collect();
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
        for (table, number, shuffled) in placements(&self.shuffles, hash) {
            if let Some(table) = self.tables.get_mut(table) {
                table.insert(block(shuffled, number), after_block(shuffled, number), slot);
            }
        }
        self.len += 1;
        slot
    }

    /// Forgets the hash in `slot`; returns what it stood for.
    pub fn remove(&mut self, slot: u32) -> Option<T> {
        let (hash, value) = self.slots.get_mut(slot as usize)?.take()?;
        for (table, number, shuffled) in placements(&self.shuffles, hash) {
            if let Some(table) = self.tables.get_mut(table) {
                table.remove(block(shuffled, number), slot);
            }
        }
        self.free.push(slot);
        self.len -= 1;
        Some(value)
    }

    /// The stored hash nearest to `hash` (within `max_distance`) whose value `accept`s, with
    /// its distance; of equally near ones, the one in the lowest slot. Where more than
    /// [`ENOUGH_NEAR`] stored hashes lie within the distance (a story syndicated hundreds of
    /// times), the nearest of those met first: the search stops there.
    pub fn nearest(&self, hash: u64, mut accept: impl FnMut(&T) -> bool) -> Option<(&T, u32)> {
        let mut best: Option<(u32, u32)> = None;
        let mut within = 0usize;
        'tables: for (table, number, shuffled) in placements(&self.shuffles, hash) {
            let Some(table) = self.tables.get(table) else {
                continue;
            };
            let own = block(shuffled, number);
            let own_after = after_block(shuffled, number);
            for probe in &self.probes {
                for (stored_after, slot) in table.entries(own ^ usize::from(*probe)) {
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
                    within += 1;
                    if within >= ENOUGH_NEAR && best.is_some() {
                        break 'tables;
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
        for (max_distance, exact) in [(0, false), (3, false), (7, false), (10, true), (13, true)] {
            let mut index = if exact {
                NearIndex::exact(max_distance)
            } else {
                NearIndex::new(max_distance)
            };
            assert_eq!(index.cuts(), 1, "k={max_distance} is searched exactly");
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

    #[test]
    fn one_cut_finds_what_counting_says() {
        // 16·16 ways out of C(64, 2) put both bits of a pair 2 apart in different blocks;
        // a single cut still finds every pair up to 7, and at 8 misses only 2-2-2-2 spreads.
        assert_eq!(one_cut_recall(7), 1.0);
        let spread_2222 = 120f64.powi(4) / 4_426_165_368.0;
        assert!((one_cut_recall(8) - (1.0 - spread_2222)).abs() < 1e-9);
        assert_eq!(approximate_cuts(7), None);
        assert_eq!(approximate_cuts(8), Some(2));
        assert_eq!(approximate_cuts(10), Some(3));
        assert_eq!(
            approximate_cuts(20),
            None,
            "too many cuts: searched exactly"
        );
    }

    #[test]
    fn the_approximate_search_finds_nearly_every_near_copy_and_never_a_far_one() {
        let max_distance = 10;
        let mut index = NearIndex::new(max_distance);
        assert_eq!(index.cuts(), 3);
        let stored: Vec<u64> = stream(11).take(5000).collect();
        for (i, hash) in stored.iter().enumerate() {
            index.insert(*hash, i);
        }
        let mut pick = stream(5);
        for bits in 0..=12u32 {
            let mut found = 0;
            let trials = 2000;
            for i in 0..trials {
                let base = stored[i % stored.len()];
                let query = flip(base, bits, &mut pick);
                match index.nearest(query, |_| true) {
                    Some((_, distance)) => {
                        assert!(distance <= max_distance, "{bits} bits: found {distance}");
                        found += 1;
                    }
                    None => assert!(bits > 7, "{bits} bits apart is always found"),
                }
            }
            let recall = f64::from(found) / trials as f64;
            let floor = match bits {
                0..=7 => 1.0,
                8 | 9 => 0.99,
                10 => 0.96,
                _ => 0.0,
            };
            assert!(recall >= floor, "{bits} bits apart: recall {recall}");
        }
    }

    #[test]
    fn a_table_keeps_what_was_filed_through_growth_removal_and_wrap_around() {
        let mut table = Table::with_capacity(0);
        let mut model: std::collections::BTreeMap<u32, (usize, u32)> = Default::default();
        let mut random = stream(3);
        // Blocks crowd the top of the range, so runs wrap past the last cell.
        let mut block = || 65_500 + (random.next().unwrap_or(0) % 36) as usize;
        for slot in 0..3000u32 {
            let b = if slot % 3 == 0 {
                block()
            } else {
                (slot as usize * 7919) % 65_536
            };
            table.insert(b, slot ^ 0xABCD, slot);
            model.insert(slot, (b, slot ^ 0xABCD));
            if slot % 4 == 1 {
                // Forget an older one.
                let gone = slot / 2;
                if let Some((b, _)) = model.remove(&gone) {
                    table.remove(b, gone);
                }
            }
        }
        assert_eq!(table.len, model.len());
        let mut by_block: std::collections::BTreeMap<usize, Vec<(u32, u32)>> = Default::default();
        for (slot, (b, after)) in &model {
            by_block.entry(*b).or_default().push((*after, *slot));
        }
        for b in (0..65_536).filter(|b| b % 97 == 0 || *b >= 65_500) {
            let mut found: Vec<(u32, u32)> = table.entries(b).collect();
            found.sort_unstable_by_key(|(_, slot)| *slot);
            assert_eq!(found, by_block.remove(&b).unwrap_or_default(), "block {b}");
        }
    }

    #[test]
    fn in_a_cluster_of_thousands_of_copies_a_near_one_is_found() {
        let mut index = NearIndex::new(10);
        let center = 0x0123_4567_89AB_CDEFu64;
        let mut pick = stream(17);
        for i in 0..3_000usize {
            index.insert(flip(center, (i % 5) as u32, &mut pick), i);
        }
        let query = flip(center, 2, &mut pick);
        let (_, distance) = index
            .nearest(query, |_| true)
            .expect("a copy within 10 bits");
        assert!(distance <= 10);
        // Refusing every value is not cut short: nothing accepted, nothing found.
        assert!(index.nearest(query, |_| false).is_none());
    }
}
