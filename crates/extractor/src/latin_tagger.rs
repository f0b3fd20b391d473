//! The English name tagger: an averaged perceptron over each sentence's words
//! ([`crate::ner`]) that sees what the gazetteers and the name rules ([`crate::latin_names`])
//! made of every word beside its shape, case, frequency and the name lists, and settles the
//! names: where the rules' cues mislead (a role word that is part of a name, a capitalised
//! ordinary word), the labelled sentences it learned from say how much to trust each cue.
//!
//! How it is driven: the `entities` stage calls [`retag`] on English text with the gazetteers'
//! names and the rules' merged names; `cargo xtask train ner --lang en` builds
//! [`Example`]s with [`examples`] from labelled sentences, trains a [`Model`] and writes it to
//! `model/ner-en.model`, which [`english_model`] reads.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::ops::Range;
use std::sync::OnceLock;

use khabar_core_model::{Entity, EntityKind};

use crate::common_words::WordFrequencies;
use crate::latin_names::{self, Word};
use crate::ner::{tag_kind, Example, Features, Model, ModelError, TAGS};
use crate::taken::Taken;

/// The model as built by `cargo xtask train ner --lang en` (see `model/README.md`).
pub const ENGLISH_MODEL: &[u8] = include_bytes!("../model/ner-en.model");

/// The shipped model, read once per process.
pub fn english_model() -> Result<&'static Model, &'static ModelError> {
    static MODEL: OnceLock<Result<Model, ModelError>> = OnceLock::new();
    MODEL.get_or_init(|| Model::read(ENGLISH_MODEL)).as_ref()
}

/// The tag number of a kind's first (`B-`) tag; the inside tag is the next number.
fn begin_tag(kind: EntityKind) -> usize {
    match kind {
        EntityKind::Person => 1,
        EntityKind::Organization => 3,
        EntityKind::Place => 5,
    }
}

/// The tags of `words` that `names` (byte spans) give: `B-` on a name's first word, `I-` on
/// the words after it inside the name.
fn tags_of(words: &[Word], names: impl Iterator<Item = (usize, usize, EntityKind)>) -> Vec<usize> {
    let mut tags = vec![0; words.len()];
    for (start, end, kind) in names {
        // Words are in text order: the name's words follow the first that starts in it.
        let first = words.partition_point(|w| w.start < start);
        for (i, w) in words.iter().enumerate().skip(first) {
            if w.start == start {
                tags[i] = begin_tag(kind);
            } else if w.end <= end {
                tags[i] = begin_tag(kind) + 1;
            } else {
                break;
            }
        }
    }
    tags
}

/// The sentences of `words`, as index ranges.
fn sentences(words: &[Word]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    for i in 1..=words.len() {
        if i == words.len() || words[i].sentence_start {
            if from < i {
                out.push(from..i);
            }
            from = i;
        }
    }
    out
}

/// A word's shape: `Xx`, `XX`, `x`, `d`, `X.X.`, `Xx-Xx` (runs of one class written once).
fn shape(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let class = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if !out.ends_with(class) {
            out.push(class);
        }
    }
    out
}

/// The features of the words of one sentence: the word and its neighbours, shape and case,
/// frequency, list membership, and the gazetteers' and the rules' tags.
fn sentence_features(words: &[Word], gazetteer: &[usize], rules: &[usize]) -> Features {
    let lists = latin_names::lists();
    let frequencies = WordFrequencies::english();
    let mut features = Features::new(words.len());
    features.reserve(32);
    let lower: Vec<String> = words.iter().map(|w| w.text.to_lowercase()).collect();
    let shapes: Vec<String> = words.iter().map(|w| shape(w.text)).collect();
    let titles: Vec<bool> = (0..words.len())
        .map(|i| latin_names::is_title_at(lists, words, i))
        .collect();
    let rule = |i: Option<usize>| i.map_or("none", |i| TAGS[rules[i]]);
    for (i, w) in words.iter().enumerate() {
        let mut add = |parts: &[&str]| features.add(i, parts);
        let previous = i.checked_sub(1);
        let next = (i + 1 < words.len()).then_some(i + 1);
        add(&["bias"]);
        add(&["w", &lower[i]]);
        add(&["shape", &shapes[i]]);
        let suffix_at = lower[i].char_indices().rev().nth(2).map_or(0, |(at, _)| at);
        add(&["suffix", &lower[i][suffix_at..]]);
        let start_of = if w.sentence_start { "start" } else { "inside" };
        add(&["position", start_of, &shapes[i]]);
        let folded = khabar_text::normalize_for_search(w.text);
        let frequency = match frequencies.rank(&folded) {
            Some(r) if r <= 1000 => "top1000",
            Some(r) if r <= 5000 => "top5000",
            Some(_) => "listed",
            None => "unlisted",
        };
        add(&["frequency", frequency, &shapes[i]]);
        let bare = w.text.trim_end_matches('.');
        for (name, member) in [
            (
                "given",
                lists.given.contains(w.text) || lists.census_given.contains(w.text),
            ),
            ("surname", lists.surnames.contains_key(w.text)),
            ("title", titles[i]),
            ("person-verb", lists.person_verbs.contains(w.text)),
            ("org-end", lists.org_end.contains(bare)),
            ("org-head", lists.org_head.contains(w.text)),
            ("org", lists.orgs.contains(w.text)),
            ("team", lists.teams.contains(w.text)),
            ("place", lists.places.contains(w.text)),
            ("place-end", lists.place_end.contains(w.text)),
            ("demonym", latin_names::demonym(lists, w.text)),
            ("connector", latin_names::CONNECTORS.contains(&w.text)),
        ] {
            if member {
                add(&["list", name]);
            }
        }
        add(&["gazetteer", TAGS[gazetteer[i]]]);
        add(&["rule", rule(Some(i))]);
        add(&["rule+shape", rule(Some(i)), &shapes[i]]);
        add(&["rule+previous", rule(Some(i)), rule(previous)]);
        add(&["rule+next", rule(Some(i)), rule(next)]);
        add(&["gazetteer+rule", TAGS[gazetteer[i]], rule(Some(i))]);
        let word_at = |j: Option<usize>| j.map_or("", |j| lower[j].as_str());
        add(&["previous", word_at(previous)]);
        add(&["next", word_at(next)]);
        add(&["previous 2", word_at(i.checked_sub(2))]);
        add(&["next 2", word_at((i + 2 < words.len()).then_some(i + 2))]);
        add(&[
            "previous shape",
            previous.map_or("", |j| shapes[j].as_str()),
        ]);
        add(&["next shape", next.map_or("", |j| shapes[j].as_str())]);
        if previous.is_some_and(|j| titles[j]) {
            add(&["after a title"]);
        }
        if next.is_some_and(|j| lists.person_verbs.contains(words[j].text)) {
            add(&["before a reporting verb"]);
        }
        if !w.joined && !w.sentence_start {
            add(&["after punctuation", &shapes[i]]);
        }
    }
    features
}

/// The tags the gazetteers' names and the rules' names give each word of `text`.
fn readings(words: &[Word], found: &[Entity], ruled: &[Entity]) -> (Vec<usize>, Vec<usize>) {
    let span = |e: &Entity| (e.start, e.end, e.kind);
    (
        tags_of(words, found.iter().map(span)),
        tags_of(words, ruled.iter().map(span)),
    )
}

/// Labelled examples from one text: its sentences' features (from the gazetteers' names
/// `found` and the rules' `ruled`) with the tags of the labelled names `gold` (byte spans).
pub fn examples(
    text: &str,
    found: &[Entity],
    ruled: &[Entity],
    gold: &[(usize, usize, EntityKind)],
) -> Vec<Example> {
    let words = latin_names::words(text);
    let (gazetteer, rules) = readings(&words, found, ruled);
    let tags = tags_of(&words, gold.iter().copied());
    sentences(&words)
        .into_iter()
        .map(|range| Example {
            features: sentence_features(
                &words[range.clone()],
                &gazetteer[range.clone()],
                &rules[range.clone()],
            ),
            tags: tags[range].to_vec(),
        })
        .collect()
}

/// The names of English `text` as the model reads them, given the gazetteers' names `found`
/// and the rules' merged names `ruled`. A name the model reads as the rules or the gazetteers
/// do keeps their entry (canonical form, ids); a gazetteer's name the model reads part of, in
/// the same kind, stands whole, and one the model reads nothing in stays; a name only the
/// model reads is written as it stands in the text.
pub fn retag(model: &Model, text: &str, found: &[Entity], ruled: Vec<Entity>) -> Vec<Entity> {
    let words = latin_names::words(text);
    let (gazetteer, rules) = readings(&words, found, &ruled);
    // Lookups by span, so that a long text costs in proportion to its length.
    let by_span = |names: &[Entity]| {
        let mut at: HashMap<(usize, usize, EntityKind), usize> = HashMap::new();
        for (i, e) in names.iter().enumerate() {
            at.entry((e.start, e.end, e.kind)).or_insert(i);
        }
        at
    };
    let mut spans_out: HashSet<(usize, usize)> = HashSet::new();
    let (ruled_at, found_at) = (by_span(&ruled), by_span(found));
    let mut ruled_by_start: Vec<usize> = (0..ruled.len()).collect();
    ruled_by_start.sort_by_key(|&i| (ruled[i].start, ruled[i].end));
    let widest = ruled.iter().map(|e| e.end - e.start).max().unwrap_or(0);
    let mut out: Vec<Entity> = Vec::new();
    for range in sentences(&words) {
        let sentence = &words[range.clone()];
        let features =
            sentence_features(sentence, &gazetteer[range.clone()], &rules[range.clone()]);
        let tags = model.tag(&features);
        let mut i = 0;
        while i < tags.len() {
            let Some(kind) = tag_kind(tags[i]) else {
                i += 1;
                continue;
            };
            // A name does not run across punctuation (`Barry , Berrien` are two counties),
            let mut j = i + 1;
            // and a person's name holds no `of` (`President Xi Jinping of China`).
            while j < tags.len()
                && tags[j] == begin_tag(kind) + 1
                && sentence[j].joined
                && !(kind == EntityKind::Person && matches!(sentence[j].text, "of" | "for"))
            {
                j += 1;
            }
            // Nor does it start with a nationality before ordinary words (`Syrian government
            // forces`; `European Commission` is a name).
            let lists = latin_names::lists();
            let from = if j - i > 1
                && latin_names::demonym(lists, sentence[i].text)
                && !sentence[i + 1].capitalised()
            {
                i + 1
            } else {
                i
            };
            let (start, end) = (sentence[from].start, sentence[j - 1].end);
            // A gazetteer's name of the same kind keeps its own words, canonical form and
            // ids where the tagger reads part of it (`al-Hol` of `al-Hol camp`): the first
            // such name in text order among those that overlap.
            let first_overlapping =
                ruled_by_start.partition_point(|&i| ruled[i].start.saturating_add(widest) <= start);
            let listed = ruled_by_start[first_overlapping..]
                .iter()
                .map(|&i| &ruled[i])
                .take_while(|e| e.start < end)
                .find(|e| !e.ids.is_empty() && e.kind == kind && start < e.end);
            let entity = listed
                .or_else(|| ruled_at.get(&(start, end, kind)).map(|&i| &ruled[i]))
                .or_else(|| found_at.get(&(start, end, kind)).map(|&i| &found[i]))
                .cloned()
                .unwrap_or_else(|| latin_names::entity(text, start, end, kind, 0.6));
            if spans_out.insert((entity.start, entity.end)) {
                out.push(entity);
            }
            i = j;
        }
    }
    // A gazetteer's name the rules kept and the tagger reads nothing in stays: the lists
    // know names the tagger's few sentences never showed it.
    out.sort_by_key(|e| (e.start, e.end));
    let widest = out.iter().map(|e| e.end - e.start).max().unwrap_or(0);
    let kept: Vec<Entity> = ruled
        .into_iter()
        .filter(|e| !e.ids.is_empty())
        .filter(|e| {
            let from = out.partition_point(|o| o.start.saturating_add(widest) <= e.start);
            !out[from..]
                .iter()
                .take_while(|o| o.start < e.end)
                .any(|o| e.start < o.end)
        })
        .collect();
    out.extend(kept);
    let things = latin_names::defined_abbreviations(text, &words);
    out.retain(|e| !things.contains(e.surface.as_str()));
    repeat_names(text, &words, &mut out);
    out.sort_by_key(|e| (e.start, e.end));
    out
}

/// An article names a body the same way throughout: where the tagger read a name once
/// (`Big Machine` after `record label`), its other mentions are that name too, whatever their
/// own sentence gives for a cue. Only the same words exactly, at word boundaries, where
/// nothing else was read.
fn repeat_names(text: &str, words: &[Word], names: &mut Vec<Entity>) {
    // Each name's words by its text (the first reading of a text stands), and the lengths.
    let mut by_text: HashMap<&str, &Entity> = HashMap::new();
    let mut lengths: Vec<usize> = Vec::new();
    for name in names.iter() {
        let first = words.partition_point(|w| w.start < name.start);
        let last = words.partition_point(|w| w.end <= name.end);
        let Some(length) = last.checked_sub(first).filter(|&n| n > 0) else {
            continue;
        };
        by_text.entry(name.surface.as_str()).or_insert(name);
        if !lengths.contains(&length) {
            lengths.push(length);
        }
    }
    let mut taken = Taken::new(names.iter().map(|e| (e.start, e.end)));
    let mut repeated = Vec::new();
    for at in 0..words.len() {
        for &length in &lengths {
            let Some(candidate) = words.get(at..at + length) else {
                continue;
            };
            let (start, end) = (candidate[0].start, candidate[length - 1].end);
            let Some(name) = text.get(start..end).and_then(|t| by_text.get(t)) else {
                continue;
            };
            if candidate.iter().skip(1).any(|w| !w.joined) || !taken.claim(start, end) {
                continue;
            }
            repeated.push(Entity {
                start,
                end,
                confidence: name.confidence.min(0.6),
                ..(*name).clone()
            });
        }
    }
    names.extend(repeated);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_reads_and_keeps_what_the_rules_are_sure_of() {
        let model = english_model().expect("model/ner-en.model reads");
        let text = "Cleveland coach Freddie Kitchens said the Browns would appeal to the NFL.";
        let ruled = latin_names::find(text, Vec::new(), |_| false);
        let got: Vec<(String, EntityKind)> = retag(model, text, &[], ruled)
            .into_iter()
            .map(|e| (e.surface, e.kind))
            .collect();
        crate::latin_names::tests::assert_includes(
            &got,
            &[
                ("Freddie Kitchens", EntityKind::Person),
                ("Browns", EntityKind::Organization),
                ("NFL", EntityKind::Organization),
            ],
        );
    }

    #[test]
    fn a_name_read_once_names_its_other_mentions_too() {
        let text = "Big Machine denied it. The label Big Machine sued, and Big Machines \
                    and Big Machine Records did not.";
        let words = latin_names::words(text);
        let at = text
            .find("label Big Machine")
            .map_or(0, |i| i + "label ".len());
        let records = text.rfind("Big Machine Records").unwrap_or(0);
        let organization = |start: usize, name: &str| {
            latin_names::entity(
                text,
                start,
                start + name.len(),
                EntityKind::Organization,
                0.7,
            )
        };
        let mut names = vec![
            organization(at, "Big Machine"),
            organization(records, "Big Machine Records"),
        ];
        repeat_names(text, &words, &mut names);
        names.sort_by_key(|e| e.start);
        let got: Vec<(&str, usize)> = names
            .iter()
            .map(|e| (e.surface.as_str(), e.start))
            .collect();
        // The first mention gains the name; `Big Machines` is other words; the longer name
        // already read keeps its own words.
        assert_eq!(
            got,
            vec![
                ("Big Machine", 0),
                ("Big Machine", at),
                ("Big Machine Records", records),
            ]
        );
    }

    #[test]
    fn tags_follow_the_names_and_shapes_collapse() {
        let text = "Mr. John Smith met officials in New York.";
        let words = latin_names::words(text);
        let start = text.find("John").unwrap_or(0);
        let place = text.find("New York").unwrap_or(0);
        let tags = tags_of(
            &words,
            [
                (start, start + "John Smith".len(), EntityKind::Person),
                (place, place + "New York".len(), EntityKind::Place),
            ]
            .into_iter(),
        );
        let named: Vec<(&str, &str)> = words
            .iter()
            .zip(&tags)
            .filter(|(_, t)| **t != 0)
            .map(|(w, t)| (w.text, TAGS[*t]))
            .collect();
        assert_eq!(
            named,
            vec![
                ("John", "B-PER"),
                ("Smith", "I-PER"),
                ("New", "B-LOC"),
                ("York", "I-LOC")
            ]
        );
        assert_eq!(shape("McDonald's"), "XxXx'x");
        assert_eq!(shape("U.S."), "X.X.");
    }

    #[test]
    fn any_sequence_of_words_numbers_and_marks_gives_names_inside_the_text() {
        let model = english_model().expect("model/ner-en.model reads");
        let pieces = [
            "Leeds",
            "2",
            "Chelsea",
            "1",
            "beat",
            "3-0",
            "Mr.",
            "John",
            "Smith",
            "said",
            ".",
            ",",
            ":",
            "—",
            "’s",
            "'",
            "U.S.",
            "NEW",
            "YORK",
            "1996-08-30",
            "SoFi",
            "McDonald",
            "Iraqi",
            "and",
            "of",
            "the",
            "Center",
            "for",
            "coach",
            "DL",
            "(",
            ")",
            "\n",
            "é",
            "Çelik",
            "دمشق",
            "Jr.",
            "-",
            "&",
            "B&H",
            "Ministry",
            "Trade",
            "quarterback",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let piece = pieces[(state % pieces.len() as u64) as usize];
                if state & 0x100 != 0 {
                    text.push(' ');
                }
                text.push_str(piece);
            }
            let ruled = latin_names::find(&text, Vec::new(), |_| false);
            for e in retag(model, &text, &[], ruled) {
                assert!(
                    text.get(e.start..e.end) == Some(e.surface.as_str()),
                    "{e:?} in {text:?}"
                );
                // No name runs across punctuation, and no person's name holds `of`.
                assert!(!e.surface.contains([',', ':', '(']), "{e:?} in {text:?}");
                assert!(
                    !(e.kind == EntityKind::Person && e.surface.contains(" of ")),
                    "{e:?} in {text:?}"
                );
            }
        }
    }

    #[test]
    fn a_gazetteer_name_keeps_its_words_canonical_form_and_ids() {
        let model = english_model().expect("model/ner-en.model reads");
        let text = "Thousands were taken by truck to the al-Hol camp in the east.";
        let start = text.find("al-Hol").unwrap_or(0);
        let mut ids = serde_json::Map::new();
        ids.insert("khabar".into(), "khabar:al-hol-camp".into());
        let camp = Entity {
            surface: "al-Hol camp".into(),
            canonical: "مخيم الهول".into(),
            kind: EntityKind::Place,
            start,
            end: start + "al-Hol camp".len(),
            confidence: 0.9,
            ids,
        };
        let ruled = latin_names::find(text, vec![camp.clone()], |_| false);
        let got = retag(model, text, std::slice::from_ref(&camp), ruled);
        assert_eq!(got, vec![camp]);
    }
}
