//! Names in Latin-script text (English first) that the gazetteers do not settle: people by
//! their given names, titles and reporting verbs; organizations by their last words
//! (`… Group`, `… University`), their first (`University of …`), their acronyms and a list of
//! well-known ones; sports teams; the short forms of countries. A surname once read as a
//! person's is a person's throughout the article, over any place of that name (Garrett,
//! Richardson). The rules and word lists are Khabar's own (`gazetteer/latin-names.txt`).
//!
//! How it is driven: the `entities` stage calls [`find`] on an article that is not Arabic,
//! with what the gazetteers matched; it returns the merged names.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use khabar_core_model::{Entity, EntityKind};

const LISTS: &str = include_str!("../gazetteer/latin-names.txt");

#[derive(Default)]
struct Lists {
    given: HashSet<&'static str>,
    titles: HashSet<&'static str>,
    org_end: HashSet<&'static str>,
    org_head: HashSet<&'static str>,
    orgs: HashSet<&'static str>,
    teams: HashSet<&'static str>,
    places: HashSet<&'static str>,
    person_verbs: HashSet<&'static str>,
}

fn lists() -> &'static Lists {
    static LISTS_READ: OnceLock<Lists> = OnceLock::new();
    LISTS_READ.get_or_init(|| {
        let mut lists = Lists::default();
        for line in LISTS.lines().filter(|l| !l.starts_with('#')) {
            let Some((section, entry)) = line.split_once('\t') else {
                continue;
            };
            let set = match section {
                "given" => &mut lists.given,
                "title" => &mut lists.titles,
                "org-end" => &mut lists.org_end,
                "org-head" => &mut lists.org_head,
                "org" => &mut lists.orgs,
                "team" => &mut lists.teams,
                "place" => &mut lists.places,
                "person-verb" => &mut lists.person_verbs,
                _ => continue,
            };
            set.insert(entry.trim());
        }
        lists
    })
}

/// A word of the text: byte offsets, and whether a sentence starts with it.
#[derive(Debug, Clone)]
struct Word<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    sentence_start: bool,
    /// Only spaces between the previous word and this one.
    joined: bool,
}

impl Word<'_> {
    fn capitalised(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }

    fn all_caps(&self) -> bool {
        let letters: Vec<char> = self.text.chars().filter(|c| c.is_alphabetic()).collect();
        letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
    }
}

/// Abbreviations whose final full stop belongs to the word.
const ABBREVIATIONS: &[&str] = &[
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sen", "Rep", "Gov", "Gen", "Lt", "Col", "Capt", "Sgt", "Rev",
    "St", "Jr", "Sr", "Inc", "Corp", "Co", "Ltd", "Mt", "Ft",
];

fn words(text: &str) -> Vec<Word<'_>> {
    let mut out: Vec<Word> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut sentence_start = true;
    let mut last_end = 0;
    while let Some((at, c)) = chars.next() {
        if !c.is_alphanumeric() {
            if matches!(c, '.' | '!' | '?' | '\n' | ':') {
                sentence_start = true;
            }
            continue;
        }
        let mut end = at + c.len_utf8();
        while let Some(&(i, next)) = chars.peek() {
            if next.is_alphanumeric() {
                end = i + next.len_utf8();
                chars.next();
                continue;
            }
            // Inner marks of a name: U.S., O'Neil, Jo-Wilfried, B&H.
            if matches!(next, '.' | '\'' | '’' | '-' | '&') {
                let after = text[i + next.len_utf8()..].chars().next();
                if after.is_some_and(char::is_alphanumeric) {
                    end = i + next.len_utf8();
                    chars.next();
                    continue;
                }
            }
            break;
        }
        let mut word = &text[at..end];
        // A possessive is not part of the name.
        for suffix in ["’s", "'s"] {
            if let Some(stem) = word.strip_suffix(suffix) {
                if !stem.is_empty() {
                    word = stem;
                    end = at + stem.len();
                }
            }
        }
        // U.S. and Jr. keep their full stop (and do not end the sentence).
        let mut keeps_stop = false;
        if text[end..].starts_with('.') {
            let dotted = word.len() >= 3 && word.contains('.');
            if dotted || ABBREVIATIONS.contains(&word) {
                end += 1;
                word = &text[at..end];
                keeps_stop = true;
            }
        }
        let joined = text[last_end..at].chars().all(|c| c == ' ') && !out.is_empty();
        out.push(Word {
            text: word,
            start: at,
            end,
            sentence_start,
            joined,
        });
        last_end = end;
        sentence_start = false;
        if keeps_stop {
            // Skip the full stop we took, so that it does not start a sentence.
            while chars.peek().is_some_and(|&(i, _)| i < end) {
                chars.next();
            }
        }
    }
    out
}

/// Lower-case words that may stand inside a name (`University of Washington`, `van Gogh`).
const CONNECTORS: &[&str] = &[
    "of", "for", "de", "del", "da", "di", "van", "von", "der", "den", "bin", "al", "el", "la",
    "le", "du", "and",
];

/// Runs of capitalised words (with connectors between them), as word index ranges.
fn runs(words: &[Word]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !words[i].capitalised() {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        loop {
            if end < words.len() && words[end].joined && words[end].capitalised() {
                end += 1;
                continue;
            }
            // A connector counts only between two capitalised words.
            if end + 1 < words.len()
                && words[end].joined
                && words[end + 1].joined
                && CONNECTORS.contains(&words[end].text)
                && words[end + 1].capitalised()
            {
                end += 2;
                continue;
            }
            break;
        }
        out.push((start, end));
        i = end;
    }
    out
}

fn is_title(lists: &Lists, word: &str) -> bool {
    lists.titles.contains(word) || lists.titles.contains(word.trim_end_matches('.'))
}

/// What a run of words reads as, with the sub-range that names it.
fn classify(
    lists: &Lists,
    words: &[Word],
    (start, end): (usize, usize),
) -> Option<(usize, usize, EntityKind, f32)> {
    let text_of =
        |a: usize, b: usize| -> Vec<&str> { words[a..b].iter().map(|w| w.text).collect() };
    let mut start = start;
    // Titles before a name: `President Trump`, `Sen. Warren`, `Prince Andrew`.
    let mut titled = start > 0 && is_title(lists, words[start - 1].text);
    while start < end && is_title(lists, words[start].text) && end - start > 1 {
        start += 1;
        titled = true;
    }
    let tokens = text_of(start, end);
    let joined = tokens.join(" ");
    let first = tokens.first().copied().unwrap_or("");
    let last = tokens.last().copied().unwrap_or("");
    let single = tokens.len() == 1;
    let sentence_initial = words[start].sentence_start;

    if lists.orgs.contains(joined.as_str()) {
        return Some((start, end, EntityKind::Organization, 0.85));
    }
    if lists.places.contains(joined.as_str()) {
        return Some((start, end, EntityKind::Place, 0.85));
    }
    if lists.teams.contains(joined.as_str())
        || (tokens.len() >= 2 && lists.teams.contains(tokens[1..].join(" ").as_str()))
    {
        return Some((start, end, EntityKind::Organization, 0.8));
    }
    // `The` opens an organization's name (`The Carlyle Group`); it is not part of a person's.
    let (core_start, core) = if first == "The" && !single {
        (start + 1, tokens[1..].to_vec())
    } else {
        (start, tokens.clone())
    };
    let core_last = core.last().copied().unwrap_or("");
    if core.len() >= 2 && lists.org_end.contains(core_last.trim_end_matches('.')) {
        return Some((start, end, EntityKind::Organization, 0.75));
    }
    if core.len() >= 3 && lists.org_head.contains(core[0]) && core.contains(&"of") {
        return Some((start, end, EntityKind::Organization, 0.75));
    }
    if titled {
        return Some((core_start, end, EntityKind::Person, 0.75));
    }
    if core.len() >= 2 && lists.given.contains(core[0]) && !core.contains(&"of") {
        return Some((core_start, end, EntityKind::Person, 0.7));
    }
    // An acronym that no list places: an organization (FBI, NYAG, PFF).
    if single && words[start].all_caps() && last.len() <= 6 && !last.contains('.') {
        return Some((start, end, EntityKind::Organization, 0.5));
    }
    // Two or three capitalised words, none a connector, mid-sentence: most often a person.
    if (2..=3).contains(&core.len())
        && !sentence_initial
        && core.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().skip(1).any(char::is_lowercase)
                && !CONNECTORS.contains(w)
        })
    {
        return Some((core_start, end, EntityKind::Person, 0.5));
    }
    // One name before or after a reporting verb: `Heyward said`, `said Oza`.
    if single && !words[start].all_caps() {
        let next = words.get(end).map(|w| w.text);
        let before = start.checked_sub(1).map(|i| words[i].text);
        if next.is_some_and(|n| lists.person_verbs.contains(n))
            || (before.is_some_and(|b| lists.person_verbs.contains(b)) && !sentence_initial)
        {
            return Some((start, end, EntityKind::Person, 0.55));
        }
    }
    None
}

/// The names of `text` (not Arabic): what the gazetteers matched (`found`), with the rules'
/// people, organizations and places added and the conflicts settled.
pub fn find(text: &str, found: Vec<Entity>) -> Vec<Entity> {
    let lists = lists();
    let words = words(text);
    let mut ruled: Vec<Entity> = Vec::new();
    for run in runs(&words) {
        let Some((a, b, kind, confidence)) = classify(lists, &words, run) else {
            continue;
        };
        let (start, end) = (words[a].start, words[b - 1].end);
        let surface = text[start..end].to_string();
        ruled.push(Entity {
            canonical: surface.clone(),
            surface,
            kind,
            start,
            end,
            confidence,
            ids: Default::default(),
        });
    }
    // A person's surname (and a one-word person's name) is that person's throughout.
    let mut people: HashMap<String, String> = HashMap::new();
    for e in ruled.iter().filter(|e| e.kind == EntityKind::Person) {
        if let Some(surname) = e.surface.split(' ').next_back() {
            if e.surface.contains(' ') {
                people.insert(surname.to_string(), e.surface.clone());
            }
        }
    }
    for w in &words {
        let Some(full) = people.get(w.text) else {
            continue;
        };
        if !w.capitalised() {
            continue;
        }
        let covered = ruled.iter().any(|e| e.start <= w.start && w.end <= e.end);
        if !covered {
            ruled.push(Entity {
                surface: w.text.to_string(),
                canonical: full.clone(),
                kind: EntityKind::Person,
                start: w.start,
                end: w.end,
                confidence: 0.7,
                ids: Default::default(),
            });
        }
    }
    merge(found, ruled, &people)
}

/// The gazetteers' names and the rules', without overlaps: a gazetteer's name stands unless
/// a rule's longer name covers it (`Pittsburgh Post-Gazette` over `Pittsburgh`) or the rule
/// reads the same words as a known person (`Garrett`, a surname here, not the town).
fn merge(found: Vec<Entity>, ruled: Vec<Entity>, people: &HashMap<String, String>) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for g in found {
        let beaten = ruled.iter().any(|r| {
            r.start <= g.start
                && g.end <= r.end
                && ((r.end - r.start) > (g.end - g.start)
                    || (r.kind == EntityKind::Person && people.contains_key(g.surface.as_str())))
        });
        if !beaten {
            out.push(g);
        }
    }
    for r in ruled {
        if !out.iter().any(|e| e.start < r.end && r.start < e.end) {
            out.push(r);
        }
    }
    out.sort_by_key(|e| (e.start, e.end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, EntityKind)> {
        find(text, Vec::new())
            .into_iter()
            .map(|e| (e.surface, e.kind))
            .collect()
    }

    #[test]
    fn people_organizations_and_places_by_their_shape_and_context() {
        let text = "Cleveland coach Freddie Kitchens said the Browns would appeal. Kitchens told \
                    reporters that the NFL and the Department of Justice were wrong, and that \
                    Global Widgets Inc. had sold the U.S. rights to Zenith Holdings.";
        let got = names(text);
        let has = |s: &str, k: EntityKind| got.iter().any(|(t, kind)| t == s && *kind == k);
        assert!(has("Freddie Kitchens", EntityKind::Person), "{got:?}");
        assert!(has("Kitchens", EntityKind::Person), "{got:?}");
        assert!(has("Browns", EntityKind::Organization), "{got:?}");
        assert!(has("NFL", EntityKind::Organization), "{got:?}");
        assert!(
            has("Department of Justice", EntityKind::Organization),
            "{got:?}"
        );
        assert!(
            has("Global Widgets Inc.", EntityKind::Organization),
            "{got:?}"
        );
        assert!(has("U.S.", EntityKind::Place), "{got:?}");
        assert!(has("Zenith Holdings", EntityKind::Organization), "{got:?}");
    }

    #[test]
    fn a_surname_beats_the_town_of_that_name_and_possessives_are_left_out() {
        let text = "James Garrett hit Mason Rudolph. Garrett’s ban was upheld.";
        let town = Entity {
            surface: "Garrett".into(),
            canonical: "Garrett".into(),
            kind: EntityKind::Place,
            start: text.rfind("Garrett").unwrap_or(0),
            end: text.rfind("Garrett").unwrap_or(0) + "Garrett".len(),
            confidence: 0.6,
            ids: Default::default(),
        };
        let got: Vec<(String, EntityKind)> = find(text, vec![town])
            .into_iter()
            .map(|e| (e.surface, e.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("James Garrett".to_string(), EntityKind::Person),
                ("Mason Rudolph".to_string(), EntityKind::Person),
                ("Garrett".to_string(), EntityKind::Person),
            ]
        );
    }
}
