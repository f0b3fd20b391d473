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

/// Letters and digits of the Arabic block, as the standard library classes them, in a table
/// made once: its own lookup takes a slow path for every non-ASCII character, and the tagger
/// asks about every character of the text.
fn arabic_block() -> &'static [(bool, bool); 256] {
    static TABLE: std::sync::OnceLock<[(bool, bool); 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [(false, false); 256];
        for (i, slot) in table.iter_mut().enumerate() {
            if let Some(c) = char::from_u32(0x0600 + i as u32) {
                *slot = (c.is_alphabetic(), c.is_numeric());
            }
        }
        table
    })
}

/// `char::is_alphabetic`, quick for ASCII and Arabic.
pub(crate) fn is_letter(c: char) -> bool {
    match c {
        _ if c.is_ascii() => c.is_ascii_alphabetic(),
        '\u{0600}'..='\u{06FF}' => arabic_block()[c as usize - 0x0600].0,
        _ => c.is_alphabetic(),
    }
}

/// `char::is_alphanumeric`, quick for ASCII and Arabic.
pub(crate) fn is_letter_or_digit(c: char) -> bool {
    match c {
        _ if c.is_ascii() => c.is_ascii_alphanumeric(),
        '\u{0600}'..='\u{06FF}' => {
            let (letter, digit) = arabic_block()[c as usize - 0x0600];
            letter || digit
        }
        _ => c.is_alphanumeric(),
    }
}

/// What a word (search form) is in the short lists: a rule's title, another title or role
/// or joiner, a verb that frames names. One lookup instead of a walk through each list.
#[derive(Debug, Clone, Copy, Default)]
struct Listed {
    rule_title: bool,
    other_title: bool,
    verb: bool,
}

fn listed(word: &str) -> Listed {
    static LISTS: std::sync::OnceLock<foldhash::HashMap<&'static str, Listed>> =
        std::sync::OnceLock::new();
    let lists = LISTS.get_or_init(|| {
        let mut map: foldhash::HashMap<&'static str, Listed> = foldhash::HashMap::default();
        for w in RULE_TITLES {
            map.entry(w).or_default().rule_title = true;
        }
        for w in OTHER_TITLES {
            map.entry(w).or_default().other_title = true;
        }
        for w in VERBS {
            map.entry(w).or_default().verb = true;
        }
        map
    });
    lists.get(word).copied().unwrap_or_default()
}

const PROCLITICS: [char; 5] = ['و', 'ف', 'ب', 'ل', 'ك'];

/// Khabar's list of given names (Arabic and foreign names in Arabic script).
pub const GIVEN_NAMES: &str = include_str!("../gazetteer/given-names.txt");

/// The names of [`GIVEN_NAMES`], each written as `write` writes it.
fn given_name_set(write: fn(&str) -> String) -> foldhash::HashSet<String> {
    GIVEN_NAMES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| write(l.trim()))
        .collect()
}

/// The given names, folded for search.
pub(crate) fn given_names() -> &'static foldhash::HashSet<String> {
    static NAMES: std::sync::OnceLock<foldhash::HashSet<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| given_name_set(khabar_text::normalize_for_search))
}

/// One word as the features and the rules see it, worked out once.
#[derive(Debug, Clone)]
pub struct Word<'a> {
    /// As written in the text.
    pub written: &'a str,
    /// Folded for search.
    pub folded: String,
    /// Where the [`stem`] starts in `folded`.
    stem_at: usize,
    /// Ranks among ordinary words of the search form and of the stem (`u32::MAX` unlisted).
    rank: u32,
    stem_rank: u32,
    /// The search form or the stem is a given name.
    given: bool,
    /// The word with only marks and hamzas made plain ([`light`]) is a given name; and one
    /// that is an ordinary word too.
    given_light: bool,
    ambiguous_given: bool,
    /// A title or role of [`RULE_TITLES`]; of either list.
    rule_title: bool,
    any_title: bool,
    verb: bool,
    /// Letters only, two or more.
    letters: bool,
}

impl<'a> Word<'a> {
    /// Works out what is known of `written`.
    pub fn new(written: &'a str) -> Word<'a> {
        let frequencies = crate::common_words::WordFrequencies::arabic();
        let folded = khabar_text::normalize_for_search(written);
        // The stem is a suffix of the search form (only prefixes are taken off).
        let stem_at = folded.len().saturating_sub(stem(&folded).len());
        let stem_text = folded.get(stem_at..).unwrap_or_default();
        let rank = frequencies.rank(&folded);
        let stem_rank = frequencies.rank(stem_text);
        let names = given_names();
        let given_whole = names.contains(&folded);
        // The search form folds everything the light form does and more, so a word whose
        // light form is a given name is one in its search form too: most words need no
        // light form at all.
        let light = if given_whole {
            light(written)
        } else {
            String::new()
        };
        let (whole, bare) = (listed(&folded), listed(stem_text));
        Word {
            written,
            rank: rank.unwrap_or(u32::MAX),
            stem_rank: stem_rank.unwrap_or(u32::MAX),
            given: given_whole || names.contains(stem_text),
            given_light: given_whole && given_names_light().contains(&light),
            ambiguous_given: given_whole && AMBIGUOUS_GIVEN.contains(&light.as_str()),
            rule_title: whole.rule_title || bare.rule_title,
            any_title: whole.rule_title || whole.other_title || bare.rule_title || bare.other_title,
            verb: whole.verb || bare.verb,
            letters: folded.chars().all(is_letter) && folded.chars().nth(1).is_some(),
            stem_at,
            folded,
        }
    }

    /// A word, not a punctuation mark or a number.
    pub fn is_word(&self) -> bool {
        self.folded.chars().any(is_letter)
    }

    /// The words of a sentence.
    pub fn all(words: &[&'a str]) -> Vec<Word<'a>> {
        words.iter().map(|w| Word::new(w)).collect()
    }

    /// The search form without proclitics and article ([`stem`]).
    pub fn stem(&self) -> &str {
        self.folded.get(self.stem_at..).unwrap_or_default()
    }

    /// A given name that is not an ordinary word too: what starts a name in the rules.
    fn name_trigger(&self) -> bool {
        self.given_light && !self.ambiguous_given
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
            c if is_letter(c) => latin = true,
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

/// The features of a sentence's tokens (`hits`: the gazetteer's reading, one per word).
pub fn sentence_features(words: &[Word], hits: &[GazetteerHit]) -> Features {
    use crate::ner::{text_hash, Feature};
    const BEFORE: u64 = text_hash("<s>");
    const AFTER: u64 = text_hash("</s>");
    const NO_STEM: u64 = text_hash("");
    const LENGTHS: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
    let t = Feature::template;
    let word_hashes: Vec<u64> = words.iter().map(|w| text_hash(&w.folded)).collect();
    let stem_hashes: Vec<u64> = words.iter().map(|w| text_hash(w.stem())).collect();
    let word = |i: isize| -> u64 {
        usize::try_from(i)
            .ok()
            .and_then(|i| word_hashes.get(i).copied())
            .unwrap_or(if i < 0 { BEFORE } else { AFTER })
    };
    let stem_at = |i: isize| -> u64 {
        usize::try_from(i)
            .ok()
            .and_then(|i| stem_hashes.get(i).copied())
            .unwrap_or(NO_STEM)
    };
    let info = |i: isize| usize::try_from(i).ok().and_then(|i| words.get(i));
    let hit_at = |i: isize| -> &'static str {
        usize::try_from(i)
            .ok()
            .and_then(|i| hits.get(i).copied())
            .map_or("out", hit_name)
    };
    let mut features = Features::new(words.len());
    features.reserve(48);
    for (i, this) in words.iter().enumerate() {
        let at = i as isize;
        let (w, s) = (word(at), stem_at(at));
        let stem = this.stem();
        let mut add = |f: Feature| features.push(i, f);
        add(t("bias"));
        add(t("w").with(w));
        add(t("s").with(s));
        add(t("p2").with_text(head(stem, 2)));
        add(t("p3").with_text(head(stem, 3)));
        add(t("x2").with_text(tail(stem, 2)));
        add(t("x3").with_text(tail(stem, 3)));
        add(t("p4").with_text(head(stem, 4)));
        add(t("x4").with_text(tail(stem, 4)));
        add(t("shape").with_text(shape(&this.folded)));
        add(t("len").with_text(LENGTHS[stem.chars().count().min(10)]));
        add(t("al").with_text(if stem.len() < this.folded.len() {
            "y"
        } else {
            "n"
        }));
        let given = |j: isize| info(j).is_some_and(|w| w.given);
        if this.given {
            add(t("given"));
        }
        if given(at - 1) {
            add(t("given-1"));
        }
        if given(at + 1) {
            add(t("given+1"));
        }
        add(t("w-1").with(word(at - 1)));
        add(t("w+1").with(word(at + 1)));
        add(t("w-2").with(word(at - 2)));
        add(t("w+2").with(word(at + 2)));
        add(t("s-1").with(stem_at(at - 1)));
        add(t("s+1").with(stem_at(at + 1)));
        add(t("gaz").with_text(hit_at(at)));
        add(t("gaz-1").with_text(hit_at(at - 1)));
        add(t("gaz+1").with_text(hit_at(at + 1)));
        add(t("gaz")
            .with_text(hit_at(at))
            .with_text("w-1")
            .with(word(at - 1)));
        let title = |j: isize| info(j).is_some_and(|w| w.any_title);
        if title(at - 1) {
            add(t("title-1"));
        }
        if title(at - 2) {
            add(t("title-2"));
        }
        if this.any_title {
            add(t("title"));
        }
        let verb = |j: isize| info(j).is_some_and(|w| w.verb);
        if verb(at - 1) {
            add(t("verb-1"));
        }
        if verb(at + 1) {
            add(t("verb+1"));
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
fn given_names_light() -> &'static foldhash::HashSet<String> {
    static NAMES: std::sync::OnceLock<foldhash::HashSet<String>> = std::sync::OnceLock::new();
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
    "بول",
    "جان",
    "العبد",
];

/// Whether `word` (as written, proclitics allowed: ومحمد) is a given name that is not an
/// ordinary word too.
pub fn is_unambiguous_given_name(word: &str) -> bool {
    let word = light(word);
    let names = given_names_light();
    let mut rest = word.as_str();
    loop {
        if names.contains(rest) {
            return !AMBIGUOUS_GIVEN.contains(&rest);
        }
        match rest.strip_prefix(PROCLITICS) {
            Some(shorter) if shorter.chars().count() >= 3 => rest = shorter,
            _ => return false,
        }
    }
}

/// Words that join the parts of a name: nasab and kunya (search form).
const JOINERS: &[&str] = &["بن", "ابن", "بنت"];

/// Below this rank (more frequent) a word is taken for an ordinary word by the rules.
const RARE_RANK: u32 = 15_000;
const STARTERS: &[&str] = &["ابو", "ال", "ام"];

/// People the tagger left out, found by the frames news writes them in: a title or role
/// (الرئيس، رئيس الوزراء اللبناني، العقيد) or a given name, followed by words that are not
/// ordinary words (or a family name with the article right after a given name), with
/// nasab (بن، ابن) and kunya (أبو، آل) inside. Only words the tagger left as O are changed.
pub fn person_rules(words: &[Word], tags: &mut [usize]) {
    let letters = |i: usize| words[i].letters;
    let title = |i: usize| words[i].rule_title;
    let given = |i: usize| words[i].given_light;
    let trigger = |i: usize| words[i].name_trigger();
    let folded = |i: usize| words[i].folded.as_str();
    let rank = |i: usize| words[i].rank;
    // A word that can be part of a name: not an ordinary word, not a title.
    // A rare word: names the lists do not know are seldom among the most frequent
    // 15,000 words; ordinary words in a rare form (مفاعلات) mostly are.
    let rare = |i: usize| rank(i) > RARE_RANK;
    let name_word = |i: usize| letters(i) && !title(i) && (given(i) || rare(i));
    let free = |tags: &[usize], from: usize, to: usize| tags[from..to].iter().all(|t| *t == 0);
    let mut i = 0;
    while i < words.len().min(tags.len()) {
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
                && (folded(j).starts_with("ال") || title(j))
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
                && (rare(i + 1) || rank(i + 1) > 3000 && folded(i + 1).starts_with("ال"));
            // أبو مازن after a title the loop above could not pass.
            let kunya_after_title = STARTERS.contains(&folded(i))
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
            let joined = JOINERS.contains(&folded(end)) || STARTERS.contains(&folded(end));
            if joined && end + 1 < words.len() && name_word(end + 1) {
                end += 2;
                continue;
            }
            let family = given(end - 1)
                && folded(end).starts_with("ال")
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
pub fn recur_family_names(sentences: &[Vec<Word>], tags: &mut [Vec<usize>]) {
    let mut family: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (words, tags) in sentences.iter().zip(tags.iter()) {
        let mut i = 0;
        while i < tags.len().min(words.len()) {
            if tags[i] != 1 {
                i += 1;
                continue;
            }
            let mut end = i + 1;
            while end < tags.len() && tags[end] == 2 {
                end += 1;
            }
            if end - i >= 2 && words[i].name_trigger() {
                for word in words.iter().take(end).skip(i) {
                    let ordinary = word.rank <= RARE_RANK || word.stem_rank <= RARE_RANK;
                    if !ordinary && !word.given_light && word.stem().chars().count() >= 3 {
                        family.insert(word.stem());
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
        let is_family = |i: usize| family.contains(words[i].stem());
        let mut i = 0;
        while i < words.len().min(tags.len()) {
            if tags[i] == 0 && is_family(i) {
                tags[i] = 1;
                let mut j = i + 1;
                while j < words.len().min(tags.len()) && tags[j] == 0 && is_family(j) {
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
pub fn add_document_hints<K: AsRef<str>>(
    features: &mut [Features],
    keys: &[Vec<K>],
    first_pass: &[Vec<usize>],
) {
    use foldhash::{HashMap, HashMapExt};
    // Per stem: votes for O, person, organization, place (tag 0 → 0, B/I-PER → 1, B/I-ORG
    // → 2, B/I-LOC → 3); and part of a multi-word person.
    let group = |tag: usize| tag.div_ceil(2).min(3);
    let mut votes: HashMap<&str, ([usize; 4], bool)> = HashMap::new();
    for (sentence, tags) in keys.iter().zip(first_pass) {
        for (i, (key, tag)) in sentence.iter().zip(tags).enumerate() {
            let entry = votes.entry(key.as_ref()).or_default();
            entry.0[group(*tag)] += 1;
            let in_long_person = matches!(tag, 1 | 2) && (tags.get(i + 1) == Some(&2) || *tag == 2);
            entry.1 |= in_long_person;
        }
    }
    for ((sentence_features, sentence), tags) in features.iter_mut().zip(keys).zip(first_pass) {
        for (i, (key, tag)) in sentence.iter().zip(tags).enumerate() {
            let key = key.as_ref();
            if key.chars().count() < 3 {
                continue;
            }
            let Some((counts, person_part)) = votes.get(key) else {
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
        let words = Word::all(&["قال", "الرئيس", "فؤاد", "السنيورة"]);
        let f = sentence_features(&words, &[None; 4]);
        assert_eq!(f.len(), 4);
    }
}
