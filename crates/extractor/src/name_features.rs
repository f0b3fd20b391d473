//! What the name tagger ([`crate::ner`]) sees of each token of a sentence: the word folded
//! for search, its stem without proclitics, affixes, script, its neighbours, the gazetteer's
//! reading of it, and the titles and reporting verbs that announce people.

use khabar_core_model::EntityKind;

use crate::ner::Features;

/// Words that come right before a person's name: titles, ranks and roles (search form).
const TITLES: &[&str] = &[
    "الرييس",
    "رييس",
    "الملك",
    "الامير",
    "الشيخ",
    "السيد",
    "السيده",
    "الوزير",
    "وزير",
    "الرييسه",
    "العقيد",
    "اللواء",
    "العميد",
    "الجنرال",
    "المشير",
    "الدكتور",
    "د",
    "الاستاذ",
    "البروفيسور",
    "الامام",
    "المرشد",
    "القاضي",
    "النايب",
    "السفير",
    "المبعوث",
    "الناطق",
    "المتحدث",
    "الزعيم",
    "القايد",
    "الخليفه",
    "السلطان",
    "البابا",
    "الكاردينال",
    "المطران",
    "الحاخام",
    "اللاعب",
    "المدرب",
    "الفنان",
    "الكاتب",
    "الشاعر",
    "الروايي",
    "العالم",
    "الفيزيايي",
    "الكيميايي",
    "المهندس",
    "الممثل",
    "المغني",
    "المخرج",
    "الاعلامي",
    "الصحفي",
    "المستشار",
    "الامين",
    "نايب",
    "مساعد",
    "المدير",
    "مدير",
    "حاكم",
    "الحاكم",
    "محافظ",
    "المحافظ",
    "السناتور",
    "النجم",
    "الحارس",
    "المهاجم",
    "المدافع",
    "الملكه",
    "الاميره",
    "ابن",
    "بن",
    "ابو",
    "ام",
    "ال",
    "بنت",
];

/// Verbs of speech and action that often precede or follow a name (search form).
const VERBS: &[&str] = &[
    "قال",
    "اعلن",
    "صرح",
    "اكد",
    "اضاف",
    "اوضح",
    "اشار",
    "ذكر",
    "افاد",
    "كشف",
    "نفي",
    "دعا",
    "طالب",
    "التقي",
    "استقبل",
    "زار",
    "غادر",
    "وصل",
    "ولد",
    "توفي",
    "فاز",
    "سجل",
    "انضم",
    "لعب",
    "قالت",
    "اعلنت",
    "اكدت",
    "اضافت",
    "ولدت",
    "توفيت",
];

const PROCLITICS: [char; 5] = ['و', 'ف', 'ب', 'ل', 'ك'];

/// Khabar's list of given names (Arabic and foreign names in Arabic script).
pub const GIVEN_NAMES: &str = include_str!("../gazetteer/given-names.txt");

/// The given names, folded for search.
fn given_names() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        GIVEN_NAMES
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| khabar_text::normalize_for_search(l.trim()))
            .collect()
    })
}

/// A word's frequency as an ordinary word, in half-Zipf steps ("oov" when unlisted): names
/// the tagger has never seen are mostly rare words.
fn frequency_bucket(folded: &str) -> String {
    match crate::common_words::WordFrequencies::arabic().zipf(folded) {
        Some(zipf) => ((zipf * 2.0).floor() as i32).to_string(),
        None => "oov".to_string(),
    }
}

/// The word without its proclitics and article: وبالمدينة → مدينه (in search form).
pub fn stem(folded: &str) -> &str {
    let mut rest = folded;
    for _ in 0..2 {
        match rest.strip_prefix(|c: char| PROCLITICS.contains(&c)) {
            Some(r) if r.chars().count() >= 3 => rest = r,
            _ => break,
        }
    }
    if let Some(r) = rest.strip_prefix("ال").filter(|r| r.chars().count() >= 2) {
        return r;
    }
    if let Some(r) = rest
        .strip_prefix('ل')
        .filter(|r| r.starts_with('ل') && r.chars().count() >= 3)
    {
        return r;
    }
    rest
}

fn shape(word: &str) -> &'static str {
    let mut arabic = false;
    let mut latin = false;
    let mut digit = false;
    let mut other = false;
    for c in word.chars() {
        match c {
            '0'..='9' | '\u{0660}'..='\u{0669}' | '\u{06F0}'..='\u{06F9}' => digit = true,
            '\u{0600}'..='\u{06FF}' => arabic = true,
            c if c.is_alphabetic() => latin = true,
            _ => other = true,
        }
    }
    match (arabic, latin, digit, other) {
        (true, false, false, false) => "ar",
        (false, true, false, false) => "lat",
        (false, false, true, false) => "num",
        (false, false, false, true) => "punct",
        _ => "mixed",
    }
}

/// The first `n` characters.
fn head(word: &str, n: usize) -> &str {
    word.char_indices().nth(n).map_or(word, |(i, _)| &word[..i])
}

/// The last `n` characters.
fn tail(word: &str, n: usize) -> &str {
    let count = word.chars().count();
    if count <= n {
        return word;
    }
    word.char_indices()
        .nth(count - n)
        .map_or(word, |(i, _)| &word[i..])
}

/// The gazetteer's reading of a token: the kind of the name it lies in, and whether it is
/// that name's first token.
pub type GazetteerHit = Option<(EntityKind, bool)>;

fn hit_name(hit: GazetteerHit) -> &'static str {
    match hit {
        None => "none",
        Some((EntityKind::Person, true)) => "B-PER",
        Some((EntityKind::Person, false)) => "I-PER",
        Some((EntityKind::Organization, true)) => "B-ORG",
        Some((EntityKind::Organization, false)) => "I-ORG",
        Some((EntityKind::Place, true)) => "B-LOC",
        Some((EntityKind::Place, false)) => "I-LOC",
    }
}

/// The features of a sentence's tokens (`words` as written; `hits` one per word).
pub fn sentence_features(words: &[&str], hits: &[GazetteerHit]) -> Features {
    let folded: Vec<String> = words
        .iter()
        .map(|w| khabar_text::normalize_for_search(w))
        .collect();
    let stems: Vec<&str> = folded.iter().map(|w| stem(w)).collect();
    let word = |i: isize| -> &str {
        usize::try_from(i)
            .ok()
            .and_then(|i| folded.get(i))
            .map_or(if i < 0 { "<s>" } else { "</s>" }, String::as_str)
    };
    let stem_at = |i: isize| -> &str {
        usize::try_from(i)
            .ok()
            .and_then(|i| stems.get(i).copied())
            .unwrap_or("")
    };
    let hit_at = |i: isize| -> &'static str {
        usize::try_from(i)
            .ok()
            .and_then(|i| hits.get(i).copied())
            .map_or("out", hit_name)
    };
    let mut features = Features::new(words.len());
    for i in 0..words.len() {
        let at = i as isize;
        let w = word(at);
        let s = stem_at(at);
        features.add(i, &["bias"]);
        features.add(i, &["w", w]);
        features.add(i, &["s", s]);
        features.add(i, &["p2", head(s, 2)]);
        features.add(i, &["p3", head(s, 3)]);
        features.add(i, &["x2", tail(s, 2)]);
        features.add(i, &["x3", tail(s, 3)]);
        features.add(i, &["p4", head(s, 4)]);
        features.add(i, &["x4", tail(s, 4)]);
        // Letter groups inside the word: what foreign names written in Arabic share
        // (ـيز، ـو، غو، تش) whether or not the tagger has seen the name.
        let letters: Vec<char> = s.chars().collect();
        for gram in letters.windows(3) {
            let gram: String = gram.iter().collect();
            features.add(i, &["c3", &gram]);
        }
        features.add(i, &["shape", shape(w)]);
        let length = s.chars().count().min(10).to_string();
        features.add(i, &["len", &length]);
        features.add(i, &["al", if s.len() < w.len() { "y" } else { "n" }]);
        features.add(i, &["freq", &frequency_bucket(w)]);
        features.add(i, &["sfreq", &frequency_bucket(s)]);
        let given = |j: isize| {
            let names = given_names();
            names.contains(word(j)) || names.contains(stem_at(j))
        };
        if given(at) {
            features.add(i, &["given"]);
        }
        if given(at - 1) {
            features.add(i, &["given-1"]);
        }
        features.add(i, &["w-1", word(at - 1)]);
        features.add(i, &["w+1", word(at + 1)]);
        features.add(i, &["w-2", word(at - 2)]);
        features.add(i, &["w+2", word(at + 2)]);
        features.add(i, &["s-1", stem_at(at - 1)]);
        features.add(i, &["s+1", stem_at(at + 1)]);
        features.add(i, &["w-1w", word(at - 1), w]);
        features.add(i, &["ww+1", w, word(at + 1)]);
        features.add(i, &["gaz", hit_at(at)]);
        features.add(i, &["gaz-1", hit_at(at - 1)]);
        features.add(i, &["gaz+1", hit_at(at + 1)]);
        features.add(i, &["gaz", hit_at(at), "w-1", word(at - 1)]);
        let title = |j: isize| TITLES.contains(&word(j)) || TITLES.contains(&stem_at(j));
        if title(at - 1) {
            features.add(i, &["title-1"]);
        }
        if title(at - 2) {
            features.add(i, &["title-2"]);
        }
        if title(at) {
            features.add(i, &["title"]);
        }
        let verb = |j: isize| VERBS.contains(&word(j)) || VERBS.contains(&stem_at(j));
        if verb(at - 1) {
            features.add(i, &["verb-1"]);
        }
        if verb(at + 1) {
            features.add(i, &["verb+1"]);
        }
    }
    features
}

/// What a first tagging pass said elsewhere in the same document about each word: the kind
/// its stem was tagged most often in other places, and whether it was part of a person's
/// full name. Names recur in a document; the second pass learns how far to trust that.
pub fn add_document_hints(
    features: &mut [Features],
    keys: &[Vec<String>],
    first_pass: &[Vec<usize>],
) {
    use std::collections::HashMap;
    // Per stem: votes for O, person, organization, place (tag 0 → 0, B/I-PER → 1, B/I-ORG
    // → 2, B/I-LOC → 3); and part of a multi-word person.
    let group = |tag: usize| tag.div_ceil(2).min(3);
    let mut votes: HashMap<&str, ([usize; 4], bool)> = HashMap::new();
    for (sentence, tags) in keys.iter().zip(first_pass) {
        for (i, (key, tag)) in sentence.iter().zip(tags).enumerate() {
            let entry = votes.entry(key.as_str()).or_default();
            entry.0[group(*tag)] += 1;
            let in_long_person = matches!(tag, 1 | 2) && (tags.get(i + 1) == Some(&2) || *tag == 2);
            entry.1 |= in_long_person;
        }
    }
    for ((sentence_features, sentence), tags) in features.iter_mut().zip(keys).zip(first_pass) {
        for (i, (key, tag)) in sentence.iter().zip(tags).enumerate() {
            if key.chars().count() < 3 {
                continue;
            }
            let Some((counts, person_part)) = votes.get(key.as_str()) else {
                continue;
            };
            // Elsewhere: this occurrence's own vote taken out.
            let mut others = *counts;
            others[group(*tag)] = others[group(*tag)].saturating_sub(1);
            let best = (1..4).max_by_key(|k| others[*k]).unwrap_or(0);
            if others[best] > 0 {
                let kind = ["O", "PER", "ORG", "LOC"][best];
                sentence_features.add(i, &["doc", kind]);
                let share = if others[best] * 2 > others[0] {
                    "most"
                } else {
                    "some"
                };
                sentence_features.add(i, &["doc", kind, share]);
            }
            if *person_part {
                sentence_features.add(i, &["doc-person-part"]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_affixes() {
        assert_eq!(stem("وبالمدينه"), "مدينه");
        assert_eq!(stem("للتحالف"), "تحالف");
        assert_eq!(stem("ولد"), "ولد");
        assert_eq!(head("دمشق", 2), "دم");
        assert_eq!(tail("دمشق", 3), "مشق");
        assert_eq!(tail("ab", 3), "ab");
        assert_eq!(shape("Linux"), "lat");
        assert_eq!(shape("2004"), "num");
    }

    #[test]
    fn every_token_has_features() {
        let f = sentence_features(&["قال", "الرئيس", "فؤاد", "السنيورة"], &[None; 4]);
        assert_eq!(f.len(), 4);
    }
}
