//! The `keyphrases` transform: the phrases that say what an article is about, by a YAKE-like
//! score (frequency, length, how early they appear), Arabic and English stop words left out.

// foldhash, randomly seeded per map: the keys are article text, asked for every n-gram.
use foldhash::{HashMap, HashMapExt};

use async_trait::async_trait;
use khabar_core_model::{
    Article, BuildContext, Keyphrase, StageError, Transform, TransformConfig, Verdict,
};
use serde::Deserialize;

/// Stop words in search form.
const STOP_WORDS: &[&str] = &[
    // Arabic
    "في",
    "من",
    "الي",
    "علي",
    "عن",
    "ان",
    "التي",
    "الذي",
    "الذين",
    "اللذين",
    "كما",
    "بعد",
    "قبل",
    "مع",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "كان",
    "كانت",
    "قد",
    "لم",
    "لن",
    "ما",
    "لا",
    "كل",
    "بين",
    "حيث",
    "او",
    "ثم",
    "عده",
    "خلال",
    "ضد",
    "ضمن",
    "حول",
    "عند",
    "منذ",
    "اي",
    "هو",
    "هي",
    "هم",
    "تم",
    "وفق",
    "فيها",
    "منها",
    "عليها",
    "اليها",
    "به",
    "بها",
    "له",
    "لها",
    "فيه",
    "منه",
    "عليه",
    "غير",
    "بعض",
    "اخري",
    "اخر",
    "ايضا",
    "الا",
    "اذا",
    "حتي",
    "لدي",
    "فقط",
    "نحو",
    "يشار",
    "يذكر",
    "وقالت",
    "قالت",
    "قال",
    "وقال",
    "اكثر",
    "اليوم",
    "امس",
    "فضلا",
    "كذلك",
    "لقد",
    "انه",
    "انها",
    // English
    "the",
    "a",
    "an",
    "of",
    "in",
    "on",
    "at",
    "to",
    "for",
    "and",
    "or",
    "but",
    "with",
    "by",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "has",
    "have",
    "had",
    "that",
    "this",
    "these",
    "those",
    "it",
    "its",
    "said",
    "says",
    "after",
    "before",
    "over",
    "into",
    "than",
    "more",
    "also",
    "not",
    "no",
    "who",
    "which",
    "what",
    "when",
    "where",
    "while",
    "their",
    "they",
    "he",
    "she",
    "his",
    "her",
    "we",
    "our",
    "you",
    "will",
    "would",
    "could",
    "can",
    "about",
    "up",
    "out",
    "all",
    "one",
    "two",
    "new",
    "last",
    "first",
    "there",
    "other",
    "some",
    "such",
    "only",
    "if",
    "so",
];

/// [`STOP_WORDS`] as a set: looked up for every word of every article.
static STOP_WORD_SET: std::sync::LazyLock<foldhash::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| STOP_WORDS.iter().copied().collect());

/// A stop word (in search form): also refused as a bulk gazetteer name.
pub(crate) fn is_stop_word(folded: &str) -> bool {
    STOP_WORD_SET.contains(folded)
}

fn is_stop(folded: &str) -> bool {
    folded.chars().nth(2).is_none()
        || is_stop_word(folded)
        || folded.chars().all(|c| c.is_ascii_digit())
}

/// The `limit` best phrases of `text`, scores scaled to 1 for the best.
pub fn keyphrases(text: &str, limit: usize) -> Vec<Keyphrase> {
    /// An n-gram: its words as written (the phrase is made only for those chosen).
    struct Candidate<'a> {
        words: [&'a str; 3],
        count: usize,
        first: usize,
        n: usize,
    }
    let mut candidates: HashMap<String, Candidate> = HashMap::with_capacity(text.len() / 8);
    let mut position = 0usize;
    let mut key = String::new();
    // Each word of a fragment folded and judged once, into one buffer: (as written, where its
    // search form lies in `folded`, stop word).
    let mut folded = String::new();
    let mut words: Vec<(&str, std::ops::Range<usize>, bool)> = Vec::new();
    for fragment in text.split(|c: char| {
        matches!(
            c,
            '.' | '،'
                | ','
                | '؛'
                | ';'
                | ':'
                | '('
                | ')'
                | '"'
                | '«'
                | '»'
                | '\n'
                | '!'
                | '?'
                | '؟'
        )
    }) {
        folded.clear();
        words.clear();
        for w in fragment
            .split(|c: char| !khabar_text::is_alphanumeric(c))
            .filter(|w| !w.is_empty())
        {
            let from = folded.len();
            khabar_text::push_search_form(w, &mut folded);
            let range = from..folded.len();
            let stop = is_stop(folded.get(range.clone()).unwrap_or_default());
            words.push((w, range, stop));
        }
        for start in 0..words.len() {
            position += 1;
            for n in 1..=3 {
                let Some(gram) = words.get(start..start + n) else {
                    break;
                };
                if gram[0].2 || gram[n - 1].2 {
                    continue;
                }
                key.clear();
                for (at, (_, range, _)) in gram.iter().enumerate() {
                    if at > 0 {
                        key.push(' ');
                    }
                    key.push_str(folded.get(range.clone()).unwrap_or_default());
                }
                // Most n-grams recur: the key is allocated only for a new one.
                if let Some(seen) = candidates.get_mut(key.as_str()) {
                    seen.count += 1;
                    continue;
                }
                let mut written = [""; 3];
                for (slot, (w, _, _)) in written.iter_mut().zip(gram) {
                    *slot = w;
                }
                candidates.insert(
                    key.clone(),
                    Candidate {
                        words: written,
                        count: 1,
                        first: position,
                        n,
                    },
                );
            }
        }
    }
    let total = position.max(1) as f64;
    let mut scored: Vec<(f64, Candidate)> = candidates
        .into_values()
        .filter(|c| c.count >= 2 || c.n > 1)
        .map(|c| {
            let early = 1.0 + (1.0 - c.first as f64 / total);
            let length = 1.0 + 0.6 * (c.n as f64 - 1.0);
            ((c.count as f64).sqrt() * length * early, c)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.first.cmp(&b.1.first)));
    let best = scored.first().map_or(1.0, |(s, _)| *s);
    let mut chosen: Vec<Keyphrase> = Vec::new();
    for (score, candidate) in scored {
        if chosen.len() == limit {
            break;
        }
        let surface = candidate
            .words
            .get(..candidate.n)
            .unwrap_or(&candidate.words)
            .join(" ");
        // A phrase inside one already chosen, or holding one, adds nothing.
        let folded = khabar_text::normalize_for_search(&surface);
        let overlaps = chosen.iter().any(|k| {
            let other = khabar_text::normalize_for_search(&k.phrase);
            other.contains(&folded) || folded.contains(&other)
        });
        if !overlaps {
            chosen.push(Keyphrase {
                phrase: surface,
                score: (score / best) as f32,
            });
        }
    }
    chosen
}

/// `[transforms.<id>] type = "keyphrases"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyphrasesConfig {
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    10
}

#[async_trait]
impl TransformConfig for KeyphrasesConfig {
    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        Ok(Box::new(Keyphrases { limit: self.limit }))
    }
}

struct Keyphrases {
    limit: usize,
}

#[async_trait]
impl Transform for Keyphrases {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        if let Some(text) = article.text.as_deref() {
            article.keyphrases = keyphrases(text, self.limit);
        }
        Ok(Verdict::Keep)
    }
}
