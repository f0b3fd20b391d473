//! The spans of a text already named, for placing the further mentions of a name: a mention
//! goes only where no name was read.

/// Named spans, in text order, none overlapping another.
pub(crate) struct Taken(Vec<(usize, usize)>);

impl Taken {
    pub(crate) fn new(spans: impl IntoIterator<Item = (usize, usize)>) -> Taken {
        let mut spans: Vec<(usize, usize)> = spans.into_iter().collect();
        spans.sort_unstable();
        Taken(spans)
    }

    /// Takes `start..end` when no taken span overlaps it; says whether it did.
    pub(crate) fn claim(&mut self, start: usize, end: usize) -> bool {
        // The first span ending after `start` is the only one that could overlap.
        let at = self.0.partition_point(|&(_, e)| e <= start);
        if self.0.get(at).is_some_and(|&(s, _)| s < end) {
            return false;
        }
        self.0.insert(at, (start, end));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_claimed_only_where_nothing_overlaps_it() {
        let mut taken = Taken::new([(10, 20), (0, 5)]);
        assert!(!taken.claim(3, 8), "overlaps 0..5");
        assert!(!taken.claim(19, 25), "overlaps 10..20");
        assert!(taken.claim(5, 10), "between the two, touching both");
        assert!(!taken.claim(6, 7), "now taken");
        assert!(taken.claim(20, 30));
        assert!(taken.claim(40, 41));
        assert!(!taken.claim(25, 45));
    }
}
