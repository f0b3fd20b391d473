//! The `entities` transform: finds gazetteer names in the text, Arabic clitics and quotes
//! included, and lists the people, organizations and places with their coordinates.
//!
//! Matching walks the search form of the text (quotation marks dropped: تنظيم "داعش" is تنظيم
//! داعش) word by word and looks up the longest name that starts there, or after up to three of
//! the proclitics و ف ب ل ك, and ends a word; every match maps back to byte offsets in `text`.
//! Names are kept in one hash table with every prefix of theirs that ends where a word ends
//! (`NameTable`): a name ends a word, so only word ends need asking, and the walk stops at
//! the first prefix no name has. Building it is hashing each name once — a seventh of the time
//! an automaton over the same 116k names took, which every process start paid.
//!
//! A name may belong to several entries (Tripoli in Libya and in Lebanon). The text settles
//! it: countries it names, and the countries of the places it names unambiguously, vote; then
//! curated entries win over bulk ones, then the larger population. Names from bulk lists
//! (GeoNames) are guarded, since many are common words somewhere: stop words and names under
//! three letters are left out, a Latin-script name must be capitalised in the text, and a
//! single-word name is taken only when the text points to its country or it is a large city.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use async_trait::async_trait;
use khabar_core_model::{
    Article, BuildContext, Entity, EntityKind, InputFile, Place, StageError, Transform,
    TransformConfig, Verdict,
};
use serde::Deserialize;
use serde_json::Value;

use crate::common_words::{WordFrequencies, COMMON_RANK};
use crate::gazetteer::{parse_places_tsv, parse_tsv, GazetteerEntry, CURATED};

/// `[transforms.<id>] type = "entities"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitiesConfig {
    /// Extra gazetteers (TSV, same columns as the curated one), relative to the config file.
    #[serde(default)]
    pub lists: Vec<PathBuf>,
    /// Bulk place lists (the GeoNames list `cargo xtask gazetteer` builds), relative to the
    /// config file; their names are guarded against common words.
    #[serde(default)]
    pub places: Vec<PathBuf>,
    /// Use the curated list shipped with Khabar.
    #[serde(default = "default_true")]
    pub curated: bool,
    /// Find the people, organizations and places the lists do not have with the name tagger
    /// shipped with Khabar (Arabic text; `model/ner-ar.model`).
    #[serde(default = "default_true")]
    pub tagger: bool,
}

fn default_true() -> bool {
    true
}

/// Quotation marks that sit inside names in Arabic prose.
fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '«' | '»' | '“' | '”' | '„' | '‘' | '’')
}

/// Single proclitics; combinations (وب, ول, فل…) are sequences of them.
const PROCLITICS: [char; 5] = ['و', 'ف', 'ب', 'ل', 'ك'];

/// Population above which a bulk single-word place is taken without its country in the text.
const LARGE_CITY: u64 = 100_000;

/// One entry a name may stand for.
#[derive(Clone, Copy)]
struct Candidate {
    entry: u32,
    /// The name is written in Latin script in a bulk list: the text must capitalise it.
    needs_capital: bool,
    /// A bulk single-word name: taken only with its country in the text, or a large city.
    needs_context: bool,
    /// A bulk single-word name in Latin script of a town (not a large city): not taken where
    /// it reads as part of a person's or an institution's name (Myles Garrett, Brick Lane).
    single_latin: bool,
    /// A bulk single-word name that is one of the thousand most frequent ordinary words
    /// (القاهرة is one, and so is مدينة): a name only where the name tagger reads one.
    ordinary_word: bool,
}

/// Where a match comes from, which says how much it needs besides the list to be a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchSource {
    /// A curated list: a name wherever it is written.
    Curated,
    /// A bulk list (GeoNames), in a form or context the matcher accepts on its own.
    Bulk,
    /// A bulk name that is an ordinary word first, or a small place whose country the text
    /// does not name: kept only where the name tagger reads a place
    /// ([`crate::names::merge`]); [`Matcher::find`] leaves these out.
    OrdinaryWord,
}

/// A compiled gazetteer.
pub struct Matcher {
    names: NameTable,
    /// Pattern number → the entries its name stands for.
    candidates: Vec<Vec<Candidate>>,
    entries: Vec<GazetteerEntry>,
    /// The ids of the entries that are countries.
    countries: std::collections::HashSet<String>,
}

/// Whether the character at byte `at` belongs to a word, and its width; ASCII and the
/// two-byte basic Arabic block read without general decoding. (Always inlined: it runs for
/// every character, and called rather than inlined it costs the matcher 5 %.)
#[inline(always)]
fn word_char_at(search: &str, at: usize) -> Option<(bool, usize)> {
    match *search.as_bytes().get(at..)? {
        [b, ..] if b.is_ascii() => Some((b.is_ascii_alphanumeric(), 1)),
        [lead @ (0xD8 | 0xD9), second, ..] => {
            let code = (u32::from(lead & 0x1F) << 6) | u32::from(second & 0x3F);
            Some((char::from_u32(code).is_some_and(is_word_char), 2))
        }
        _ => search[at..]
            .chars()
            .next()
            .map(|c| (is_word_char(c), c.len_utf8())),
    }
}

/// Where the word starting at `at` ends.
fn word_end(search: &str, at: usize) -> usize {
    let mut end = at;
    while let Some((true, width)) = word_char_at(search, end) {
        end += width;
    }
    end
}

/// Every name (search form) with its pattern number, and every prefix of a name that ends just
/// before a character that is not a word character (its first word, its first two words, `u.s`
/// of `u.s. army`…) with `None`. A longer name can only match where its prefixes do, so a walk
/// along a text's word ends stops at the first prefix that is not here: most words are not
/// the start of any name and cost one lookup.
/// (foldhash: asked once per word of every text; the standard hasher, built to resist crafted
/// collisions that a table of gazetteer names does not need, costs more.)
#[derive(Default)]
struct NameTable {
    entries: foldhash::HashMap<Box<str>, Option<u32>>,
}

impl NameTable {
    fn with_capacity(capacity: usize) -> NameTable {
        NameTable {
            entries: foldhash::HashMap::with_capacity_and_hasher(capacity, Default::default()),
        }
    }

    fn insert(&mut self, name: &str, pattern: u32) {
        for (at, c) in name.char_indices() {
            if at > 0 && !is_word_char(c) && !self.entries.contains_key(&name[..at]) {
                self.entries.insert(Box::from(&name[..at]), None);
            }
        }
        self.entries.insert(Box::from(name), Some(pattern));
    }

    /// The pattern number of a name already in the table.
    fn pattern(&self, name: &str) -> Option<u32> {
        self.entries.get(name).copied().flatten()
    }

    /// The longest name that starts at `start` in `search` and ends a word: (end, pattern).
    fn longest_at(&self, search: &str, start: usize) -> Option<(usize, usize)> {
        let mut best = None;
        let mut at = start;
        loop {
            // To the next character that is not a word character, or the end.
            let next = loop {
                match word_char_at(search, at) {
                    Some((true, width)) => at += width,
                    other => break other,
                }
            };
            if at > start {
                match self.entries.get(&search[start..at]) {
                    None => return best,
                    Some(Some(pattern)) => best = Some((at, *pattern as usize)),
                    Some(None) => {}
                }
            }
            match next {
                Some((_, width)) => at += width,
                None => return best,
            }
        }
    }
}

/// A name found in the search form of a text (byte range) with its pattern.
struct Found {
    start: usize,
    end: usize,
    pattern: usize,
}

fn is_word_char(c: char) -> bool {
    match c {
        _ if c.is_ascii() => c.is_ascii_alphanumeric(),
        '\u{0621}'..='\u{064A}'
        | '\u{0660}'..='\u{0669}'
        | '\u{066E}'..='\u{06D3}'
        | '\u{06F0}'..='\u{06F9}' => true,
        // Arabic punctuation, marks and signs.
        '\u{0600}'..='\u{06FF}' => false,
        _ => c.is_alphanumeric(),
    }
}

/// The names of a gazetteer could not be made into a matcher.
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("gazetteer: more than 2^32 entries")]
    TooManyEntries,
}

/// One alias of entry `entry_number` as the matcher reads it: its search form and how it may be
/// taken; `None` when it is too short or too common to be a name on its own.
fn name_reading(
    entry: &GazetteerEntry,
    entry_number: u32,
    alias: &str,
    frequencies: &WordFrequencies,
) -> Option<(String, Candidate)> {
    let folded: String = khabar_text::normalize_for_search(alias)
        .chars()
        .filter(|c| !is_quote(*c))
        .collect();
    let letters = folded
        .chars()
        .filter(|c| khabar_text::is_alphanumeric(*c))
        .count();
    if letters < 2 {
        return None;
    }
    let candidate = if entry.bulk {
        // A stop word, or one behind a proclitic (وان is و + ان, and Van).
        let without_clitic = folded
            .strip_prefix(|c: char| PROCLITICS.contains(&c))
            .unwrap_or(&folded);
        if letters < 3
            || crate::keyphrases::is_stop_word(&folded)
            || crate::keyphrases::is_stop_word(without_clitic)
            || folded.split(' ').all(crate::keyphrases::is_stop_word)
        {
            return None;
        }
        let latin = alias
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
        let single_word = !folded.contains(' ');
        // An ordinary word first (مدينة is "city" before it is Medina): among the
        // thousand most frequent words never a bulk name, among the five thousand
        // only with its country in the text. Countries and first-level divisions
        // keep their names.
        // A word that takes the article is a noun: سلطات is rare for "authorities"
        // only because السلطات is how news writes it (and Settat is سطات).
        let with_article = format!("ال{folded}");
        let rank = frequencies
            .rank(&folded)
            .into_iter()
            .chain(frequencies.rank(&with_article))
            .min()
            .unwrap_or(u32::MAX);
        let division = entry.is_country()
            || entry
                .feature
                .as_deref()
                .is_some_and(|f| f.starts_with("A."));
        let ordinary_word = single_word && !division && rank <= 1000;
        let ordinary = single_word && !division && rank <= COMMON_RANK;
        // Short Arabic words are too often something else, whatever the town's size.
        let short_arabic = !latin && letters <= 3;
        Candidate {
            entry: entry_number,
            needs_capital: latin,
            // A first-level division (Michigan) is named without its country: the
            // population rule is for towns.
            needs_context: ordinary
                || (single_word
                    && !division
                    && (short_arabic || entry.population.unwrap_or(0) < LARGE_CITY)),
            single_latin: latin
                && single_word
                && !entry.is_country()
                && entry.population.unwrap_or(0) < LARGE_CITY,
            ordinary_word,
        }
    } else {
        Candidate {
            entry: entry_number,
            needs_capital: false,
            needs_context: false,
            single_latin: false,
            ordinary_word: false,
        }
    };
    Some((folded, candidate))
}

impl Matcher {
    pub fn new(entries: Vec<GazetteerEntry>) -> Result<Matcher, MatcherError> {
        let count = u32::try_from(entries.len()).map_err(|_| MatcherError::TooManyEntries)?;
        let frequencies = WordFrequencies::arabic();
        // Reading the names (folding, frequency ranks) is most of the build and each entry's
        // is its own: two halves on two threads, then the table filled in entry order, so the
        // result is the one a single thread gives.
        let read = |range: std::ops::Range<u32>| -> Vec<(String, Candidate)> {
            range
                .flat_map(|number| {
                    let entry = &entries[number as usize];
                    entry
                        .aliases
                        .iter()
                        .filter_map(move |alias| name_reading(entry, number, alias, frequencies))
                })
                .collect()
        };
        let half = count / 2;
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| read(half..count));
            let first = read(0..half);
            // A panic in the other half is a bug to see, not to hide: it goes on up.
            (first, second.join())
        });
        let second = second.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // Sized for the names and their prefixes up front: growing the table by rehashing
        // was a twentieth of the build.
        let readings = first.len() + second.len();
        let mut names = NameTable::with_capacity(readings);
        let mut candidates: Vec<Vec<Candidate>> = Vec::with_capacity(readings);
        for (folded, candidate) in first.into_iter().chain(second) {
            // After ل the article's alef is not written: للتحالف is ل + التحالف.
            let with_lam = folded.strip_prefix("ال").map(|rest| format!("لل{rest}"));
            for pattern in std::iter::once(folded).chain(with_lam) {
                let slot = match names.pattern(&pattern) {
                    Some(slot) => slot,
                    None => {
                        let slot = u32::try_from(candidates.len())
                            .map_err(|_| MatcherError::TooManyEntries)?;
                        names.insert(&pattern, slot);
                        candidates.push(Vec::new());
                        slot
                    }
                };
                let for_name = &mut candidates[slot as usize];
                if !for_name.iter().any(|c| c.entry == candidate.entry) {
                    for_name.push(candidate);
                }
            }
        }
        let countries = entries
            .iter()
            .filter(|e| e.is_country())
            .map(|e| e.id.clone())
            .collect();
        Ok(Matcher {
            names,
            candidates,
            entries,
            countries,
        })
    }

    /// Whether an entity this matcher found names a country.
    pub fn names_a_country(&self, entity: &Entity) -> bool {
        entity
            .ids
            .get("khabar")
            .and_then(Value::as_str)
            .is_some_and(|id| self.countries.contains(id))
    }

    /// How many names (patterns) the matcher knows.
    pub fn names(&self) -> usize {
        self.candidates.len()
    }

    /// The longest name starting at word start `at` (or after proclitics there) that ends a
    /// word: (start, end, pattern).
    fn name_at(&self, search: &str, at: usize, word_end: usize) -> Option<Found> {
        let mut start = at;
        for _ in 0..=3 {
            if let Some((end, pattern)) = self.names.longest_at(search, start) {
                // A word that is more frequent than what follows its proclitics is an
                // ordinary word: لوكالة is "to the agency", not ل + Calais; فرانس is not
                // ف + Reims. والعراق is rarer than العراق: و + Iraq.
                if start > at {
                    let frequencies = WordFrequencies::arabic();
                    if let Some(whole) = frequencies.zipf(&search[at..word_end]) {
                        let rest = frequencies.zipf(&search[start..word_end]);
                        if rest.is_none_or(|rest| whole >= rest) {
                            return None;
                        }
                    }
                }
                return Some(Found {
                    start,
                    end,
                    pattern,
                });
            }
            let c = search[start..].chars().next()?;
            if !PROCLITICS.contains(&c) {
                return None;
            }

            start += c.len_utf8();
            if !search[start..].chars().next().is_some_and(is_word_char) {
                return None;
            }
        }
        None
    }

    /// Entities and places in `text`, in text order: the names the lists give on their
    /// own (no [`MatchSource::OrdinaryWord`]).
    pub fn find(&self, text: &str) -> (Vec<Entity>, Vec<Place>) {
        let (entities, places, sources) = self.find_with_sources(text);
        without_ordinary_words(entities, places, &sources)
    }

    /// As [`Matcher::find`], with the matches that are ordinary words first
    /// ([`MatchSource::OrdinaryWord`], for a name tagger to settle) and each entity's source.
    pub fn find_with_sources(&self, text: &str) -> (Vec<Entity>, Vec<Place>, Vec<MatchSource>) {
        let (search, origin) = khabar_text::normalize_with_origins(text, is_quote);
        let mut found = Vec::new();
        let mut at = 0;
        let mut after_word = false;
        while at < search.len() {
            let Some((word, width)) = word_char_at(&search, at) else {
                break;
            };
            if word && !after_word {
                let word_end = word_end(&search, at);
                if let Some(name) = self.name_at(&search, at, word_end) {
                    at = name.end;
                    found.push(name);
                } else {
                    // No name starts inside a word: on to its end.
                    at = word_end;
                }
                after_word = false;
                continue;
            }
            after_word = word;
            at += width;
        }
        let text_at = |search_at: usize| origin.start(search_at).unwrap_or(text.len());
        let text_end = |search_end: usize| origin.end(search_end).unwrap_or(text.len());
        // The readings the text allows at a mention: a bulk Latin-script name only where the
        // text capitalises it and it is not part of a longer name. Both checks look at the text
        // around the mention; most mentions need neither.
        let any_candidate = |name: &Found, test: fn(&Candidate) -> bool| {
            self.candidates
                .get(name.pattern)
                .is_some_and(|all| all.iter().any(test))
        };
        let capitalised: Vec<bool> = found
            .iter()
            .map(|name| {
                !any_candidate(name, |c| c.needs_capital)
                    || text[text_at(name.start)..]
                        .chars()
                        .next()
                        .is_some_and(char::is_uppercase)
            })
            .collect();
        let readings: Vec<NameReading> = found
            .iter()
            .map(|name| {
                if !any_candidate(name, |c| c.single_latin) {
                    return NameReading::default();
                }
                let (from, to) = (text_at(name.start), text_end(name.end));
                reads_as_part_of_a_name(&text[..from], &text[to..])
            })
            .collect();
        let in_a_longer_name: Vec<bool> = readings.iter().map(|r| r.part_of_a_name).collect();
        // A surname once seen in a full name ("Myles Garrett") is a surname throughout; a
        // word before another name (`Michigan Department`) says nothing of its other mentions.
        let surnames: Vec<usize> = found
            .iter()
            .zip(&readings)
            .filter(|(_, reading)| reading.after_a_name)
            .map(|(name, _)| name.pattern)
            .collect();
        let allowed = |i: usize| {
            let capital = capitalised[i];
            let part_of_name = in_a_longer_name[i] || surnames.contains(&found[i].pattern);
            self.candidates
                .get(found[i].pattern)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(move |c| !c.needs_capital || capital)
                .filter(move |c| !(c.single_latin && part_of_name))
        };
        // The countries the text points to: those it names, and those of place mentions whose
        // every reading lies in one country.
        // A handful per text: a list searched in place beats hashing.
        let mut countries: Vec<(&str, u32)> = Vec::new();
        for i in 0..found.len() {
            let mut in_countries = allowed(i)
                .filter(|c| !c.needs_context && !c.ordinary_word)
                .filter(|c| self.entries[c.entry as usize].kind == EntityKind::Place)
                .filter_map(|c| self.entries[c.entry as usize].country.as_deref());
            if let Some(first) = in_countries.next() {
                if in_countries.all(|other| other == first) {
                    match countries.iter_mut().find(|(c, _)| *c == first) {
                        Some((_, votes)) => *votes += 1,
                        None => countries.push((first, 1)),
                    }
                }
            }
        }
        let mut entities = Vec::with_capacity(found.len());
        let mut from_bulk = Vec::with_capacity(found.len());
        let mut places: BTreeMap<String, Place> = BTreeMap::new();
        for (i, name) in found.iter().enumerate() {
            let support = |c: &Candidate| {
                self.entries[c.entry as usize]
                    .country
                    .as_deref()
                    .and_then(|country| countries.iter().find(|(c, _)| *c == country))
                    .map(|(_, votes)| *votes)
                    .unwrap_or(0)
            };
            let rank = |c: &&Candidate| {
                let entry = &self.entries[c.entry as usize];
                (
                    support(c),
                    !entry.bulk,
                    entry.population.unwrap_or(0),
                    std::cmp::Reverse(c.entry),
                )
            };
            let on_its_own = allowed(i)
                .filter(|c| !c.ordinary_word && (!c.needs_context || support(c) > 0))
                .max_by_key(rank);
            let (best, ordinary) = match on_its_own {
                Some(best) => (best, false),
                None => match allowed(i).max_by_key(rank) {
                    Some(best) => (best, true),
                    None => continue,
                },
            };
            let entry = &self.entries[best.entry as usize];
            let (from, to) = (text_at(name.start), text_end(name.end));
            let length = search[name.start..name.end].chars().count();
            let mut confidence: f32 = if length <= 4 { 0.7 } else { 0.9 };
            let distinct = allowed(i)
                .filter(|c| self.entries[c.entry as usize].id != entry.id)
                .count();
            if distinct > 0 {
                // Ambiguous: surer when the text's countries decided than when size did.
                confidence *= if support(best) > 0 { 0.9 } else { 0.6 };
            }
            let mut ids = serde_json::Map::new();
            ids.insert("khabar".into(), Value::String(entry.id.clone()));
            if let Some(g) = &entry.geonames {
                ids.insert("geonames".into(), Value::String(g.clone()));
            }
            from_bulk.push(match (ordinary, entry.bulk) {
                (true, _) => MatchSource::OrdinaryWord,
                (false, true) => MatchSource::Bulk,
                (false, false) => MatchSource::Curated,
            });
            entities.push(Entity {
                surface: text[from..to].to_string(),
                canonical: entry.canonical.clone(),
                kind: entry.kind,
                start: from,
                end: to,
                confidence,
                ids,
            });
            if entry.kind == EntityKind::Place {
                let (Some(lat), Some(lon)) = (entry.lat, entry.lon) else {
                    continue;
                };
                if !places.contains_key(&entry.id) {
                    places.insert(
                        entry.id.clone(),
                        Place {
                            canonical: entry.canonical.clone(),
                            id: entry
                                .geonames
                                .clone()
                                .map(|g| format!("geonames:{g}"))
                                .unwrap_or_else(|| entry.id.clone()),
                            lat,
                            lon,
                            country: entry.country.clone(),
                        },
                    );
                }
            }
        }
        (entities, places.into_values().collect(), from_bulk)
    }
}

/// Keeps the places some place entity of `entities` names.
fn retain_named_places(entities: &[Entity], places: &mut Vec<Place>) {
    places.retain(|p| {
        entities
            .iter()
            .any(|e| e.kind == EntityKind::Place && e.canonical == p.canonical)
    });
}

/// The matches that are names on the lists' word alone: those that are ordinary words
/// first ([`MatchSource::OrdinaryWord`]) and their places left out.
fn without_ordinary_words(
    entities: Vec<Entity>,
    mut places: Vec<Place>,
    sources: &[MatchSource],
) -> (Vec<Entity>, Vec<Place>) {
    let entities: Vec<Entity> = entities
        .into_iter()
        .zip(sources)
        .filter(|(_, source)| **source != MatchSource::OrdinaryWord)
        .map(|(e, _)| e)
        .collect();
    retain_named_places(&entities, &mut places);
    (entities, places)
}

/// Capitalised words that start sentences and phrases without being names.
const FUNCTION_WORDS: &[&str] = &[
    "A", "An", "The", "In", "At", "On", "From", "To", "Near", "Of", "And", "But", "Or", "For",
    "By", "With", "Into", "Outside", "Inside", "Across", "Around", "After", "Before", "Since",
];

/// Verbs that follow a person, not a place.
const AFTER_A_PERSON: &[&str] = &[
    "said",
    "says",
    "told",
    "added",
    "asked",
    "wrote",
    "explained",
    "noted",
    "argued",
    "scored",
    "threw",
    "tweeted",
    "replied",
    "insisted",
    "admitted",
    "recalled",
];

/// How a capitalised single word reads beside its neighbours.
#[derive(Debug, Default, Clone, Copy)]
struct NameReading {
    /// Part of a longer proper name, or a person's (a verb of speech follows).
    part_of_a_name: bool,
    /// Right after a capitalised word: a surname's place (`Myles Garrett`).
    after_a_name: bool,
}

/// Whether a capitalised single word between `before` and `after` reads as part of a longer
/// proper name: a capitalised word right before it (not one that starts any phrase), a
/// capitalised word right after it, or a verb of speech after it.
fn reads_as_part_of_a_name(before: &str, after: &str) -> NameReading {
    let previous = before
        .strip_suffix(' ')
        .and_then(|b| b.rsplit(|c: char| !c.is_alphanumeric() && c != '\'').next());
    let previous_is_name = previous.is_some_and(|w| {
        w.chars().next().is_some_and(char::is_uppercase) && !FUNCTION_WORDS.contains(&w)
    });
    let next = after
        .strip_prefix(' ')
        .and_then(|a| a.split(|c: char| !c.is_alphanumeric()).next());
    let next_is_name = next.is_some_and(|w| w.chars().next().is_some_and(char::is_uppercase));
    let next_is_speech = next.is_some_and(|w| AFTER_A_PERSON.contains(&w));
    // `West Michigan`: a place's name with its qualifier, not a longer name.
    let previous_qualifies_a_place =
        previous.is_some_and(|w| crate::latin_names::PLACE_PREFIXES.contains(&w));
    let after_a_name = previous_is_name && !previous_qualifies_a_place;
    NameReading {
        part_of_a_name: after_a_name || next_is_name || next_is_speech,
        after_a_name,
    }
}

#[async_trait]
impl TransformConfig for EntitiesConfig {
    fn input_files(&self) -> Vec<InputFile> {
        let named = |field: &str, paths: &[PathBuf]| -> Vec<InputFile> {
            paths
                .iter()
                .enumerate()
                .map(|(i, path)| InputFile {
                    field: format!("{field}[{i}]"),
                    path: path.clone(),
                })
                .collect()
        };
        let mut files = named("lists", &self.lists);
        files.extend(named("places", &self.places));
        files
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        // The same lists in several pipelines (or a stage rebuilt) share one matcher: its
        // construction is most of the time a pipeline takes to start. The key is what the
        // matcher is made from: the curated flag and each list's kind and bytes.
        let mut key = std::collections::hash_map::DefaultHasher::new();
        self.curated.hash(&mut key);
        let mut texts = Vec::new();
        for (field, paths, bulk) in [
            ("lists", &self.lists, false),
            ("places", &self.places, true),
        ] {
            for list in paths {
                let path = ctx.resolve_input(list);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    StageError::config(format!("field `{field}`: {}", path.display())).with_cause(e)
                })?;
                (bulk, &text).hash(&mut key);
                texts.push((field, path, bulk, text));
            }
        }
        // The tagger's model and the word frequencies are read on another thread while the
        // lists are parsed: together they are a tenth of what a start costs.
        let (matcher, tagger) = std::thread::scope(|scope| {
            let tagger = self.tagger.then(|| {
                scope.spawn(|| {
                    WordFrequencies::arabic();
                    let english = crate::latin_tagger::english_model()?;
                    crate::names::arabic_tagger().map(|arabic| (arabic, english))
                })
            });
            let matcher = shared_matcher(key.finish(), || self.matcher_from(texts));
            let tagger = tagger.map(|reading| {
                reading
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (matcher, tagger)
        });
        let taggers = tagger
            .transpose()
            .map_err(|e| StageError::config(format!("field `tagger`: {e}")))?;
        Ok(Box::new(Entities {
            matcher: matcher?,
            tagger: taggers.map(|(arabic, _)| arabic),
            english_tagger: taggers.map(|(_, english)| english),
        }))
    }
}

/// Matchers built in this process, by what they were built from; held weakly, so a matcher
/// no stage uses any more is freed.
static MATCHERS: std::sync::LazyLock<std::sync::Mutex<HashMap<u64, std::sync::Weak<Matcher>>>> =
    std::sync::LazyLock::new(Default::default);

/// The matcher for `key`: the one a live stage already uses, else a new one from `build`.
fn shared_matcher(
    key: u64,
    build: impl FnOnce() -> Result<Matcher, StageError>,
) -> Result<std::sync::Arc<Matcher>, StageError> {
    // Held while building: a second pipeline with the same lists waits for the first's
    // matcher instead of building its own.
    let mut built = MATCHERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(matcher) = built.get(&key).and_then(std::sync::Weak::upgrade) {
        return Ok(matcher);
    }
    let matcher = std::sync::Arc::new(build()?);
    built.retain(|_, weak| weak.strong_count() > 0);
    built.insert(key, std::sync::Arc::downgrade(&matcher));
    Ok(matcher)
}

impl EntitiesConfig {
    /// A matcher from the curated list (when on) and the lists already read.
    fn matcher_from(
        &self,
        texts: Vec<(&str, PathBuf, bool, String)>,
    ) -> Result<Matcher, StageError> {
        let mut entries = if self.curated {
            parse_tsv(CURATED, "curated.tsv")
                .map_err(|e| StageError::config("curated list").with_cause(e))?
        } else {
            Vec::new()
        };
        for (field, path, bulk, text) in texts {
            let parse = if bulk { parse_places_tsv } else { parse_tsv };
            let read = parse(&text, &path.display().to_string())
                .map_err(|e| StageError::config(format!("field `{field}`")).with_cause(e))?;
            entries.extend(read);
        }
        if entries.is_empty() {
            return Err(StageError::config(
                "no gazetteer: set `curated = true` or name `lists` or `places`",
            ));
        }
        Matcher::new(entries).map_err(|e| StageError::config("gazetteer").with_cause(e))
    }
}

struct Entities {
    matcher: std::sync::Arc<Matcher>,
    tagger: Option<&'static crate::ner::Tagger>,
    english_tagger: Option<&'static crate::ner::Model>,
}

#[async_trait]
impl Transform for Entities {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        let Some(text) = article.text.as_deref() else {
            return Ok(Verdict::Keep);
        };
        let (mut entities, mut places, sources) = self.matcher.find_with_sources(text);
        let arabic = match article.language.as_deref() {
            Some(language) => language == "ar",
            None => crate::names::mostly_arabic(text),
        };
        if let (Some(tagger), true) = (self.tagger, arabic) {
            let tagged = crate::names::tag_names(tagger, text, &entities, &sources);
            entities = crate::names::merge(text, entities, &sources, &tagged);
            // A place the tagger read as a person leaves the map.
            retain_named_places(&entities, &mut places);
        } else {
            (entities, places) = without_ordinary_words(entities, places, &sources);
            let ruled = crate::latin_names::find(text, entities.clone(), |e| {
                self.matcher.names_a_country(e)
            });
            entities = match (self.english_tagger, article.language.as_deref()) {
                (Some(model), Some("en")) => {
                    crate::latin_tagger::retag(model, text, &entities, ruled)
                }
                _ => ruled,
            };
            // A place the rules read as a person or a team leaves the map.
            retain_named_places(&entities, &mut places);
        }
        article.entities = entities;
        article.places = places;
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_built_from_the_same_lists_share_one_matcher() -> Result<(), StageError> {
        let builds = std::sync::atomic::AtomicUsize::new(0);
        let build = || {
            builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Matcher::new(parse_tsv(CURATED, "curated.tsv").unwrap_or_default())
                .map_err(|e| StageError::config("gazetteer").with_cause(e))
        };
        let first = shared_matcher(0x5eed, build)?;
        let second = shared_matcher(0x5eed, build)?;
        assert!(std::sync::Arc::ptr_eq(&first, &second));
        let other = shared_matcher(0x07e4, build)?;
        assert!(!std::sync::Arc::ptr_eq(&first, &other));
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Once no stage holds it, it is freed and built again when asked for.
        drop((first, second));
        let again = shared_matcher(0x5eed, build)?;
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 3);
        drop(again);
        Ok(())
    }
}
