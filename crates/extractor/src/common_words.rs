//! How ordinary an Arabic word is: the frequency list built from the PyPI package `wordfreq`
//! (`gazetteer/wordfreq-ar.tsv`, CC BY-SA 4.0, made by `cargo xtask gazetteer`). A word that
//! is frequent as an ordinary word (دولة, سنة, كشف) is not taken for the town spelt the same
//! way, and the name rules and the merge of names ask every word's rank.

// foldhash: every word of every article is looked up here, and the keys come from a fixed
// list, not from the network.
use foldhash::{HashMap, HashMapExt};
use std::sync::OnceLock;

/// The lists, as built.
pub const WORDFREQ_AR: &str = include_str!("../gazetteer/wordfreq-ar.tsv");
pub const WORDFREQ_EN: &str = include_str!("../gazetteer/wordfreq-en.tsv");

/// A word ranked this high (or higher) is an ordinary word first: never a place or a person
/// on its own.
pub const COMMON_RANK: u32 = 5000;

/// Rank and Zipf frequency by word, folded for search.
pub struct WordFrequencies {
    words: HashMap<String, (u32, f32)>,
}

impl WordFrequencies {
    /// Reads the list's "rank, word, Zipf" lines; several spellings that fold to one word
    /// keep the best rank and the highest frequency.
    pub fn parse(list: &str) -> WordFrequencies {
        let mut words: HashMap<String, (u32, f32)> = HashMap::new();
        for line in list.lines().filter(|l| !l.starts_with('#')) {
            let mut columns = line.split('\t');
            let (Some(rank), Some(word), Some(zipf)) =
                (columns.next(), columns.next(), columns.next())
            else {
                continue;
            };
            let (Ok(rank), Ok(zipf)) = (rank.parse::<u32>(), zipf.parse::<f32>()) else {
                continue;
            };
            let folded = khabar_text::normalize_for_search(word);
            let entry = words.entry(folded).or_insert((rank, zipf));
            entry.0 = entry.0.min(rank);
            entry.1 = entry.1.max(zipf);
        }
        WordFrequencies { words }
    }

    /// The shared list, read once per process.
    pub fn arabic() -> &'static WordFrequencies {
        static LIST: OnceLock<WordFrequencies> = OnceLock::new();
        LIST.get_or_init(|| WordFrequencies::parse(WORDFREQ_AR))
    }

    /// The shared English list (for names in Latin script: `Card` and `Design` are words
    /// first), read once per process.
    pub fn english() -> &'static WordFrequencies {
        static LIST: OnceLock<WordFrequencies> = OnceLock::new();
        LIST.get_or_init(|| WordFrequencies::parse(WORDFREQ_EN))
    }

    /// Rank of a folded word (1 = most frequent), if listed.
    pub fn rank(&self, folded: &str) -> Option<u32> {
        self.words.get(folded).map(|(rank, _)| *rank)
    }

    /// Zipf frequency of a folded word, if listed.
    pub fn zipf(&self, folded: &str) -> Option<f32> {
        self.words.get(folded).map(|(_, zipf)| *zipf)
    }

    /// Whether a folded word is among the [`COMMON_RANK`] most frequent.
    pub fn is_common(&self, folded: &str) -> bool {
        self.rank(folded).is_some_and(|rank| rank <= COMMON_RANK)
    }

    /// The [`COMMON_RANK`] most frequent words as listed (not folded), for tests that walk
    /// them.
    pub fn most_common(list: &str) -> Vec<&str> {
        list.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut columns = l.split('\t');
                let rank: u32 = columns.next()?.parse().ok()?;
                (rank <= COMMON_RANK).then_some(columns.next()?)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_fold_spellings_together() {
        let list = WordFrequencies::parse("# c\n1\tفي\t7.5\n350\tدولة\t5.41\n900\tدوله\t4.1\n");
        assert_eq!(list.rank("دوله"), Some(350));
        assert_eq!(list.zipf("دوله"), Some(5.41));
        assert!(list.is_common("في"));
        let built = WordFrequencies::arabic();
        assert!(built.is_common("دوله") && built.is_common("سنه"));
        assert_eq!(WordFrequencies::most_common(WORDFREQ_AR).len(), 5000);
    }
}
