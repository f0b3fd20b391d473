//! The AQMAR corpus (28 labelled Arabic Wikipedia articles; see its README for the
//! attribution): reading it, its fixed split, and exact-span scoring of people,
//! organizations and places, for `khabar-eval ner` and `khabar-eval train-ner`.

use std::path::Path;

use khabar_core_model::EntityKind;
use khabar_extractor::name_features::{sentence_features, GazetteerHit, Word};
use khabar_extractor::ner::{self, Example, Tagger};
use khabar_extractor::Matcher;
use sha2::{Digest, Sha256};

/// One sentence: its tokens and their tags (numbers into [`ner::TAGS`]).
pub struct Sentence {
    pub words: Vec<String>,
    pub tags: Vec<usize>,
}

/// One article of the corpus.
pub struct Article {
    pub name: String,
    pub sentences: Vec<Sentence>,
}

/// The corpus's fixed split: an article is held out when `sha256("khabar-aqmar:" + file
/// name)` starts with a hex digit below 4 (`name` is the file name without `.txt`).
pub fn held_out(name: &str) -> bool {
    let digest = Sha256::digest(format!("khabar-aqmar:{name}.txt").as_bytes());
    digest[0] >> 4 < 4
}

/// Reads every `*.txt` article of `dir` ("token TAG" lines, blank lines between sentences;
/// tags other than B-/I-PER, ORG, LOC count as O).
pub fn read_dir(dir: &Path) -> Result<Vec<Article>, String> {
    let mut articles = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        articles.push(Article {
            name,
            sentences: parse(&text),
        });
    }
    if articles.is_empty() {
        return Err(format!("{}: no .txt articles", dir.display()));
    }
    Ok(articles)
}

fn parse(text: &str) -> Vec<Sentence> {
    let mut sentences = Vec::new();
    let mut current = Sentence {
        words: Vec::new(),
        tags: Vec::new(),
    };
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some(word), Some(tag)) => {
                current.words.push(word.to_string());
                current.tags.push(ner::tag_number(tag).unwrap_or(0));
            }
            _ => {
                if !current.words.is_empty() {
                    sentences.push(std::mem::replace(
                        &mut current,
                        Sentence {
                            words: Vec::new(),
                            tags: Vec::new(),
                        },
                    ));
                }
            }
        }
    }
    if !current.words.is_empty() {
        sentences.push(current);
    }
    sentences
}

/// A name as a token range and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: EntityKind,
}

/// The names a tag sequence marks (an `I-` without its `B-` starts a name).
pub fn spans(tags: &[usize]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut open: Option<Span> = None;
    for (i, &tag) in tags.iter().enumerate() {
        let kind = ner::tag_kind(tag);
        let inside = matches!(tag, 2 | 4 | 6);
        match (kind, open.as_mut()) {
            (Some(k), Some(o)) if inside && o.kind == k => o.end = i + 1,
            (Some(k), _) => {
                out.extend(open.take());
                open = Some(Span {
                    start: i,
                    end: i + 1,
                    kind: k,
                });
            }
            (None, _) => out.extend(open.take()),
        }
    }
    out.extend(open);
    out
}

/// Each token's gazetteer reading.
pub fn hits(words: &[String], found: &[Span]) -> Vec<GazetteerHit> {
    let mut out = vec![None; words.len()];
    for span in found {
        for (i, slot) in out.iter_mut().enumerate().take(span.end).skip(span.start) {
            *slot = Some((span.kind, i == span.start));
        }
    }
    out
}

/// The words as the tagger's document hints compare them: stems of the search forms.
pub fn keys(words: &[String]) -> Vec<String> {
    words
        .iter()
        .map(|w| {
            let folded = khabar_text::normalize_for_search(w);
            khabar_extractor::name_features::stem(&folded).to_string()
        })
        .collect()
}

/// An article as the `entities` stage reads it: one text, a sentence a line, and each
/// word's byte range in it.
struct ArticleText {
    text: String,
    ranges: Vec<Vec<(usize, usize)>>,
}

impl ArticleText {
    fn new(article: &Article) -> ArticleText {
        let mut text = String::new();
        let mut ranges: Vec<Vec<(usize, usize)>> = Vec::new();
        for sentence in &article.sentences {
            if !text.is_empty() {
                text.push('\n');
            }
            let mut sentence_ranges = Vec::with_capacity(sentence.words.len());
            for (i, word) in sentence.words.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                let start = text.len();
                text.push_str(word);
                sentence_ranges.push((start, text.len()));
            }
            ranges.push(sentence_ranges);
        }
        ArticleText { text, ranges }
    }

    /// Entities of the text as token spans per sentence (an entity covers every token it
    /// touches, in the first sentence it touches).
    fn spans(&self, entities: &[khabar_core_model::Entity]) -> Vec<Vec<Span>> {
        let mut out = vec![Vec::new(); self.ranges.len()];
        for entity in entities {
            for (s, sentence) in self.ranges.iter().enumerate() {
                let touching = |r: &(usize, usize)| entity.start < r.1 && r.0 < entity.end;
                if let (Some(first), Some(last)) = (
                    sentence.iter().position(touching),
                    sentence.iter().rposition(touching),
                ) {
                    out[s].push(Span {
                        start: first,
                        end: last + 1,
                        kind: entity.kind,
                    });
                    break;
                }
            }
        }
        out
    }
}

/// The gazetteer's names in an article, per sentence, matched over the whole article as
/// the stage matches them (the countries a text names settle ambiguous places).
pub fn article_gazetteer_spans(matcher: &Matcher, article: &Article) -> Vec<Vec<Span>> {
    let text = ArticleText::new(article);
    text.spans(&matcher.find(&text.text).0)
}

/// An article's sentences as the tagger sees them, with the gazetteer's reading of the
/// whole article: what the stage gives it at run time.
pub fn article_features(matcher: &Matcher, article: &Article) -> Vec<ner::Features> {
    article
        .sentences
        .iter()
        .zip(article_gazetteer_spans(matcher, article))
        .map(|(sentence, found)| {
            let refs: Vec<&str> = sentence.words.iter().map(String::as_str).collect();
            sentence_features(&Word::all(&refs), &hits(&sentence.words, &found))
        })
        .collect()
}

const SEED: u64 = 0x6b68_6162_6172;

/// How many models, trained in different orders, the shipped tagger averages per pass.
const ENSEMBLE: u64 = 4;

/// The mean of models trained in several orders ([`ner::average`]).
fn ensemble(examples: &[Example], epochs: usize) -> ner::Model {
    let models: Vec<ner::Model> = (0..ENSEMBLE)
        .map(|i| {
            ner::train(
                examples,
                epochs,
                SEED.wrapping_add(i.wrapping_mul(0x9E37_79B9)),
            )
        })
        .collect();
    ner::average(&models)
}

/// An article as the tagger sees it: per sentence, features, stems and gold tags.
struct Document {
    features: Vec<ner::Features>,
    keys: Vec<Vec<String>>,
    tags: Vec<Vec<usize>>,
}

fn examples<'a>(documents: impl Iterator<Item = &'a Document>) -> Vec<Example> {
    documents
        .flat_map(|d| d.features.iter().zip(&d.tags))
        .map(|(features, tags)| Example {
            features: features.clone(),
            tags: tags.clone(),
        })
        .collect()
}

/// Trains both passes on `articles` (all of them: the caller passes the training split).
/// The second pass learns from first-pass tags that were not trained on the same article
/// (`folds`-way jackknife), as it will meet them on new text.
pub fn train(matcher: &Matcher, articles: &[&Article], epochs: usize) -> Tagger {
    let folds = 4;
    let documents: Vec<Document> = articles
        .iter()
        .map(|a| Document {
            features: article_features(matcher, a),
            keys: a.sentences.iter().map(|s| keys(&s.words)).collect(),
            tags: a.sentences.iter().map(|s| s.tags.clone()).collect(),
        })
        .collect();
    let mut hinted: Vec<Document> = Vec::with_capacity(documents.len());
    for fold in 0..folds {
        let model = ner::train(
            &examples(
                documents
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % folds != fold)
                    .map(|(_, d)| d),
            ),
            epochs,
            SEED,
        );
        for document in documents
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
            .map(|(_, d)| d)
        {
            let first: Vec<Vec<usize>> = document.features.iter().map(|f| model.tag(f)).collect();
            let mut features = document.features.clone();
            khabar_extractor::name_features::add_document_hints(
                &mut features,
                &document.keys,
                &first,
            );
            hinted.push(Document {
                features,
                keys: document.keys.clone(),
                tags: document.tags.clone(),
            });
        }
    }
    Tagger::new(
        ensemble(&examples(documents.iter()), epochs),
        ensemble(&examples(hinted.iter()), epochs),
    )
}

/// Tags an article's sentences with both passes.
pub fn tag_article(matcher: &Matcher, tagger: &Tagger, article: &Article) -> Vec<Vec<usize>> {
    let features = article_features(matcher, article);
    let keys: Vec<Vec<String>> = article.sentences.iter().map(|s| keys(&s.words)).collect();
    let mut tags = tagger.tag_document(&features, &keys);
    let words: Vec<Vec<Word>> = article
        .sentences
        .iter()
        .map(|s| s.words.iter().map(|w| Word::new(w)).collect())
        .collect();
    for (words, tags) in words.iter().zip(tags.iter_mut()) {
        khabar_extractor::name_features::person_rules(words, tags);
    }
    khabar_extractor::name_features::recur_family_names(&words, &mut tags);
    tags
}

/// What the `entities` stage finds in an article (gazetteers, tagger, rules, merged as in
/// production), as token spans per sentence. The article is one text, a sentence a line.
pub fn stage_spans(matcher: &Matcher, tagger: &Tagger, article: &Article) -> Vec<Vec<Span>> {
    let text = ArticleText::new(article);
    let (known, _, sources) = matcher.find_with_sources(&text.text);
    let tagged = khabar_extractor::names::tag_names(tagger, &text.text, &known, &sources);
    let entities = khabar_extractor::names::merge(&text.text, known, &sources, &tagged);
    text.spans(&entities)
}

/// Matches, predictions and gold names per kind (person, organization, place).
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    counts: [(usize, usize, usize); 3],
}

fn slot(kind: EntityKind) -> usize {
    match kind {
        EntityKind::Person => 0,
        EntityKind::Organization => 1,
        EntityKind::Place => 2,
    }
}

fn f1(matched: usize, predicted: usize, gold: usize) -> (f64, f64, f64) {
    let p = if predicted == 0 {
        0.0
    } else {
        matched as f64 / predicted as f64
    };
    let r = if gold == 0 {
        0.0
    } else {
        matched as f64 / gold as f64
    };
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f)
}

impl Score {
    /// Adds one sentence: a prediction counts only when its tokens and kind are exactly a
    /// gold name's.
    pub fn add(&mut self, gold: &[Span], predicted: &[Span]) {
        for g in gold {
            self.counts[slot(g.kind)].2 += 1;
        }
        for p in predicted {
            self.counts[slot(p.kind)].1 += 1;
            if gold.contains(p) {
                self.counts[slot(p.kind)].0 += 1;
            }
        }
    }

    /// Precision, recall and F1 of one kind, or of all with `None`.
    pub fn of(&self, kind: Option<EntityKind>) -> (f64, f64, f64) {
        let (m, p, g) = match kind {
            Some(k) => self.counts[slot(k)],
            None => self
                .counts
                .iter()
                .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2)),
        };
        f1(m, p, g)
    }

    /// One table row per kind and the total.
    pub fn rows(&self, system: &str, split: &str) -> String {
        let mut out = String::new();
        for (name, kind) in [
            ("person", Some(EntityKind::Person)),
            ("organization", Some(EntityKind::Organization)),
            ("place", Some(EntityKind::Place)),
            ("all", None),
        ] {
            let (p, r, f) = self.of(kind);
            out.push_str(&format!(
                "| {system} | {split} | {name} | {p:.3} | {r:.3} | {f:.3} |\n"
            ));
        }
        out
    }
}

/// The names seen in `training`, folded for search, with the kind each was given most:
/// the lexicon baseline.
pub struct Lexicon {
    names: std::collections::HashMap<Vec<String>, EntityKind>,
    longest: usize,
}

impl Lexicon {
    /// Collects the names of `articles`.
    pub fn new(articles: &[&Article]) -> Lexicon {
        let mut votes: std::collections::HashMap<Vec<String>, [usize; 3]> = Default::default();
        for sentence in articles.iter().flat_map(|a| &a.sentences) {
            for span in spans(&sentence.tags) {
                let key = sentence.words[span.start..span.end]
                    .iter()
                    .map(|w| khabar_text::normalize_for_search(w))
                    .collect();
                votes.entry(key).or_default()[slot(span.kind)] += 1;
            }
        }
        let kinds = [
            EntityKind::Person,
            EntityKind::Organization,
            EntityKind::Place,
        ];
        let longest = votes.keys().map(Vec::len).max().unwrap_or(0);
        let names = votes
            .into_iter()
            .map(|(k, v)| {
                let best = (0..3).max_by_key(|i| v[*i]).unwrap_or(0);
                (k, kinds[best])
            })
            .collect();
        Lexicon { names, longest }
    }

    /// Longest known names, left to right.
    pub fn find(&self, words: &[String]) -> Vec<Span> {
        let folded: Vec<String> = words
            .iter()
            .map(|w| khabar_text::normalize_for_search(w))
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < folded.len() {
            let mut taken = 0;
            for len in (1..=self.longest.min(folded.len() - i)).rev() {
                if let Some(kind) = self.names.get(&folded[i..i + len]) {
                    out.push(Span {
                        start: i,
                        end: i + len,
                        kind: *kind,
                    });
                    taken = len;
                    break;
                }
            }
            i += taken.max(1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_the_readmes() {
        let held: Vec<&str> = [
            "Computer_Software",
            "Light",
            "Linux",
            "Periodic_Table",
            "Portugal_football_team",
            "Raul_Gonzales",
            "Solaris",
            "Summer_Olympics2004",
        ]
        .into_iter()
        .filter(|n| held_out(n))
        .collect();
        assert_eq!(held.len(), 8);
        for trained in ["Damascus", "Atom", "Football", "Crusades", "Real_Madrid"] {
            assert!(!held_out(trained), "{trained}");
        }
    }

    #[test]
    fn spans_and_exact_scoring() {
        let tags = [0, 1, 2, 0, 5, 6, 6, 2, 3];
        let found = spans(&tags);
        assert_eq!(found.len(), 4);
        assert_eq!((found[1].start, found[1].end), (4, 7));
        let mut score = Score::default();
        let partial = Span {
            start: 4,
            end: 6,
            kind: EntityKind::Place,
        };
        score.add(&found, &[found[0], partial]);
        let (p, r, _) = score.of(None);
        assert_eq!((p, r), (0.5, 0.25));
    }
}
