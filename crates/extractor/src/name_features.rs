//! What the name tagger ([`crate::ner`]) sees of each token of a sentence: the word folded
//! for search, its stem without proclitics, affixes, script, its neighbours, the gazetteer's
//! reading of it, and the titles and reporting verbs that announce people.

use khabar_core_model::EntityKind;

use crate::ner::Features;

/// Words that come right before a person's name besides [`RULE_TITLES`]: roles that are
/// ordinary words too (العالم, الكاتب), and the joiners of a name (بن، أبو) — a feature of the
/// tagger, never a rule's trigger (search form).
const OTHER_TITLES: &[&str] = &[
    "د",
    "الاستاذ",
    "البروفيسور",
    "الامام",
    "المرشد",
    "القاضي",
    "الزعيم",
    "القايد",
    "الخليفه",
    "الكاردينال",
    "المطران",
    "الحاخام",
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

/// The names of [`GIVEN_NAMES`], each written as `write` writes it.
fn given_name_set(write: fn(&str) -> String) -> std::collections::HashSet<String> {
    GIVEN_NAMES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| write(l.trim()))
        .collect()
}

/// The given names, folded for search.
pub(crate) fn given_names() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| given_name_set(khabar_text::normalize_for_search))
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
        let title = |j: isize| is_any_title(word(j)) || is_any_title(stem_at(j));
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

/// Titles and roles that announce a person in the rules (search form): only those that
/// are not ordinary words too (العالم is "the world" before it is "the scientist").
const RULE_TITLES: &[&str] = &[
    "الرييس",
    "رييس",
    "الملك",
    "الامير",
    "الشيخ",
    "السيد",
    "السيده",
    "الوزير",
    "وزير",
    "العقيد",
    "اللواء",
    "العميد",
    "الجنرال",
    "المشير",
    "الدكتور",
    "المتحدث",
    "الناطق",
    "المبعوث",
    "السفير",
    "السلطان",
    "البابا",
    "المستشار",
    "النايب",
    "المدرب",
    "اللاعب",
    "الملكه",
    "الاميره",
    "الرييسه",
    "الوزيره",
];

/// Whether a word (search form) is a title, a role or a joiner of names.
fn is_any_title(word: &str) -> bool {
    RULE_TITLES.contains(&word) || OTHER_TITLES.contains(&word)
}

/// A word with only its marks taken away and its hamza alefs plain: closer to the letter
/// than the search form, which writes على (on) like علي (Ali).
fn light(word: &str) -> String {
    word.chars()
        .filter(|c| !('\u{064B}'..='\u{065F}').contains(c) && *c != '\u{0640}')
        .map(|c| match c {
            'أ' | 'إ' | 'آ' => 'ا',
            other => other,
        })
        .collect()
}

/// The given names as [`light`] writes them.
fn given_names_light() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| given_name_set(light))
}

/// Given names that are ordinary words too, as [`light`] writes them (علي is also على
/// written with ya, حسن "good", بان "appeared"): features, but never a rule's trigger.
const AMBIGUOUS_GIVEN: &[&str] = &[
    "علي",
    "حسن",
    "بان",
    "كرم",
    "نور",
    "زين",
    "عبد",
    "امين",
    "سعيد",
    "جميله",
    "كريم",
    "رشيد",
    "صالح",
    "سليم",
    "منصور",
    "ناصر",
    "نبيل",
    "عادل",
    "جمال",
    "كمال",
    "فريده",
    "وفاء",
    "هدي",
    "مني",
    "نصر",
    "مالك",
    "باسل",
    "سامي",
    "منير",
    "هاني",
    "وليد",
    "ماهر",
    "ريم",
    "عماد",
    "انور",
    "شريف",
    "ضياء",
    "سعد",
    "فهد",
    "طلال",
    "بكر",
    "زيد",
];

/// Words that join the parts of a name: nasab and kunya (search form).
const JOINERS: &[&str] = &["بن", "ابن", "بنت"];

/// Below this rank (more frequent) a word is taken for an ordinary word by the rules.
const RARE_RANK: u32 = 15_000;
const STARTERS: &[&str] = &["ابو", "ال", "ام"];

/// People the tagger left out, found by the frames news writes them in: a title or role
/// (الرئيس، رئيس الوزراء اللبناني، العقيد) or a given name, followed by words that are not
/// ordinary words (or a family name with the article right after a given name), with
/// nasab (بن، ابن) and kunya (أبو، آل) inside. Only words the tagger left as O are changed.
pub fn person_rules(words: &[&str], tags: &mut [usize]) {
    let frequencies = crate::common_words::WordFrequencies::arabic();
    let folded: Vec<String> = words
        .iter()
        .map(|w| khabar_text::normalize_for_search(w))
        .collect();
    let stems: Vec<&str> = folded.iter().map(|w| stem(w)).collect();
    let letters =
        |i: usize| folded[i].chars().all(char::is_alphabetic) && folded[i].chars().count() >= 2;
    let title =
        |i: usize| RULE_TITLES.contains(&folded[i].as_str()) || RULE_TITLES.contains(&stems[i]);
    let given = |i: usize| given_names_light().contains(&light(words[i]));
    let trigger = |i: usize| {
        let word = light(words[i]);
        given_names_light().contains(&word) && !AMBIGUOUS_GIVEN.contains(&word.as_str())
    };
    let rank = |i: usize| frequencies.rank(&folded[i]).unwrap_or(u32::MAX);
    // A word that can be part of a name: not an ordinary word, not a title.
    // A rare word: names the lists do not know are seldom among the most frequent
    // 15,000 words; ordinary words in a rare form (مفاعلات) mostly are.
    let rare = |i: usize| rank(i) > RARE_RANK;
    let name_word = |i: usize| letters(i) && !title(i) && (given(i) || rare(i));
    let free = |tags: &[usize], from: usize, to: usize| tags[from..to].iter().all(|t| *t == 0);
    let mut i = 0;
    while i < words.len() {
        let mut start = None;
        if title(i) {
            // Skip what qualifies the title: up to three ordinary words with the article
            // (الوزراء، اللبناني، الخارجية).
            let mut j = i + 1;
            let mut skipped = 0;
            while j < words.len()
                && skipped < 3
                && letters(j)
                && !name_word(j)
                && (folded[j].starts_with("ال") || title(j))
            {
                j += 1;
                skipped += 1;
            }
            if j < words.len() && name_word(j) {
                start = Some(j);
            }
        } else {
            let given_then_name = trigger(i)
                && i + 1 < words.len()
                && !title(i + 1)
                && letters(i + 1)
                && (rare(i + 1) || rank(i + 1) > 3000 && folded[i + 1].starts_with("ال"));
            // أبو مازن after a title the loop above could not pass.
            let kunya_after_title = STARTERS.contains(&folded[i].as_str())
                && i + 1 < words.len()
                && name_word(i + 1)
                && i > 0
                && title(i - 1);
            if given_then_name || kunya_after_title {
                start = Some(i);
            }
        }
        let Some(first) = start else {
            i += 1;
            continue;
        };
        // The name runs over name words, a family name with the article after a given name,
        // and the joiners between them; at most five words.
        let mut end = first + 1;
        while end < words.len() && end - first < 5 {
            let joined =
                JOINERS.contains(&folded[end].as_str()) || STARTERS.contains(&folded[end].as_str());
            if joined && end + 1 < words.len() && name_word(end + 1) {
                end += 2;
                continue;
            }
            let family = given(end - 1)
                && folded[end].starts_with("ال")
                && letters(end)
                && !title(end)
                && rank(end) > 3000;
            if name_word(end) || family {
                end += 1;
            } else {
                break;
            }
        }
        if free(tags, first, end) {
            tags[first] = 1;
            for tag in tags.iter_mut().take(end).skip(first + 1) {
                *tag = 2;
            }
        }
        i = end;
    }
}

/// A person named in full is then called by the family name alone (فؤاد السنيورة … أضاف
/// السنيورة): the parts of a document's multi-word person names that are neither given names
/// nor ordinary words are tagged as that person wherever they stand untagged.
pub fn recur_family_names(sentences: &[Vec<&str>], tags: &mut [Vec<usize>]) {
    let frequencies = crate::common_words::WordFrequencies::arabic();
    let key = |w: &str| stem(&khabar_text::normalize_for_search(w)).to_string();
    let mut family: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (words, tags) in sentences.iter().zip(tags.iter()) {
        let mut i = 0;
        while i < tags.len() {
            if tags[i] != 1 {
                i += 1;
                continue;
            }
            let mut end = i + 1;
            while end < tags.len() && tags[end] == 2 {
                end += 1;
            }
            let starts_with_given = {
                let first = light(words[i]);
                given_names_light().contains(&first) && !AMBIGUOUS_GIVEN.contains(&first.as_str())
            };
            if end - i >= 2 && starts_with_given {
                for word in &words[i..end] {
                    let folded = khabar_text::normalize_for_search(word);
                    let k = key(word);
                    let rank = |w: &str| frequencies.rank(w).unwrap_or(u32::MAX);
                    let ordinary = rank(&folded) <= RARE_RANK || rank(&k) <= RARE_RANK;
                    let given = given_names_light().contains(&light(word));
                    if !ordinary && !given && k.chars().count() >= 3 {
                        family.insert(k);
                    }
                }
            }
            i = end;
        }
    }
    if family.is_empty() {
        return;
    }
    for (words, tags) in sentences.iter().zip(tags.iter_mut()) {
        let mut i = 0;
        while i < words.len() {
            if tags[i] == 0 && family.contains(&key(words[i])) {
                tags[i] = 1;
                let mut j = i + 1;
                while j < words.len() && tags[j] == 0 && family.contains(&key(words[j])) {
                    tags[j] = 2;
                    j += 1;
                }
                i = j;
            } else {
                i += 1;
            }
        }
    }
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
