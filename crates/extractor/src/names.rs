//! The name tagger in running text: Arabic text is cut into sentences and words, the tagger
//! ([`crate::ner::Tagger`], shipped in `model/ner-ar.model`) labels them with the
//! gazetteers' reading as a feature, and its names are merged with the gazetteers' matches.
//!
//! How they are merged: where both found a name of the same kind, the gazetteer's entry wins
//! (it has the canonical name, ids and coordinates); where the tagger reads a gazetteer's
//! place as a person or an organization (بلير is Blair, not the town), the tagger wins; what
//! only the tagger found is added. A one-word name that is also one of the most frequent
//! ordinary words is dropped unless a gazetteer knows it. People are given the fullest form
//! the document uses as their canonical name (السنيورة → فؤاد السنيورة).

use std::sync::OnceLock;

use khabar_core_model::{Entity, EntityKind};

use crate::common_words::WordFrequencies;
use crate::entities::MatchSource;
use crate::name_features::{
    is_letter, is_letter_or_digit, person_rules, recur_family_names, sentence_features, stem,
    GazetteerHit, Word,
};
use crate::ner::{tag_kind, ModelError, Tagger};
use crate::taken::Taken;

/// The model, as trained by `cargo xtask train ner` (CC BY-SA 3.0: see `model/README.md`).
pub const ARABIC_MODEL: &[u8] = include_bytes!("../model/ner-ar.model");

/// The shipped tagger, read once per process and shared by every stage.
pub fn arabic_tagger() -> Result<&'static Tagger, &'static ModelError> {
    static TAGGER: OnceLock<Result<Tagger, ModelError>> = OnceLock::new();
    TAGGER.get_or_init(|| Tagger::read(ARABIC_MODEL)).as_ref()
}

/// Whether most letters of `text` are Arabic: the tagger reads Arabic only.
pub fn mostly_arabic(text: &str) -> bool {
    let (mut arabic, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| is_letter(*c)).take(2000) {
        letters += 1;
        if ('\u{0600}'..='\u{06FF}').contains(&c) {
            arabic += 1;
        }
    }
    letters > 0 && arabic * 2 > letters
}

/// A token of running text: its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token {
    start: usize,
    end: usize,
}

fn is_word_char(c: char) -> bool {
    is_letter_or_digit(c) || ('\u{064B}'..='\u{065F}').contains(&c) || c == '\u{0640}'
}

/// Sentences of words and punctuation marks, as the corpus the tagger learned from cuts
/// them: a word is a run of letters and digits, each other visible character a token of its
/// own; a sentence ends after `.`, `!`, `?`, `؟` or at a line break.
fn sentences(text: &str) -> Vec<Vec<Token>> {
    let mut out = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut word_start: Option<usize> = None;
    for (at, c) in text.char_indices() {
        if is_word_char(c) {
            word_start.get_or_insert(at);
            continue;
        }
        if let Some(start) = word_start.take() {
            current.push(Token { start, end: at });
        }
        if c == '\n' {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if !c.is_whitespace() {
            current.push(Token {
                start: at,
                end: at + c.len_utf8(),
            });
            if matches!(c, '.' | '!' | '?' | '؟') {
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if let Some(start) = word_start {
        current.push(Token {
            start,
            end: text.len(),
        });
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A name the tagger found: byte range and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggedName {
    /// Start in the text (byte offset).
    pub start: usize,
    /// End in the text (byte offset, exclusive).
    pub end: usize,
    /// Person, organization or place.
    pub kind: EntityKind,
    /// Whether its sentence has words besides the name: without them the tagger read the
    /// word alone, which says nothing about a word that is an ordinary word too.
    pub in_context: bool,
}

/// Each match's source, a match without one counted as curated (a caller that knows none).
fn each_source(sources: &[MatchSource]) -> impl Iterator<Item = &MatchSource> {
    sources
        .iter()
        .chain(std::iter::repeat(&MatchSource::Curated))
}

/// The names `tagger` finds in `text`, given the gazetteer's matches (`known`, in text order
/// as [`crate::Matcher::find_with_sources`] gives them, with their `sources`).
pub fn tag_names(
    tagger: &Tagger,
    text: &str,
    known: &[Entity],
    sources: &[MatchSource],
) -> Vec<TaggedName> {
    // The tagger learned from what the lists give on their own ([`Matcher::find`]): the
    // matches that are ordinary words first are not shown to it; it settles them.
    let known: Vec<&Entity> = known
        .iter()
        .zip(each_source(sources))
        .filter(|(_, source)| **source != MatchSource::OrdinaryWord)
        .map(|(e, _)| e)
        .collect();
    let sentences = sentences(text);
    // Each word is folded and looked up once, for the features, the rules and the hints.
    let words: Vec<Vec<Word>> = sentences
        .iter()
        .map(|tokens| {
            tokens
                .iter()
                .map(|t| Word::new(text.get(t.start..t.end).unwrap_or_default()))
                .collect()
        })
        .collect();
    let mut features = Vec::with_capacity(sentences.len());
    // The matches come in text order, as the sentences do: each sentence looks only at the
    // matches from the first that does not end before it.
    let mut first_match = 0;
    for (tokens, words) in sentences.iter().zip(&words) {
        let from = tokens.first().map_or(0, |t| t.start);
        let to = tokens.last().map_or(0, |t| t.end);
        while known.get(first_match).is_some_and(|e| e.end <= from) {
            first_match += 1;
        }
        let mut hits: Vec<GazetteerHit> = vec![None; tokens.len()];
        let in_sentence = known[first_match.min(known.len())..]
            .iter()
            .take_while(|e| e.start < to);
        for entity in in_sentence {
            let mut first = true;
            for (hit, token) in hits.iter_mut().zip(tokens) {
                if token.start < entity.end && entity.start < token.end {
                    *hit = Some((entity.kind, first));
                    first = false;
                }
            }
        }
        features.push(sentence_features(words, &hits));
    }
    let keys: Vec<Vec<&str>> = words
        .iter()
        .map(|sentence| sentence.iter().map(Word::stem).collect())
        .collect();
    let mut tags = tagger.tag_document(&features, &keys);
    for (words, tags) in words.iter().zip(tags.iter_mut()) {
        person_rules(words, tags);
    }
    recur_family_names(&words, &mut tags);
    let mut names = Vec::new();
    for ((tokens, tags), words) in sentences.iter().zip(&tags).zip(&words) {
        let word_count = words.iter().filter(|w| w.is_word()).count();
        let mut i = 0;
        while i < tags.len() {
            let Some(kind) = tag_kind(tags[i]) else {
                i += 1;
                continue;
            };
            let begin = tags[i];
            let mut end = i + 1;
            while end < tags.len() && tags[end] == begin + 1 {
                end += 1;
            }
            let name_words = words
                .get(i..end)
                .map_or(0, |name| name.iter().filter(|w| w.is_word()).count());
            names.push(TaggedName {
                start: tokens[i].start,
                end: tokens[end - 1].end,
                kind,
                in_context: word_count > name_words,
            });
            i = end;
        }
    }
    names
}

/// A name's words as stems of their search forms, for telling two ways of writing a name
/// apart from two names (لراؤول and راؤول, السنيورة in فؤاد السنيورة).
fn bare(surface: &str) -> Vec<String> {
    khabar_text::normalize_for_search(surface)
        .split(' ')
        .map(|w| stem(w).to_string())
        .collect()
}

/// Whether `surface` (one word, proclitics allowed) is one of the most frequent ordinary
/// words, as written or without its proclitics.
fn is_common_word(surface: &str) -> bool {
    let frequencies = WordFrequencies::arabic();
    let folded = khabar_text::normalize_for_search(surface);
    !folded.contains(' ')
        && (frequencies.is_common(&folded) || frequencies.is_common(stem(&folded)))
}

/// Merges the tagger's names into the gazetteer's matches (see the module's documentation).
pub fn merge(
    text: &str,
    known: Vec<Entity>,
    sources: &[MatchSource],
    tagged: &[TaggedName],
) -> Vec<Entity> {
    let overlaps = |e: &Entity, t: &TaggedName| e.start < t.end && t.start < e.end;
    // A one-word name from a bulk list that the tagger, which saw the match, does not take
    // for a name is an ordinary word there (العمارة is architecture before it is Al-Amarah);
    // one the matcher could not take on its own (a town whose country the text does not
    // name) is a name only where the tagger reads a place at just its words in a sentence,
    // and never when it is one of the most frequent ordinary words (صور is Tyre or
    // "pictures").
    let mut known: Vec<Entity> = known
        .into_iter()
        .zip(each_source(sources))
        .filter(|(e, source)| match source {
            MatchSource::Curated => true,
            MatchSource::Bulk => e.surface.contains(' ') || tagged.iter().any(|t| overlaps(e, t)),
            MatchSource::OrdinaryWord => {
                !is_common_word(&e.surface)
                    && tagged.iter().any(|t| {
                        t.kind == EntityKind::Place
                            && t.start == e.start
                            && t.end == e.end
                            && t.in_context
                    })
            }
        })
        .map(|(e, _)| e)
        .collect();
    // A longer name the tagger found over several of the lists' names is one name, not
    // theirs: جامعة شيكاغو is a university, not Chicago.
    // Both lists are in text order without overlaps: what overlaps a span is one run of
    // each, found by binary search (an article has hundreds of each).
    let known_over = |start: usize, end: usize| -> usize {
        let from = known.partition_point(|e| e.end <= start);
        known[from..].iter().take_while(|e| e.start < end).count()
    };
    let covered: Vec<bool> = known
        .iter()
        .map(|e| {
            let from = tagged.partition_point(|t| t.end <= e.start);
            tagged[from..]
                .iter()
                .take_while(|t| t.start < e.end)
                .any(|t| {
                    let inside =
                        t.start <= e.start && e.end <= t.end && t.end - t.start > e.end - e.start;
                    inside && known_over(t.start, t.end) > 1
                })
        })
        .collect();
    let mut covered = covered.into_iter();
    known.retain(|_| !covered.next().unwrap_or(false));
    // Gazetteer places the tagger reads as people or organizations.
    known.retain(|e| {
        e.kind != EntityKind::Place
            || !tagged
                .iter()
                .any(|t| t.kind != EntityKind::Place && overlaps(e, t))
    });
    // Where the tagger marks a name of the gazetteer's kind over exactly one of its matches,
    // the tagger's span is the mention (it learned where names begin and end: العاصمة
    // السورية) and the gazetteer's entry its identity.
    for name in tagged {
        let mut matching = known
            .iter()
            .enumerate()
            .filter(|(_, e)| overlaps(e, name))
            .map(|(i, _)| i);
        if let (Some(only), None) = (matching.next(), matching.next()) {
            let entity = &mut known[only];
            // Not a part of the list's name alone (`قوات` of `قوات التحالف الدولي`).
            let part = entity.start <= name.start
                && name.end <= entity.end
                && (name.start, name.end) != (entity.start, entity.end);
            if entity.kind == name.kind
                && !part
                && tagged.iter().filter(|t| overlaps(entity, t)).count() == 1
            {
                entity.start = name.start;
                entity.end = name.end;
                entity.surface = text[name.start..name.end].to_string();
            }
        }
    }
    let mut added = Vec::new();
    for name in tagged {
        if known.iter().any(|e| overlaps(e, name)) {
            continue;
        }
        let surface = &text[name.start..name.end];
        let folded = khabar_text::normalize_for_search(surface);
        let single_word = !folded.contains(' ');
        // A frequent word is a name only as a person's given name that is no ordinary word
        // too (عثمان, not كريم), read in a sentence. Words for places (سلطات is Settat only
        // on a map), groups of people (المسلمين، العرب) and institutions in general (النادي)
        // stay ordinary words, whatever the tagger says: its word alone is not enough
        // against a word's everyday sense.
        let given_name = name.in_context
            && name.kind == EntityKind::Person
            && crate::name_features::is_unambiguous_given_name(surface);
        if single_word && is_common_word(surface) && !given_name {
            continue;
        }
        added.push(Entity {
            surface: surface.to_string(),
            canonical: surface.to_string(),
            kind: name.kind,
            start: name.start,
            end: name.end,
            confidence: 0.6,
            ids: serde_json::Map::new(),
        });
    }
    // A person named in full somewhere: each part alone means the full name.
    let full_names: Vec<(Vec<String>, String)> = added
        .iter()
        .filter(|e| e.kind == EntityKind::Person && e.surface.contains(' '))
        .map(|e| (bare(&e.surface), e.surface.clone()))
        .collect();
    let first_words: std::collections::HashSet<String> = added
        .iter()
        .chain(known.iter())
        .filter_map(|e| {
            let folded = khabar_text::normalize_for_search(&e.surface);
            folded.split(' ').next().map(str::to_string)
        })
        .chain(crate::name_features::given_names().iter().cloned())
        .collect();
    for entity in added.iter_mut() {
        let key = bare(&entity.surface);
        if let (EntityKind::Person, [key]) = (entity.kind, key.as_slice()) {
            if let Some((_, full)) = full_names.iter().find(|(parts, _)| parts.contains(key)) {
                entity.canonical = full.clone();
                continue;
            }
        }
        // The first word's proclitics are no part of the name, when what is left is how the
        // document (or the list of given names) writes the name's first word: لراؤول → راؤول,
        // but فؤاد stays فؤاد.
        let first_word_end = entity.surface.find(' ').unwrap_or(entity.surface.len());
        let first = &entity.surface[..first_word_end];
        let folded_first = khabar_text::normalize_for_search(first);
        if first_words.contains(&folded_first) {
            continue;
        }
        let mut cut = 0;
        let mut rest = folded_first.as_str();
        while let Some(shorter) = rest.strip_prefix(['و', 'ف', 'ب', 'ل', 'ك']) {
            cut += 1;
            rest = shorter;
            if first_words.contains(rest) {
                let bytes: usize = first.chars().take(cut).map(char::len_utf8).sum();
                entity.canonical = entity.surface[bytes..].to_string();
                break;
            }
        }
    }
    let repeated = repeated_mentions(text, &known, &added);
    known.extend(added);
    known.extend(repeated);
    known.sort_by_key(|e| (e.start, e.end));
    known
}

/// The other mentions of the names the tagger found (`added`) in an article: the same words,
/// alone or after one proclitic (و، ف، ب، ل، ك), where no name was read. An article names a
/// person or a body the same way throughout, though not every sentence gives the tagger a cue.
fn repeated_mentions(text: &str, known: &[Entity], added: &[Entity]) -> Vec<Entity> {
    let letter = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut taken = Taken::new(known.iter().chain(added).map(|e| (e.start, e.end)));
    // One pass over the text for every name (the first reading of a surface stands).
    let mut seen = foldhash::HashSet::default();
    let names: Vec<&Entity> = added
        .iter()
        .filter(|n| n.surface.chars().count() >= 3 && seen.insert(n.surface.as_str()))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    // A handful of names an article: the automaton that is quickest to build.
    let Ok(automaton) = aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(names.iter().map(|n| n.surface.as_str()))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for found in automaton.find_iter(text) {
        let Some(name) = names.get(found.pattern().as_usize()) else {
            continue;
        };
        let (at, end) = (found.start(), found.end());
        let mut before = text[..at].chars().rev();
        let previous = before.next();
        let clitic = previous.is_some_and(|c| matches!(c, 'و' | 'ف' | 'ب' | 'ل' | 'ك'))
            && !letter(before.next());
        if (letter(previous) && !clitic) || letter(text[end..].chars().next()) {
            continue;
        }
        if !taken.claim(at, end) {
            continue;
        }
        out.push(Entity {
            start: at,
            end,
            confidence: name.confidence.min(0.55),
            ..(*name).clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tagged_name_names_its_other_mentions_alone_or_after_a_proclitic() {
        let text =
            "قال خافيير سولانا إن الاتفاق قريب. والتقى سولانا الوزير، ثم وخافيير سولانا غادر. سولاناتي";
        let name = |surface: &str, at: usize| Entity {
            surface: surface.to_string(),
            canonical: surface.to_string(),
            kind: EntityKind::Person,
            start: at,
            end: at + surface.len(),
            confidence: 0.6,
            ids: serde_json::Map::new(),
        };
        let first = text.find("خافيير سولانا").unwrap_or(0);
        let second = text.find("سولانا الوزير").unwrap_or(0);
        let added = vec![name("خافيير سولانا", first), name("سولانا", second)];
        let got: Vec<&str> = repeated_mentions(text, &[], &added)
            .iter()
            .map(|e| &text[e.start..e.end])
            .collect();
        // `وخافيير سولانا` after its proclitic; not inside `سولاناتي`, not over the names read.
        assert_eq!(got, vec!["خافيير سولانا"]);
    }

    #[test]
    fn sentences_and_words() {
        let text = "قال الرئيس فؤاد السنيورة، اليوم. ثم غادر\nبيروت";
        let cut = sentences(text);
        assert_eq!(cut.len(), 3);
        let words: Vec<&str> = cut[0].iter().map(|t| &text[t.start..t.end]).collect();
        assert_eq!(
            words,
            ["قال", "الرئيس", "فؤاد", "السنيورة", "،", "اليوم", "."]
        );
        assert_eq!(&text[cut[2][0].start..cut[2][0].end], "بيروت");
    }

    #[test]
    fn the_shipped_model_reads_and_finds_people() -> Result<(), String> {
        let tagger = arabic_tagger().map_err(|e| e.to_string())?;
        let text = "وقال رئيس الوزراء اللبناني فؤاد السنيورة إن الحكومة ستجتمع. وأضاف السنيورة أن الاجتماع مهم.";
        let names = tag_names(tagger, text, &[], &[]);
        let people: Vec<&str> = names
            .iter()
            .filter(|n| n.kind == EntityKind::Person)
            .map(|n| &text[n.start..n.end])
            .collect();
        assert!(people.contains(&"فؤاد السنيورة"), "{people:?}");
        let merged = merge(text, Vec::new(), &[], &names);
        let alone = merged
            .iter()
            .find(|e| e.surface == "السنيورة")
            .map(|e| e.canonical.as_str());
        assert_eq!(alone, Some("فؤاد السنيورة"), "{merged:?}");
        Ok(())
    }

    fn entity(text: &str, surface: &str, kind: EntityKind) -> Entity {
        let start = text.find(surface).unwrap_or_default();
        Entity {
            surface: surface.to_string(),
            canonical: surface.to_string(),
            kind,
            start,
            end: start + surface.len(),
            confidence: 0.9,
            ids: serde_json::Map::new(),
        }
    }

    fn name(text: &str, surface: &str, kind: EntityKind, in_context: bool) -> TaggedName {
        let start = text.find(surface).unwrap_or_default();
        TaggedName {
            start,
            end: start + surface.len(),
            kind,
            in_context,
        }
    }

    #[test]
    fn a_longer_tagged_name_replaces_the_list_names_inside_it() {
        let text = "درس في جامعة شيكاغو ثم عاد";
        let known = vec![
            entity(text, "جامعة", EntityKind::Place),
            entity(text, "شيكاغو", EntityKind::Place),
        ];
        let sources = [MatchSource::OrdinaryWord, MatchSource::Bulk];
        let tagged = [name(text, "جامعة شيكاغو", EntityKind::Organization, true)];
        let merged = merge(text, known, &sources, &tagged);
        let found: Vec<(&str, EntityKind)> = merged
            .iter()
            .map(|e| (e.surface.as_str(), e.kind))
            .collect();
        assert_eq!(found, [("جامعة شيكاغو", EntityKind::Organization)]);
    }

    #[test]
    fn a_tagged_part_of_a_list_name_does_not_shrink_it() {
        let text = "قصفت قوات التحالف الدولي مواقع التنظيم";
        let known = vec![entity(
            text,
            "قوات التحالف الدولي",
            EntityKind::Organization,
        )];
        let tagged = [name(text, "قوات", EntityKind::Organization, true)];
        let merged = merge(text, known, &[MatchSource::Curated], &tagged);
        let found: Vec<&str> = merged.iter().map(|e| e.surface.as_str()).collect();
        assert_eq!(found, ["قوات التحالف الدولي"]);
    }

    #[test]
    fn a_town_the_matcher_doubts_needs_the_tagger_in_a_sentence() {
        let text = "وصل الوفد إلى الباغوز";
        let town = || {
            let mut baghuz = entity(text, "الباغوز", EntityKind::Place);
            baghuz.canonical = "Al Baghuz".to_string();
            vec![baghuz]
        };
        let sources = [MatchSource::OrdinaryWord];
        let read = |kind, in_context| [name(text, "الباغوز", kind, in_context)];
        // Whether the list's entry (its identity and coordinates) is kept.
        let kept = |tagged: &[TaggedName]| {
            merge(text, town(), &sources, tagged)
                .iter()
                .any(|e| e.canonical == "Al Baghuz")
        };
        assert!(kept(&read(EntityKind::Place, true)));
        assert!(!kept(&read(EntityKind::Place, false)));
        assert!(!kept(&read(EntityKind::Person, true)));
        assert!(!kept(&[]));
        // An ordinary word first is not a place on the tagger's word alone.
        let text = "نشر صور الهجوم";
        let pictures = vec![entity(text, "صور", EntityKind::Place)];
        let tagged = [name(text, "صور", EntityKind::Place, true)];
        assert!(merge(text, pictures, &sources, &tagged).is_empty());
    }

    #[test]
    fn arabic_or_not() {
        assert!(mostly_arabic("قال الرئيس Obama"));
        assert!(!mostly_arabic("The president said"));
        assert!(!mostly_arabic("2019 ..."));
    }
}
