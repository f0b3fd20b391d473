//! Names in Latin-script text (English first) that the gazetteers do not settle: people by
//! their given names, titles and reporting verbs; organizations by their last words
//! (`… Group`, `… University`), their first (`University of …`), their acronyms and a list of
//! well-known ones; sports teams; places by their last words (`… County`) and the short forms
//! of countries. A surname once read as a person's is a person's throughout the article, over
//! any place of that name (Garrett, Richardson). The rules and word lists are Khabar's own
//! (`gazetteer/latin-names.txt`); which words are ordinary English words comes from wordfreq
//! (`gazetteer/wordfreq-en.tsv`).
//!
//! How it is driven: the `entities` stage calls [`find`] on an article that is not Arabic,
//! with what the gazetteers matched; it returns the merged names.

// foldhash: every word of an English article is looked up in a dozen of these lists, whose
// keys are fixed; the standard hasher, built against crafted collisions, was a tenth of the
// stage.
use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::OnceLock;

use khabar_core_model::{Entity, EntityKind};

use crate::common_words::WordFrequencies;

const LISTS: &str = include_str!("../gazetteer/latin-names.txt");
const CENSUS_NAMES: &str = include_str!("../gazetteer/census-names-en.tsv");
const COMPROMISE_NAMES: &str = include_str!("../gazetteer/compromise-en.tsv");
const COMPANIES: &str = include_str!("../gazetteer/companies-en.tsv");

/// A census surname ranked this high (or higher) reads as a person's name beside a person's
/// cue even when it is also an ordinary word (`Price said`, `Johnson and Corbyn`).
const COMMON_SURNAME_RANK: u32 = 2000;

#[derive(Default)]
pub(crate) struct Lists {
    pub(crate) given: HashSet<&'static str>,
    pub(crate) titles: HashSet<&'static str>,
    pub(crate) org_end: HashSet<&'static str>,
    pub(crate) org_head: HashSet<&'static str>,
    pub(crate) orgs: HashSet<&'static str>,
    pub(crate) teams: HashSet<&'static str>,
    pub(crate) places: HashSet<&'static str>,
    pub(crate) place_end: HashSet<&'static str>,
    pub(crate) person_verbs: HashSet<&'static str>,
    pub(crate) people: HashSet<&'static str>,
    pub(crate) demonyms: HashSet<&'static str>,
    /// Given names of the census and of compromise's lexicon that are not ordinary English
    /// words (`Kristi`, `Aarav`; not `Will`).
    pub(crate) census_given: HashSet<String>,
    /// Surnames by rank: the census's, and compromise's as common ones.
    pub(crate) surnames: HashMap<String, u32>,
    /// Compromise's organizations, teams, regions, people and demonyms, lower-cased: matched
    /// in any case.
    pub(crate) known_orgs: HashSet<&'static str>,
    pub(crate) known_teams: HashSet<&'static str>,
    pub(crate) known_regions: HashSet<&'static str>,
    pub(crate) known_people: HashSet<&'static str>,
    pub(crate) known_demonyms: HashSet<&'static str>,
    /// Listed companies (pytickersymbols' index members), lower-cased, in full and in short;
    /// a one-word name only where it is no ordinary word and no person's name.
    pub(crate) companies: HashSet<&'static str>,
}

/// The rank given to the surnames of compromise's lexicon: common enough for a person's cue.
const LEXICON_SURNAME_RANK: u32 = 1000;

pub(crate) fn lists() -> &'static Lists {
    static READ: OnceLock<Lists> = OnceLock::new();
    READ.get_or_init(|| {
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
                "place-end" => &mut lists.place_end,
                "person-verb" => &mut lists.person_verbs,
                "person" => &mut lists.people,
                "demonym" => &mut lists.demonyms,
                _ => continue,
            };
            set.insert(entry.trim());
        }
        let words = WordFrequencies::english();
        for line in CENSUS_NAMES.lines().filter(|l| !l.starts_with('#')) {
            let mut columns = line.split('\t');
            let (Some(kind), Some(name), Some(_share), Some(rank)) = (
                columns.next(),
                columns.next(),
                columns.next(),
                columns.next(),
            ) else {
                continue;
            };
            match kind {
                "given" if !words.is_common(&khabar_text::normalize_for_search(name)) => {
                    lists.census_given.insert(name.to_string());
                }
                "surname" => {
                    if let Ok(rank) = rank.parse() {
                        lists.surnames.insert(name.to_string(), rank);
                    }
                }
                _ => {}
            }
        }
        for line in COMPROMISE_NAMES.lines().filter(|l| !l.starts_with('#')) {
            let Some((section, name)) = line.split_once('\t') else {
                continue;
            };
            match section {
                "org" => lists.known_orgs.insert(name),
                "team" => lists.known_teams.insert(name),
                "region" => lists.known_regions.insert(name),
                "person" => lists.known_people.insert(name),
                "demonym" => lists.known_demonyms.insert(name),
                "given" if !name.contains(' ') && !words.is_common(name) => {
                    lists.census_given.insert(title_case(name))
                }
                "surname" if !name.contains(' ') => {
                    lists
                        .surnames
                        .entry(title_case(name))
                        .or_insert(LEXICON_SURNAME_RANK);
                    true
                }
                _ => false,
            };
        }
        for line in COMPANIES.lines().filter(|l| !l.starts_with('#')) {
            let Some((_form, name)) = line.split_once('\t') else {
                continue;
            };
            let one_word = !name.contains(' ');
            let title = title_case(name);
            let ambiguous = words.is_common(&khabar_text::normalize_for_search(name))
                || census_name(&lists, &title)
                || lists.given.contains(title.as_str())
                || lists.places.contains(title.as_str())
                || lists.known_regions.contains(name)
                || lists.known_people.contains(name)
                || demonym(&lists, &title);
            if !(one_word && ambiguous) {
                lists.companies.insert(name);
            }
        }
        lists
    })
}

/// A word of the text: byte offsets, and whether a sentence starts with it.
#[derive(Debug, Clone)]
pub(crate) struct Word<'a> {
    pub(crate) text: &'a str,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) sentence_start: bool,
    /// Only spaces between the previous word and this one.
    pub(crate) joined: bool,
}

impl Word<'_> {
    pub(crate) fn capitalised(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }

    pub(crate) fn all_caps(&self) -> bool {
        let letters: Vec<char> = self.text.chars().filter(|c| c.is_alphabetic()).collect();
        letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
    }
}

/// Abbreviations whose final full stop belongs to the word.
const ABBREVIATIONS: &[&str] = &[
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sen", "Rep", "Gov", "Gen", "Lt", "Col", "Capt", "Sgt", "Rev",
    "St", "Jr", "Sr", "Inc", "Corp", "Co", "Ltd", "Mt", "Ft", "Ave", "Ala", "Ariz", "Ark", "Calif",
    "Colo", "Conn", "Del", "Fla", "Ga", "Ill", "Ind", "Kan", "Ky", "La", "Md", "Mass", "Mich",
    "Minn", "Miss", "Mo", "Mont", "Neb", "Nev", "Okla", "Ore", "Pa", "Tenn", "Vt", "Va", "Wash",
    "Wis", "Wyo",
];

/// Common nouns for kinds of organization, written before an organization's name
/// (`the startup Chime`).
const ORGANIZATION_KINDS: &[&str] = &[
    "company",
    "companies",
    "firm",
    "firms",
    "startup",
    "start-up",
    "bank",
    "banks",
    "lender",
    "insurer",
    "retailer",
    "carrier",
    "airline",
    "broadcaster",
    "newspaper",
    "magazine",
    "publisher",
    "outlet",
    "agency",
    "agencies",
    "website",
    "site",
    "app",
    "platform",
    "manufacturer",
    "maker",
    "automaker",
    "carmaker",
    "chipmaker",
    "giant",
    "rival",
    "label",
    "studio",
    "band",
    "charity",
    "group",
    "groups",
    "party",
    "conglomerate",
    "operator",
    "provider",
    "developer",
    "brokerage",
    "fund",
    "investor",
    "subsidiary",
    "unit",
    "network",
    "channel",
    "tabloid",
    "daily",
    "weekly",
];

/// Lower-case words that may stand inside a name (`University of Washington`, `van Gogh`).
/// (`and` is not one: `Apple and Google` are two names far more often than one.)
pub(crate) const CONNECTORS: &[&str] = &[
    "of", "for", "de", "del", "da", "di", "van", "von", "der", "den", "bin", "al", "el", "la",
    "le", "du",
];

/// Capitalised words that are never a name on their own: pronouns, determiners, days and
/// months (a sentence's first word, a word after a colon).
const NOT_NAMES: &[&str] = &[
    "I",
    "He",
    "She",
    "It",
    "We",
    "They",
    "You",
    "His",
    "Her",
    "Its",
    "Our",
    "Their",
    "Your",
    "My",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "Here",
    "The",
    "A",
    "An",
    "Of",
    "In",
    "On",
    "At",
    "To",
    "For",
    "With",
    "And",
    "But",
    "Or",
    "If",
    "When",
    "While",
    "After",
    "Before",
    "As",
    "So",
    "Yet",
    "Some",
    "Many",
    "Most",
    "All",
    "Both",
    "Each",
    "Every",
    "No",
    "Not",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Jan.",
    "Feb.",
    "Aug.",
    "Sept.",
    "Oct.",
    "Nov.",
    "Dec.",
];

/// Upper-case abbreviations that are not organizations.
const NOT_ORGANIZATIONS: &[&str] = &[
    "TV", "SUV", "GW", "MW", "KW", "KWH", "PV", "USB", "LED", "LCD", "OLED", "CEO", "CFO", "COO",
    "CTO", "VP", "GDP", "PC", "AI", "VR", "AR", "IT", "HR", "PR", "ID", "DNA", "RNA", "HIV",
    "AIDS", "OK", "TD", "QB", "DL", "WR", "RB", "LB", "OL", "DB", "MVP", "DIY", "FAQ", "PDF",
    "URL", "HTML", "API", "SMS", "GPS", "IPO", "ETF", "EV", "WTF", "LOL", "OMG", "FYI", "ASAP",
    "AM", "PM", "BC", "AD", "USD", "GBP", "EUR", "CO2", "DC", "AC", "RSS", "BIG", "NEW", "THE",
    "AND", "FOR", "VIP", "PS", "RIP", "UHD", "HD", "SSD", "CPU", "GPU", "RAM", "ROM", "OS", "APP",
    "LTE",
];

/// Words before a place's name that belong to it: `Inner Mongolia`, `West Michigan`.
pub(crate) const PLACE_PREFIXES: &[&str] = &[
    "North", "South", "East", "West", "Northern", "Southern", "Eastern", "Western", "Central",
    "Inner", "Outer", "Upper", "Lower", "Greater", "New", "Old",
];

pub(crate) fn words(text: &str) -> Vec<Word<'_>> {
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
        // U.S., Jr. and the initial of `Patrick W.` keep their full stop (and end no sentence).
        let mut keeps_stop = false;
        if text[end..].starts_with('.') {
            let dotted = word.len() >= 3 && word.contains('.');
            let initial = word.len() == 1 && word.chars().all(|c| c.is_ascii_uppercase());
            if dotted || initial || ABBREVIATIONS.contains(&word) {
                end += 1;
                word = &text[at..end];
                keeps_stop = true;
            }
        }
        // A handle or a hashtag (`@RobertMaguire`, `#Brexit`) is no word of the prose.
        if text[..at].ends_with(['@', '#']) {
            last_end = end;
            sentence_start = false;
            if keeps_stop {
                while chars.peek().is_some_and(|&(i, _)| i < end) {
                    chars.next();
                }
            }
            continue;
        }
        let joined = !out.is_empty() && text[last_end..at].chars().all(|c| c == ' ');
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
            while chars.peek().is_some_and(|&(i, _)| i < end) {
                chars.next();
            }
        }
    }
    out
}

/// A title or a role before a name, in any case (`President`, `coach`, `Administrator`).
fn is_title(lists: &Lists, word: &str) -> bool {
    let bare = word.trim_end_matches('.');
    lists.titles.contains(word)
        || lists.titles.contains(bare)
        || lists.titles.contains(bare.to_lowercase().as_str())
}

/// Whether the word at `i` is a title. A role listed in lower case (`center`, `director`)
/// is no title when `of` or `for` follows it: `Center for Environmental Politics` is an
/// organization's name.
pub(crate) fn is_title_at(lists: &Lists, words: &[Word], i: usize) -> bool {
    let word = words[i].text;
    let bare = word.trim_end_matches('.');
    if lists.titles.contains(word) || lists.titles.contains(bare) {
        return true;
    }
    // In an upper-case headline every word looks like a title (`PREMIER LEAGUE CLASH`).
    lists.titles.contains(bare.to_lowercase().as_str())
        && !words[i].all_caps()
        && !words
            .get(i + 1)
            .is_some_and(|next| CONNECTORS.contains(&next.text))
}

/// Titles that are part of the name they stand before (`Prince Andrew`, `Pope Francis`).
const ROYAL_TITLES: &[&str] = &[
    "Prince", "Princess", "King", "Queen", "Pope", "Emir", "Sheikh", "Sultan", "Crown",
];

/// Words after a surname that belong to the name: `Carlineo Jr.`, `Henry III`.
const NAME_SUFFIXES: &[&str] = &["Jr.", "Sr.", "Jr", "Sr", "II", "III", "IV"];

/// An ordinary English word (among the most frequent) that is not a given name: `Card`,
/// `Design`, `Blue` make a product's or a venue's name, not a person's.
fn ordinary(lists: &Lists, word: &str) -> bool {
    !lists.given.contains(word)
        && WordFrequencies::english().is_common(&khabar_text::normalize_for_search(word))
}

/// A nationality, a people or a faith (`Iraqi`, `Kurds`): never a name on its own.
pub(crate) fn demonym(lists: &Lists, word: &str) -> bool {
    lists.demonyms.contains(word)
        || lists.known_demonyms.contains(word.to_lowercase().as_str())
        || word
            .strip_suffix('s')
            .is_some_and(|singular| lists.demonyms.contains(singular))
}

/// A word the census lists as a given name or a surname.
fn census_name(lists: &Lists, word: &str) -> bool {
    lists.census_given.contains(word) || lists.surnames.contains_key(word)
}

/// A surname common enough that a person's cue settles it, ordinary word or not.
fn common_surname(lists: &Lists, word: &str) -> bool {
    lists
        .surnames
        .get(word)
        .is_some_and(|rank| *rank <= COMMON_SURNAME_RANK)
}

/// Runs of capitalised words (with connectors between them), as word index ranges; a title
/// inside a run starts a new one (`Browns DL Sheldon Richardson`).
fn runs(lists: &Lists, words: &[Word]) -> Vec<(usize, usize)> {
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
            // `Department of Health and Human Services`: `and` inside an organization's
            // name after its head word and `of`.
            if end + 1 < words.len()
                && words[end].text == "and"
                && words[end].joined
                && words[end + 1].joined
                && words[end + 1].capitalised()
                && (i..end).any(|j| {
                    lists.org_head.contains(words[j].text)
                        && words.get(j + 1).is_some_and(|w| w.text == "of")
                })
            {
                end += 2;
                continue;
            }
            break;
        }
        // An upper-case headline (`PAKISTAN WIN SERIES AGAINST ENGLAND`): only the names
        // the lists know, each on its own.
        if end - start >= 3 && words[start..end].iter().all(Word::all_caps) {
            out.extend(
                listed_in_capitals(lists, &words[start..end]).map(|(a, b)| (start + a, start + b)),
            );
            i = end;
            continue;
        }
        let mut from = start;
        let known = |w: &str| lists.places.contains(w) || lists.orgs.contains(w);
        // `SoftBank Group Corp` stays whole: its last word names an organization.
        let organization_end = lists
            .org_end
            .contains(words[end - 1].text.trim_end_matches('.'));
        if end - start > 1
            && known(words[start].text)
            && !lists.given.contains(words[start].text)
            && !organization_end
        {
            let whole: Vec<&str> = words[start..end].iter().map(|w| w.text).collect();
            let whole = whole.join(" ");
            if !known(&whole) && !lists.teams.contains(whole.as_str()) {
                out.push((start, start + 1));
                from = start + 1;
            }
        }
        for t in (start + 1)..end.saturating_sub(1) {
            if is_title_at(lists, words, t) {
                out.push((from, t));
                from = t;
            }
        }
        out.push((from, end));
        i = end;
    }
    out
}

/// The longest spans (up to four words) of upper-case `words` that the lists name, as ranges.
fn listed_in_capitals<'a>(
    lists: &'a Lists,
    words: &'a [Word],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let listed = |name: &str| {
        let lower = name.to_lowercase();
        let name = title_case(name);
        lists.places.contains(name.as_str())
            || lists.orgs.contains(name.as_str())
            || lists.teams.contains(name.as_str())
            || lists.people.contains(name.as_str())
            || [
                &lists.known_orgs,
                &lists.known_teams,
                &lists.known_regions,
                &lists.known_people,
            ]
            .iter()
            .any(|known| known.contains(lower.as_str()))
    };
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < words.len() {
            let longest = (1..=4.min(words.len() - at)).rev().find(|&n| {
                let name: Vec<&str> = words[at..at + n].iter().map(|w| w.text).collect();
                listed(&name.join(" "))
            });
            let from = at;
            match longest {
                Some(n) => {
                    at += n;
                    return Some((from, at));
                }
                None => at += 1,
            }
        }
        None
    })
}

/// What a run of words reads as: the sub-range that names it, its kind and how sure.
fn classify(
    text: &str,
    lists: &Lists,
    words: &[Word],
    (start, end): (usize, usize),
) -> Option<(usize, usize, EntityKind, f32)> {
    let mut start = start;
    // Titles before a name: `President Trump`, `Sen. Warren`; a royal one stays in the name.
    let mut titled = start > 0 && is_title_at(lists, words, start - 1);
    let mut royal = None;
    while start < end && is_title_at(lists, words, start) && end - start > 1 {
        if ROYAL_TITLES.contains(&words[start].text) {
            royal = Some(start);
        }
        start += 1;
        titled = true;
    }
    // A sentence's first word may be any word (`The`, `He`, `Key`): a name only by the lists.
    // (`The` inside a sentence is part of a name: `sued The Carlyle Group`.)
    // `On Sunday Liverpool`: each such word goes.
    while NOT_NAMES.contains(&words[start].text)
        && (words[start].sentence_start || words[start].text != "The")
    {
        if end - start == 1 {
            return None;
        }
        start += 1;
    }
    if words[start].sentence_start
        && end - start > 1
        && ordinary(lists, words[start].text)
        && !lists.orgs.contains(words[start].text)
        && !lists.places.contains(words[start].text)
        && !PLACE_PREFIXES.contains(&words[start].text)
    {
        start += 1;
    }
    while start < end && CONNECTORS.contains(&words[start].text) {
        start += 1;
    }
    if start >= end {
        return None;
    }
    let tokens: Vec<&str> = words[start..end].iter().map(|w| w.text).collect();
    let joined = tokens.join(" ");
    let first = tokens.first().copied().unwrap_or("");
    let last = tokens.last().copied().unwrap_or("");
    let single = tokens.len() == 1;
    if single && demonym(lists, first) {
        return None;
    }

    // Upper-case words (a headline, a results table) name what their usual case names.
    let capitals = words[start..end].iter().all(Word::all_caps);
    let usual = if capitals {
        title_case(&joined)
    } else {
        joined.clone()
    };
    let lower = joined.to_lowercase();
    let listed = |set: &HashSet<&'static str>, known: &HashSet<&'static str>| {
        set.contains(joined.as_str())
            || set.contains(usual.as_str())
            || known.contains(lower.as_str())
    };
    if listed(&lists.people, &lists.known_people) {
        return Some((start, end, EntityKind::Person, 0.85));
    }
    if listed(&lists.orgs, &lists.known_orgs) {
        return Some((start, end, EntityKind::Organization, 0.85));
    }
    if !single && lists.companies.contains(lower.as_str()) {
        return Some((start, end, EntityKind::Organization, 0.8));
    }
    // A club named after its region (`Leeds`) is the club here, as the team list says.
    if listed(&lists.places, &lists.known_regions) && !listed(&lists.teams, &lists.known_teams) {
        return Some((start, end, EntityKind::Place, 0.85));
    }
    // A team named by an ordinary word (`Heat`, `Magic`) only inside a sentence.
    let team = listed(&lists.teams, &lists.known_teams)
        && !(words[start].sentence_start && ordinary(lists, first));
    if team || (tokens.len() >= 2 && lists.teams.contains(tokens[1..].join(" ").as_str())) {
        return Some((start, end, EntityKind::Organization, 0.8));
    }
    let last_part = last.rsplit('-').next().unwrap_or(last);
    if tokens.len() >= 2
        && (lists.org_end.contains(last.trim_end_matches('.')) || lists.org_end.contains(last_part))
    {
        return Some((start, end, EntityKind::Organization, 0.75));
    }
    if tokens.len() >= 3
        && lists.org_head.contains(first)
        && (tokens.contains(&"of") || tokens.contains(&"for"))
    {
        return Some((start, end, EntityKind::Organization, 0.75));
    }
    if tokens.len() >= 2 && lists.place_end.contains(last) {
        return Some((start, end, EntityKind::Place, 0.7));
    }
    if titled && !(single && ordinary(lists, first)) {
        return Some((royal.unwrap_or(start), end, EntityKind::Person, 0.75));
    }
    if tokens.len() >= 2 && NAME_SUFFIXES.contains(&last) {
        return Some((start, end, EntityKind::Person, 0.7));
    }
    if tokens.len() >= 2 && lists.given.contains(first) && !tokens.contains(&"of") {
        return Some((start, end, EntityKind::Person, 0.7));
    }
    // A census given name is less sure (`Virginia Beach`): the rest must read as a surname,
    // and a gazetteer's reading of the same words stands.
    if tokens.len() >= 2
        && lists.census_given.contains(first)
        && tokens[1..]
            .iter()
            .all(|w| !CONNECTORS.contains(w) && (!ordinary(lists, w) || common_surname(lists, w)))
    {
        return Some((start, end, EntityKind::Person, 0.6));
    }
    // A site's name: `Polygraph.info`, `9to5Mac.com`.
    if single
        && [".com", ".org", ".net", ".info", ".io", ".co.uk"]
            .iter()
            .any(|tld| first.to_ascii_lowercase().ends_with(tld))
    {
        return Some((start, end, EntityKind::Organization, 0.7));
    }
    // A dateline: `BERLIN --`, `CLEVELAND, Ohio —`, `LONDON 1996-08-30`: the place a story
    // was filed from.
    let dateline = words[start].sentence_start
        && tokens.iter().all(|w| w.chars().all(|c| !c.is_lowercase()))
        && {
            let after = text[words[end - 1].end..].trim_start_matches(' ');
            after.starts_with(',')
                || after.starts_with("--")
                || after.starts_with('—')
                || words.get(end).is_some_and(|w| w.joined && is_date(w.text))
        };
    if dateline && words[start].all_caps() {
        return Some((start, end, EntityKind::Place, 0.6));
    }
    // An acronym that no list places: an organization (FBI, NYAG, PFF).
    if single
        && words[start].all_caps()
        && last.len() <= 5
        && !last.contains('.')
        && !NOT_ORGANIZATIONS.contains(&last)
    {
        return Some((start, end, EntityKind::Organization, 0.5));
    }
    // A name right after the kind of body it names (`the startup Chime`, `firm JP Morgan`,
    // `companies Astrobotic`, `the newspaper Haaretz`).
    let kind_before = start
        .checked_sub(1)
        .map(|i| &words[i])
        .filter(|w| words[start].joined && w.text.chars().all(char::is_lowercase))
        .is_some_and(|w| ORGANIZATION_KINDS.contains(&w.text));
    if kind_before && !titled && !listed(&lists.places, &lists.known_regions) {
        return Some((start, end, EntityKind::Organization, 0.6));
    }
    // A word with a capital inside (`WeWork`, `SoFi`, `GoBank`): a company's name, unless the
    // inner capital is a family name's (`McDonald`, `DeSantis`, `LeBron`, `O'Neil`).
    let in_a_link = text[..words[start].start].ends_with('/');
    if single
        && company_shaped(first)
        && !in_a_link
        && !lists.given.contains(first)
        && !census_name(lists, first)
    {
        return Some((start, end, EntityKind::Organization, 0.5));
    }
    // Two or three capitalised words that are not ordinary words, mid-sentence: most often a
    // person.
    if (2..=3).contains(&tokens.len())
        && !words[start].sentence_start
        && tokens.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().skip(1).any(char::is_lowercase)
                && !CONNECTORS.contains(w)
                && !ordinary(lists, w)
        })
    {
        return Some((start, end, EntityKind::Person, 0.5));
    }
    // One name before or after a reporting verb (`Heyward said`, `said Oza`), or before
    // `, who`.
    if single
        && !words[start].all_caps()
        && (!ordinary(lists, first) || common_surname(lists, first))
    {
        let next = words.get(end).map(|w| w.text);
        let before = start.checked_sub(1).map(|i| words[i].text);
        let who = text[words[end - 1].end..].starts_with(", who ");
        // A surname the census knows, right before the verb, outweighs a town of that name
        // (`Kennedy said`).
        let speaks = next.is_some_and(|n| lists.person_verbs.contains(n));
        if speaks && words[end].joined && lists.surnames.contains_key(first) {
            return Some((start, end, EntityKind::Person, 0.7));
        }
        if who
            || speaks
            || (before.is_some_and(|b| lists.person_verbs.contains(b))
                && !words[start].sentence_start)
        {
            return Some((start, end, EntityKind::Person, 0.55));
        }
    }
    None
}

/// A name read at `start..end` of `text` (word boundaries), its own canonical form.
pub(crate) fn entity(
    text: &str,
    start: usize,
    end: usize,
    kind: EntityKind,
    confidence: f32,
) -> Entity {
    let surface = text.get(start..end).unwrap_or_default().to_string();
    Entity {
        canonical: surface.clone(),
        surface,
        kind,
        start,
        end,
        confidence,
        ids: Default::default(),
    }
}

/// The names of `text` (not Arabic): what the gazetteers matched (`found`), with the rules'
/// people, organizations and places added and the conflicts settled. `is_country` tells the
/// gazetteers' countries: a national team keeps its country's name as a place, as wire
/// services label it.
pub fn find(text: &str, found: Vec<Entity>, is_country: impl Fn(&Entity) -> bool) -> Vec<Entity> {
    let lists = lists();
    let words = words(text);
    let mut ruled: Vec<Entity> = Vec::new();
    // `Delhi-NCR`, `Baghdad-Damascus`: one place's name of hyphenated parts the gazetteers
    // know.
    for w in words
        .iter()
        .filter(|w| w.text.contains('-') && w.capitalised())
    {
        let inner_place = found
            .iter()
            .any(|e| e.kind == EntityKind::Place && w.start <= e.start && e.end <= w.end);
        let all_capitalised = w
            .text
            .split('-')
            .all(|part| part.chars().next().is_some_and(char::is_uppercase));
        if inner_place && all_capitalised {
            ruled.push(entity(text, w.start, w.end, EntityKind::Place, 0.7));
        }
    }
    for run in runs(lists, &words) {
        if ruled
            .iter()
            .any(|e| e.start <= words[run.0].start && words[run.1 - 1].end <= e.end)
        {
            continue;
        }
        // `Inner Mongolia`, `West Michigan`: a place's name with the word before it.
        let (a, b) = run;
        if b - a == 2 && PLACE_PREFIXES.contains(&words[a].text) {
            let rest = (words[a + 1].start, words[a + 1].end);
            if found
                .iter()
                .any(|e| e.kind == EntityKind::Place && (e.start, e.end) == rest)
            {
                ruled.push(entity(
                    text,
                    words[a].start,
                    words[a + 1].end,
                    EntityKind::Place,
                    0.75,
                ));
                continue;
            }
        }
        let Some((a, b, kind, confidence)) = classify(text, lists, &words, run)
            .or_else(|| in_a_results_table(text, lists, &words, &found, run))
            .or_else(|| listed_company_alone(lists, &words, &found, run))
        else {
            continue;
        };
        ruled.push(entity(
            text,
            words[a].start,
            words[b - 1].end,
            kind,
            confidence,
        ));
    }
    // `Herbert and Mahut`, `Johnson and Corbyn`: one unknown name coordinated with a
    // person's, or appositive to a role (`Dempsey, a consultant`), is a person's too.
    // A capitalised word standing alone (or after a sentence's ordinary first word).
    let alone = |i: usize| {
        let w = &words[i];
        let capitalised_neighbour = |j: usize| words[j].capitalised() && words[j].joined;
        let before_ok = i == 0
            || !w.joined
            || !words[i - 1].capitalised()
            || (words[i - 1].sentence_start && ordinary(lists, words[i - 1].text));
        let after_ok = i + 1 >= words.len() || !capitalised_neighbour(i + 1);
        before_ok && after_ok
    };
    let single_names: Vec<(usize, usize)> = (0..words.len())
        .filter(|&i| words[i].capitalised() && !words[i].all_caps() && alone(i))
        .filter(|&i| {
            (!ordinary(lists, words[i].text) || common_surname(lists, words[i].text))
                && !NOT_NAMES.contains(&words[i].text)
                && !demonym(lists, words[i].text)
        })
        .filter(|&i| {
            !ruled
                .iter()
                .chain(found.iter())
                .any(|e| e.start < words[i].end && words[i].start < e.end)
        })
        .map(|i| (i, i + 1))
        .collect();
    let person_at = |ruled: &[Entity], start: usize, end: usize| {
        ruled
            .iter()
            .any(|e| e.kind == EntityKind::Person && e.start == start && e.end == end)
    };
    let mut coordinated = Vec::new();
    for &(a, _) in &single_names {
        let w = &words[a];
        let after = &text[w.end..];
        let before = &text[..w.start];
        let partner_after = words.get(a + 2).filter(|_| after.starts_with(" and "));
        let partner_before = a
            .checked_sub(2)
            .map(|i| &words[i])
            .filter(|_| before.ends_with(" and "));
        // Two unknown words coordinated (`Hibernation and Torpor`, `Chime and Varo`) are
        // people only if the census knows one of them as a name.
        let unknown_pair = |p: &Word| {
            (census_name(lists, p.text) || census_name(lists, w.text))
                && single_names.iter().any(|&(b, _)| words[b].start == p.start)
        };
        let next_is_person = partner_after.is_some_and(|p| {
            ruled
                .iter()
                .any(|e| e.kind == EntityKind::Person && e.start == p.start)
                || unknown_pair(p)
        });
        let previous_is_person = partner_before.is_some_and(|p| {
            ruled
                .iter()
                .any(|e| e.kind == EntityKind::Person && e.end == p.end)
                || unknown_pair(p)
        });
        let appositive = [", a ", ", an ", ", the "]
            .iter()
            .any(|p| after.starts_with(p))
            && after
                .split(' ')
                .nth(2)
                .is_some_and(|role| is_title(lists, role.trim_end_matches(',')));
        if (next_is_person || previous_is_person || appositive)
            && !person_at(&ruled, w.start, w.end)
        {
            coordinated.push(entity(text, w.start, w.end, EntityKind::Person, 0.55));
        }
    }
    ruled.extend(coordinated);
    // A person's surname is that person's throughout.
    let mut people: HashMap<String, String> = HashMap::new();
    for e in ruled.iter().filter(|e| e.kind == EntityKind::Person) {
        if let Some(surname) = e.surface.split(' ').next_back() {
            if e.surface.contains(' ')
                && (!ordinary(lists, surname) || common_surname(lists, surname))
            {
                people.insert(surname.to_string(), e.surface.clone());
            }
        }
    }
    for w in &words {
        let Some(full) = people.get(w.text) else {
            continue;
        };
        let covered = ruled.iter().any(|e| e.start <= w.start && w.end <= e.end);
        if w.capitalised() && !covered {
            let mut surname = entity(text, w.start, w.end, EntityKind::Person, 0.7);
            surname.canonical = full.clone();
            ruled.push(surname);
        }
    }
    let things = defined_abbreviations(text, &words);
    ruled.retain(|e| !things.contains(e.surface.as_str()));
    let mut merged = merge(lists, found, ruled, &people, &is_country);
    teams_by_context(lists, &words, &mut merged, is_country);
    merged
}

/// Abbreviations the text defines from ordinary words: `binge eating disorder (BED)`. Such an
/// abbreviation names a thing, not a body, wherever the text uses it.
pub(crate) fn defined_abbreviations<'a>(text: &str, words: &[Word<'a>]) -> HashSet<&'a str> {
    let mut out = HashSet::default();
    for (i, w) in words.iter().enumerate() {
        let letters = w.text.chars().count();
        let bracketed = text[..w.start].trim_end().ends_with('(')
            && text[w.end..].trim_start().starts_with(')');
        if !bracketed || !w.all_caps() || !(2..=6).contains(&letters) || i < letters {
            continue;
        }
        let defining = &words[i - letters..i];
        let initials: String = defining
            .iter()
            .filter_map(|d| d.text.chars().next())
            .collect();
        // Lower-case words (the first of a sentence may be capitalised).
        let ordinary_words = defining.iter().all(|d| {
            d.text
                .chars()
                .skip(usize::from(d.sentence_start))
                .all(|c| c.is_lowercase() || c == '-')
        });
        if ordinary_words && initials.eq_ignore_ascii_case(w.text) {
            out.insert(w.text);
        }
    }
    out
}

/// A run of one word no rule reads that names a listed company (`Infineon`, `Nvidia`), unless
/// a gazetteer places it (`Albany`): one word is not enough to overrule a town.
fn listed_company_alone(
    lists: &Lists,
    words: &[Word],
    found: &[Entity],
    (start, end): (usize, usize),
) -> Option<(usize, usize, EntityKind, f32)> {
    let word = &words[start];
    let placed = found
        .iter()
        .any(|e| e.start < word.end && word.start < e.end);
    (end == start + 1
        && !word.all_caps()
        && !placed
        && lists.companies.contains(word.text.to_lowercase().as_str()))
    .then_some((start, end, EntityKind::Organization, 0.65))
}

/// A run no rule reads, shown to be a person by a results table: a competitor before their
/// country in brackets (`Tim Henman ( Britain ) beat …`, `1. Michael Johnson (U.S.) 19.32`)
/// or a scorer before the minute inside a score's brackets (`Ajax 1 ( Litmanen 55 )`).
fn in_a_results_table(
    text: &str,
    lists: &Lists,
    words: &[Word],
    found: &[Entity],
    (start, end): (usize, usize),
) -> Option<(usize, usize, EntityKind, f32)> {
    // A known place before a bracketed country is the place (`Paris ( France )`).
    let run_start = words[start].start;
    if end - start > 3
        || words[start..end]
            .iter()
            .any(|w| w.all_caps() && w.text.len() > 3)
        || found.iter().any(|e| e.start == run_start)
    {
        return None;
    }
    let after = &text[words[end - 1].end..];
    let rest = after.trim_start_matches(' ');
    // Before a country in brackets.
    if let Some(inside) = rest.strip_prefix('(') {
        let country_at = text.len() - inside.trim_start_matches(' ').len();
        let country_end = found
            .iter()
            .find(|e| e.kind == EntityKind::Place && e.start == country_at)
            .map(|e| e.end)
            .or_else(|| {
                let word = words.iter().find(|w| w.start == country_at)?;
                lists.places.contains(word.text).then_some(word.end)
            });
        if country_end.is_some_and(|at| text[at..].trim_start_matches(' ').starts_with(')')) {
            return Some((start, end, EntityKind::Person, 0.6));
        }
    }
    // A scorer: inside brackets opened after a number, before a minute and `,` or `)`.
    let minute = words
        .get(end)
        .filter(|w| w.joined && w.text.len() <= 3 && w.text.chars().all(|c| c.is_ascii_digit()));
    let before = &text[..words[start].start];
    let open = before.rfind('(');
    let inside_brackets = open.is_some_and(|at| !before[at..].contains(')'));
    let score_before = open.is_some_and(|at| {
        before[..at]
            .trim_end()
            .rsplit(' ')
            .next()
            .is_some_and(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
    });
    if let Some(minute) = minute {
        let next = text[minute.end..].trim_start_matches(' ');
        if inside_brackets && score_before && (next.starts_with(',') || next.starts_with(')')) {
            return Some((start, end, EntityKind::Person, 0.6));
        }
    }
    None
}

/// Positions in sports whose word follows a team's name: `Pittsburgh quarterback Mason
/// Rudolph`, `Leeds striker`, `Cleveland DL`.
const SPORTS_ROLES: &[&str] = &[
    "coach",
    "manager",
    "quarterback",
    "receiver",
    "linebacker",
    "cornerback",
    "safety",
    "tackle",
    "pitcher",
    "catcher",
    "shortstop",
    "outfielder",
    "infielder",
    "striker",
    "midfielder",
    "defender",
    "goalkeeper",
    "keeper",
    "winger",
    "forward",
    "guard",
    "center",
    "centre",
    "captain",
    "skipper",
    "batsman",
    "bowler",
    "fly-half",
    "scrum-half",
    "prop",
    "lock",
    "QB",
    "WR",
    "RB",
    "TE",
    "LB",
    "CB",
    "DL",
    "OL",
    "DB",
    "DE",
    "DT",
];

/// Verbs of a match between two teams (`Leeds beat Arsenal 2-1`).
const MATCH_VERBS: &[&str] = &[
    "beat",
    "beats",
    "defeated",
    "defeats",
    "edged",
    "routed",
    "thrashed",
    "hammered",
    "downed",
    "drew",
    "draw",
    "tied",
    "upset",
    "blanked",
    "overcame",
    "stunned",
    "outlasted",
];

/// `ENGLAND` as `England`, `NEW YORK` as `New York`.
fn title_case(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Family names' prefixes before an inner capital.
const NAME_PREFIXES: &[&str] = &[
    "Mc", "Mac", "De", "Di", "Da", "Du", "Le", "La", "Van", "Von", "Fitz",
];

/// A capitalised word with a capital after a lower-case letter inside it, letters only, not
/// after a family name's prefix.
fn company_shaped(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    if !chars.first().is_some_and(|c| c.is_uppercase())
        || !chars.iter().all(|c| c.is_alphanumeric())
    {
        return false;
    }
    let Some(inner) =
        (1..chars.len()).find(|&i| chars[i].is_uppercase() && chars[i - 1].is_lowercase())
    else {
        return false;
    };
    let prefix: String = chars[..inner].iter().collect();
    // `XPxUJuyIAC` is a link's code, not a company.
    let capitals = chars.iter().filter(|c| c.is_uppercase()).count();
    !NAME_PREFIXES.contains(&prefix.as_str()) && capitals <= 3
}

/// A date as datelines write it: `1996-08-30`, `30-08-1996`.
fn is_date(word: &str) -> bool {
    let parts: Vec<&str> = word.split(['-', '/']).collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| (1..=4).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
}

/// A score: `2-1`, `3–0`, `104-98`.
fn is_score(word: &str) -> bool {
    let mut parts = word.split(['-', '–']);
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let number = |p: &str| (1..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit());
    number(a) && number(b)
}

/// A place's or an unknown name that the sentence shows to be a team becomes an
/// organization: before a position in sports (`Cleveland DL`), in a results line (`Leeds 2
/// Arsenal 1`), or on either side of a match verb with a score in the sentence (`Leeds beat
/// Arsenal 2-1`). A club named after its city is news about the club there, not the city.
fn teams_by_context(
    lists: &Lists,
    words: &[Word],
    names: &mut [Entity],
    is_country: impl Fn(&Entity) -> bool,
) {
    // Words are in text order, so both their starts and their ends are sorted.
    let word_at = |offset: usize| words.binary_search_by_key(&offset, |w| w.start).ok();
    let word_ending = |offset: usize| words.binary_search_by_key(&offset, |w| w.end).ok();
    let number =
        |w: &Word| (1..=3).contains(&w.text.len()) && w.text.chars().all(|c| c.is_ascii_digit());
    let sentence_of = |i: usize| {
        let from = (0..=i)
            .rev()
            .find(|&j| words[j].sentence_start)
            .unwrap_or(0);
        let to = (i + 1..words.len())
            .find(|&j| words[j].sentence_start)
            .unwrap_or(words.len());
        from..to
    };
    let mut starts: Vec<usize> = names.iter().map(|n| n.start).collect();
    starts.sort_unstable();
    let name_starting = |i: usize| {
        words
            .get(i)
            .is_some_and(|w| starts.binary_search(&w.start).is_ok())
    };
    let mut teams = Vec::new();
    for (n, name) in names.iter().enumerate() {
        if name.kind == EntityKind::Person
            || is_country(name)
            || lists.places.contains(name.surface.as_str())
        {
            continue;
        }
        let (Some(first), Some(last)) = (word_at(name.start), word_ending(name.end)) else {
            continue;
        };
        let next = words.get(last + 1);
        let before_role = next.is_some_and(|w| w.joined && SPORTS_ROLES.contains(&w.text));
        // `Leeds 2 Arsenal 1`: a number after this name, and either a name after the
        // number or a number before this name.
        let results_line = next.is_some_and(|w| w.joined && number(w))
            && (name_starting(last + 2)
                || first
                    .checked_sub(1)
                    .is_some_and(|i| number(&words[i]) && words[first].joined));
        let matched = {
            let sentence = sentence_of(first);
            let verb_beside = words
                .get(last + 1)
                .is_some_and(|w| MATCH_VERBS.contains(&w.text))
                || first
                    .checked_sub(1)
                    .is_some_and(|i| MATCH_VERBS.contains(&words[i].text));
            verb_beside && words[sentence].iter().any(|w| is_score(w.text))
        };
        if before_role || results_line || matched {
            teams.push(n);
        }
    }
    for n in teams {
        names[n].kind = EntityKind::Organization;
        names[n].ids = Default::default();
        names[n].canonical = names[n].surface.clone();
    }
}

/// The gazetteers' names and the rules', without overlaps. A gazetteer's name stands unless
/// a rule's longer name covers it (`Pittsburgh Post-Gazette` over `Pittsburgh`), a sure rule
/// reads the same words otherwise (`Tufts University`, an organization by its last word), or
/// the words are a known person's (`Garrett`, a surname here, not the town). A month or an
/// upper-case ordinary word (`August`, `BED`) is no place.
fn merge(
    lists: &Lists,
    found: Vec<Entity>,
    ruled: Vec<Entity>,
    people: &HashMap<String, String>,
    is_country: &impl Fn(&Entity) -> bool,
) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for g in found {
        // `ENGLAND` in a headline is England; `BED` and `AUGUST` are words.
        if NOT_NAMES.contains(&g.surface.as_str())
            || (g.surface.len() > 1
                && g.surface.chars().all(|c| !c.is_lowercase())
                && WordFrequencies::english()
                    .is_common(&khabar_text::normalize_for_search(&g.surface))
                && !lists.places.contains(title_case(&g.surface).as_str())
                && !is_country(&g))
        {
            continue;
        }
        // A country's name alone is the country, though a list knows a person of that name
        // (`Jordan closed its borders`), unless the article names the person in full.
        let country_alone = is_country(&g) && !people.contains_key(g.surface.as_str());
        let beaten = ruled.iter().any(|r| {
            let same = r.start == g.start && r.end == g.end;
            r.start <= g.start
                && g.end <= r.end
                && ((r.end - r.start) > (g.end - g.start)
                    || (same
                        && r.confidence >= 0.7
                        && r.kind != g.kind
                        && !(country_alone && r.kind == EntityKind::Person))
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
pub(crate) mod tests {
    use super::*;

    /// Fails unless every expected name is in `got` with its kind.
    pub(crate) fn assert_includes(got: &[(String, EntityKind)], expected: &[(&str, EntityKind)]) {
        for (name, kind) in expected {
            assert!(got.contains(&(name.to_string(), *kind)), "{name}: {got:?}");
        }
    }

    /// The names in `text` when a gazetteer has found the places `places` (byte offset,
    /// name), `is_country` saying which are countries.
    fn names_among_places(
        text: &str,
        places: &[(usize, &str)],
        is_country: impl Fn(&Entity) -> bool,
    ) -> Vec<(String, EntityKind)> {
        let found = places
            .iter()
            .map(|&(at, place)| entity(text, at, at + place.len(), EntityKind::Place, 0.6))
            .collect();
        find(text, found, is_country)
            .into_iter()
            .map(|e| (e.surface, e.kind))
            .collect()
    }

    /// The names in `text` when a gazetteer has found the town `town` at byte `at`.
    fn names_beside_a_town(text: &str, at: usize, town: &str) -> Vec<(String, EntityKind)> {
        names_among_places(text, &[(at, town)], |_| false)
    }

    fn names(text: &str) -> Vec<(String, EntityKind)> {
        find(text, Vec::new(), |_| false)
            .into_iter()
            .map(|e| (e.surface, e.kind))
            .collect()
    }

    #[test]
    fn people_organizations_and_places_by_their_shape_and_context() {
        let text = "Cleveland coach Freddie Kitchens said the Browns would appeal. Kitchens told \
                    reporters that the NFL and the Department of Justice were wrong, and that \
                    Global Widgets Inc. had sold the U.S. rights to Zenith Holdings in Orange \
                    County. The TV deal was signed by Patrick W. Smith, who left.";
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
        assert!(has("Orange County", EntityKind::Place), "{got:?}");
        assert!(has("Patrick W. Smith", EntityKind::Person), "{got:?}");
        assert!(!got.iter().any(|(t, _)| t == "TV" || t == "The"), "{got:?}");
    }

    #[test]
    fn a_surname_beats_the_town_of_that_name_and_possessives_are_left_out() {
        let text = "James Garrett hit Mason Rudolph. Garrett’s ban was upheld.";
        let got = names_beside_a_town(text, text.rfind("Garrett").unwrap_or(0), "Garrett");
        assert_eq!(
            got,
            vec![
                ("James Garrett".to_string(), EntityKind::Person),
                ("Mason Rudolph".to_string(), EntityKind::Person),
                ("Garrett".to_string(), EntityKind::Person),
            ]
        );
    }

    #[test]
    fn unknown_names_coordinated_with_a_person_or_beside_a_role_are_people() {
        let got = names("In the final Herbert and Mahut beat Klaasen and Venus Williams. Later Dempsey, a spokesman for the club, agreed.");
        for person in ["Herbert", "Mahut", "Klaasen", "Venus Williams", "Dempsey"] {
            assert!(
                got.contains(&(person.to_string(), EntityKind::Person)),
                "{person}: {got:?}"
            );
        }
    }

    #[test]
    fn people_known_by_name_alone_and_well_known_organizations() {
        let got = names("In Paris, Macron met Putin and the head of Goldman Sachs.");
        assert_includes(
            &got,
            &[
                ("Macron", EntityKind::Person),
                ("Putin", EntityKind::Person),
                ("Goldman Sachs", EntityKind::Organization),
            ],
        );
    }

    #[test]
    fn a_country_alone_stays_the_country_though_a_list_knows_a_person_of_that_name() {
        let read = |text: &str| {
            let countries: Vec<(usize, &str)> = text.match_indices("Jordan").collect();
            names_among_places(text, &countries, |e| e.surface == "Jordan")
        };
        let got = read("Jordan closed its borders with Syria.");
        assert_includes(&got, &[("Jordan", EntityKind::Place)]);
        // Named in full, the player is the player throughout.
        let got = read("Michael Jordan scored 30. Jordan said the team played well.");
        assert_includes(
            &got,
            &[
                ("Michael Jordan", EntityKind::Person),
                ("Jordan", EntityKind::Person),
            ],
        );
        assert!(
            !got.contains(&("Jordan".to_string(), EntityKind::Place)),
            "{got:?}"
        );
    }

    #[test]
    fn an_abbreviation_defined_from_ordinary_words_is_no_organization() {
        let got = names(
            "Binge eating disorder (BED) is common. The FDA says BED and the World Health \
             Organization (WHO) differ.",
        );
        assert!(!got.iter().any(|(t, _)| t == "BED"), "{got:?}");
        assert_includes(
            &got,
            &[
                ("FDA", EntityKind::Organization),
                ("WHO", EntityKind::Organization),
            ],
        );
    }

    #[test]
    fn listed_companies_and_names_after_their_kind() {
        let text = "Infineon and Diamondback Energy rose in Albany while Block slid; the startup \
                    Zorvex and the firm JP Morgan fell.";
        let got = names_beside_a_town(text, text.find("Albany").unwrap_or(0), "Albany");
        assert_includes(
            &got,
            &[
                ("Infineon", EntityKind::Organization),
                ("Diamondback Energy", EntityKind::Organization),
                // A listed company's one-word name gives way to the gazetteer's town.
                ("Albany", EntityKind::Place),
                ("Zorvex", EntityKind::Organization),
                ("JP Morgan", EntityKind::Organization),
            ],
        );
        // `Block, Inc.` is listed, but `Block` is an ordinary word first.
        assert!(!got.iter().any(|(t, _)| t == "Block"), "{got:?}");
    }

    #[test]
    fn two_names_joined_by_and_are_two_and_ordinary_words_make_no_person() {
        let got = names("Shares of Apple and Google rose after the Plasma Blue launch.");
        assert!(
            got.contains(&("Apple".to_string(), EntityKind::Organization)),
            "{got:?}"
        );
        assert!(
            got.contains(&("Google".to_string(), EntityKind::Organization)),
            "{got:?}"
        );
        assert!(!got.iter().any(|(t, _)| t.contains("Plasma")), "{got:?}");
    }

    #[test]
    fn company_shaped_words_but_not_handles_or_link_codes() {
        let got = names("Savers use SoFi, says @RobertMaguire at https://t.co/XPxUJuyIAC today.");
        assert_eq!(got, vec![("SoFi".to_string(), EntityKind::Organization)]);
    }

    #[test]
    fn census_given_names_and_common_surnames_make_people() {
        let got =
            names("The governor, Kristi Noem, spoke first. Later Price said the plan was sound.");
        assert!(
            got.contains(&("Kristi Noem".to_string(), EntityKind::Person)),
            "{got:?}"
        );
        assert!(
            got.contains(&("Price".to_string(), EntityKind::Person)),
            "{got:?}"
        );
    }

    #[test]
    fn nationalities_and_unknown_pairs_are_no_people_and_roles_before_for_are_no_titles() {
        let got = names(
            "The base lies near the Iraqi and Jordanian borders. Hibernation and Torpor were \
             studied at the Center for Environmental Politics.",
        );
        assert!(
            !got.iter().any(|(_, k)| *k == EntityKind::Person),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "Center for Environmental Politics".to_string(),
                EntityKind::Organization
            )),
            "{got:?}"
        );
    }

    #[test]
    fn a_city_is_a_team_before_a_position_in_a_results_line_and_beside_a_match_verb() {
        let place = |text: &str, name: &str, nth: usize| {
            let start = text.match_indices(name).nth(nth).map_or(0, |(i, _)| i);
            Entity {
                surface: name.into(),
                canonical: name.into(),
                kind: EntityKind::Place,
                start,
                end: start + name.len(),
                confidence: 0.9,
                ids: Default::default(),
            }
        };
        // A number ending the text after a name is no results line (and no panic).
        let _ = find(
            "Final score: Leeds 2",
            vec![place("Final score: Leeds 2", "Leeds", 0)],
            |_| false,
        );
        let text = "Pittsburgh quarterback Mason Rudolph was hurt. Results: Leeds 2 Chelsea 1. \
                    On Sunday Liverpool beat Everton 3-0. Pittsburgh is a city.";
        let found = vec![
            place(text, "Pittsburgh", 0),
            place(text, "Leeds", 0),
            place(text, "Chelsea", 0),
            place(text, "Liverpool", 0),
            place(text, "Everton", 0),
            place(text, "Pittsburgh", 1),
        ];
        let got: Vec<(String, EntityKind, usize)> = find(text, found, |_| false)
            .into_iter()
            .map(|e| (e.surface, e.kind, e.start))
            .collect();
        let kind_of = |name: &str, nth: usize| {
            let start = text.match_indices(name).nth(nth).map_or(0, |(i, _)| i);
            got.iter().find(|(_, _, s)| *s == start).map(|(_, k, _)| *k)
        };
        for team in ["Leeds", "Chelsea", "Liverpool", "Everton"] {
            assert_eq!(
                kind_of(team, 0),
                Some(EntityKind::Organization),
                "{team}: {got:?}"
            );
        }
        assert_eq!(
            kind_of("Pittsburgh", 0),
            Some(EntityKind::Organization),
            "{got:?}"
        );
        assert_eq!(kind_of("Pittsburgh", 1), Some(EntityKind::Place), "{got:?}");
    }

    #[test]
    fn european_clubs_and_names_from_the_compromise_lexicon_in_any_case() {
        let got = names("Analysts at AIG said exports from Bavaria fell. Aarav Mehta agreed.");
        let clubs = names("On Saturday Bayer Leverkusen beat Schalke and Galatasaray drew.");
        for club in ["Bayer Leverkusen", "Schalke", "Galatasaray"] {
            assert!(
                clubs.contains(&(club.to_string(), EntityKind::Organization)),
                "{club}: {clubs:?}"
            );
        }
        assert_includes(
            &got,
            &[
                ("AIG", EntityKind::Organization),
                ("Bavaria", EntityKind::Place),
                ("Aarav Mehta", EntityKind::Person),
            ],
        );
    }

    #[test]
    fn competitors_before_their_country_and_scorers_before_the_minute_are_people() {
        let text = "Pospisil ( Canada ) beat Opelka ( U.S. ) 7-6. Vitesse 2 ( Scholten 14 , \
                    Laamers 70 ) Ajax 1 ( Litmanen 55 ). Shares of Apple ( Nasdaq ) rose 3 ( Dow ).";
        let place = |name: &str| {
            let start = text.find(name).unwrap_or(0);
            Entity {
                surface: name.into(),
                canonical: name.into(),
                kind: EntityKind::Place,
                start,
                end: start + name.len(),
                confidence: 0.9,
                ids: Default::default(),
            }
        };
        let got: Vec<(String, EntityKind)> = find(text, vec![place("Canada")], |_| false)
            .into_iter()
            .map(|e| (e.surface, e.kind))
            .collect();
        for person in ["Pospisil", "Opelka", "Scholten", "Laamers", "Litmanen"] {
            assert!(
                got.contains(&(person.to_string(), EntityKind::Person)),
                "{person}: {got:?}"
            );
        }
        assert!(
            !got.iter().any(|(name, kind)| *kind == EntityKind::Person
                && ["Apple", "Nasdaq", "Dow"].contains(&name.as_str())),
            "{got:?}"
        );
    }
}
