//! The `events` transform: what happened, sentence by sentence, in a taxonomy aligned with
//! ACLED's event and sub-event types (plus evacuation and displacement).
//!
//! A bilingual trigger lexicon (search form, with Arabic proclitics allowed) marks a sentence;
//! the event takes the sentence's organizations as actors, its first place, and a date: the
//! publication date, moved back for "أمس"/"yesterday" or to the last weekday the sentence
//! names ("ليلة الخميس الجمعة" in a Friday report is Thursday night).

use async_trait::async_trait;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use khabar_core_model::{
    Article, BuildContext, EntityKind, Event, StageError, Transform, TransformConfig, Verdict,
};
use serde::Deserialize;

/// (type, sub-type, triggers in search form). Order matters: the first kind a sentence
/// triggers for a type wins.
const TAXONOMY: &[(&str, &str, &[&str])] = &[
    (
        "Explosions/Remote violence",
        "Air/drone strike",
        &[
            "غاره",
            "غارات",
            "ضربه جويه",
            "ضربات جويه",
            "الطائرات الحربيه",
            "طائرات حربيه",
            "طائره مسيره",
            "قصف جوي",
            "airstrike",
            "airstrikes",
            "air strike",
            "air strikes",
            "drone strike",
            "drone strikes",
            "warplanes",
        ],
    ),
    (
        "Explosions/Remote violence",
        "Shelling/artillery/missile attack",
        &[
            "قصف",
            "قصفت",
            "يقصف",
            "تقصف",
            "قذائف",
            "صواريخ",
            "shelling",
            "shelled",
            "shells",
            "rockets",
            "missile",
        ],
    ),
    (
        "Explosions/Remote violence",
        "Remote explosive/landmine/IED",
        &[
            "عبوه ناسفه",
            "لغم",
            "سياره مفخخه",
            "ied",
            "roadside bomb",
            "car bomb",
            "landmine",
        ],
    ),
    (
        "Battles",
        "Armed clash",
        &[
            "اشتباكات",
            "اشتباك",
            "معارك",
            "مواجهات",
            "clashes",
            "clashed",
            "fighting",
            "gunfight",
        ],
    ),
    (
        "Strategic developments",
        "Non-violent transfer of territory",
        &[
            "تسليم",
            "سلمت",
            "تسلمت",
            "تسلم",
            "استلام",
            "handed over",
            "handover",
            "hand over",
            "took over",
        ],
    ),
    (
        "Strategic developments",
        "Agreement",
        &[
            "اتفاق",
            "اتفاقيه",
            "هدنه",
            "وقف اطلاق النار",
            "agreement",
            "ceasefire",
            "truce",
            "deal",
        ],
    ),
    (
        "Strategic developments",
        "Arrests",
        &[
            "اعتقال",
            "اعتقلت",
            "اعتقل",
            "القبض علي",
            "arrested",
            "arrests",
            "detained",
        ],
    ),
    (
        "Strategic developments",
        "Siege",
        &[
            "حصار",
            "المحاصره",
            "محاصره",
            "حوصر",
            "يحاصر",
            "besieged",
            "siege",
        ],
    ),
    (
        "Protests",
        "Peaceful protest",
        &[
            "تظاهره",
            "تظاهرات",
            "مظاهره",
            "مظاهرات",
            "احتجاج",
            "احتجاجات",
            "protest",
            "protests",
            "protesters",
            "demonstrators",
        ],
    ),
    (
        "Riots",
        "Violent demonstration",
        &["اعمال شغب", "شغب", "riot", "riots", "rioters"],
    ),
    (
        "Violence against civilians",
        "Attack",
        &["اعدام", "اعدمت", "مجزره", "massacre", "executed"],
    ),
    (
        "Evacuation",
        "Evacuation",
        &[
            "اجلاء",
            "اجلت",
            "اجلي",
            "evacuated",
            "evacuation",
            "evacuate",
        ],
    ),
    (
        "Displacement",
        "Displacement",
        &[
            "نزوح",
            "نزح",
            "النازحين",
            "displaced",
            "displacement",
            "fled",
        ],
    ),
];

const PROCLITICS: [char; 5] = ['و', 'ف', 'ب', 'ل', 'ك'];

const WEEKDAYS: [(&str, Weekday); 14] = [
    ("السبت", Weekday::Sat),
    ("الاحد", Weekday::Sun),
    ("الاثنين", Weekday::Mon),
    ("الثلاثاء", Weekday::Tue),
    ("الاربعاء", Weekday::Wed),
    ("الخميس", Weekday::Thu),
    ("الجمعه", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
];

/// Trigger phrases by first word: (row, number in the row, the words after the first).
type TriggerIndex = std::collections::HashMap<&'static str, Vec<(usize, usize, Vec<&'static str>)>>;

/// Every trigger phrase filed under its first word: (row of [`TAXONOMY`], the trigger's number
/// in its row, the words after the first). Built once; a sentence is then read word by word
/// instead of once per trigger.
static TRIGGERS: std::sync::LazyLock<TriggerIndex> = std::sync::LazyLock::new(|| {
    let mut by_first: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
    for (row, (_, _, triggers)) in TAXONOMY.iter().enumerate() {
        for (number, trigger) in triggers.iter().enumerate() {
            let mut words = trigger.split(' ');
            if let Some(first) = words.next() {
                by_first
                    .entry(first)
                    .or_default()
                    .push((row, number, words.collect()));
            }
        }
    }
    by_first
});

/// The forms under which a word may be a trigger's first word: itself and with up to three
/// proclitics taken off (وقصفت is و + قصفت), each also without the article (الاشتباكات).
fn first_word_forms(word: &str) -> Vec<&str> {
    let mut forms = Vec::with_capacity(8);
    let mut w = word;
    for step in 0..=3 {
        forms.push(w);
        if let Some(bare) = w.strip_prefix("ال") {
            forms.push(bare);
        }
        if step == 3 {
            break;
        }
        match w.chars().next() {
            Some(c) if PROCLITICS.contains(&c) && w.len() > c.len_utf8() => {
                w = &w[c.len_utf8()..];
            }
            _ => break,
        }
    }
    forms
}

/// For each row of [`TAXONOMY`], the number of its first trigger (in the row's order) that the
/// folded words hold, if any.
fn triggers_found(words: &[&str]) -> Vec<Option<usize>> {
    let mut found = vec![None; TAXONOMY.len()];
    for (at, word) in words.iter().enumerate() {
        for form in first_word_forms(word) {
            let Some(triggers) = TRIGGERS.get(form) else {
                continue;
            };
            let after = words.get(at + 1..).unwrap_or(&[]);
            for (row, number, rest) in triggers {
                if after.starts_with(rest) {
                    if let Some(slot) = found.get_mut(*row) {
                        if slot.is_none_or(|held| *number < held) {
                            *slot = Some(*number);
                        }
                    }
                }
            }
        }
    }
    found
}

/// Whether the folded words hold `phrase`; its first word may carry proclitics and the article.
#[cfg(test)]
fn has_phrase(words: &[&str], phrase: &str) -> bool {
    let parts: Vec<&str> = phrase.split(' ').collect();
    words.windows(parts.len()).any(|window| {
        window
            .iter()
            .zip(&parts)
            .enumerate()
            .all(|(i, (word, part))| {
                if i > 0 {
                    return word == part;
                }
                // The word itself, or with the article: اشتباكات matches الاشتباكات.
                let same = |w: &str| w == *part || w.strip_prefix("ال") == Some(*part);
                let mut w = *word;
                for _ in 0..3 {
                    if same(w) {
                        return true;
                    }
                    match w.chars().next() {
                        Some(c) if PROCLITICS.contains(&c) && w.len() > c.len_utf8() => {
                            w = &w[c.len_utf8()..]
                        }
                        _ => return false,
                    }
                }
                same(w)
            })
    })
}

/// The day a sentence speaks of, relative to the publication day.
pub fn event_date(words: &[&str], published: NaiveDate) -> NaiveDate {
    if words.iter().any(|w| {
        matches!(*w, "امس" | "الامس" | "yesterday") || w.ends_with("امس") && w.len() <= "وامس".len()
    }) {
        return published
            .checked_sub_signed(Duration::days(1))
            .unwrap_or(published);
    }
    for word in words {
        if let Some((_, day)) = WEEKDAYS
            .iter()
            .find(|(name, _)| word.trim_start_matches(PROCLITICS) == *name || *word == *name)
        {
            let back =
                (published.weekday().num_days_from_monday() + 7 - day.num_days_from_monday()) % 7;
            return published
                .checked_sub_signed(Duration::days(i64::from(back)))
                .unwrap_or(published);
        }
    }
    published
}

/// Sentence spans (byte offsets) of a text.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '؟' | '؛' | '\n') {
            let end = at + c.len_utf8();
            if text[start..end].trim().len() > 1 {
                spans.push((start, end));
            }
            start = end;
        }
    }
    if text[start..].trim().len() > 1 {
        spans.push((start, text.len()));
    }
    spans
}

/// Events of an article whose `entities` are already found.
pub fn find_events(article: &Article) -> Vec<Event> {
    let Some(text) = article.text.as_deref() else {
        return Vec::new();
    };
    let published = article
        .published_at
        .unwrap_or(article.fetched_at)
        .date_naive();
    let mut events = Vec::new();
    for (start, end) in sentences(text) {
        let folded = khabar_text::normalize_for_search(&text[start..end]);
        let words: Vec<&str> = folded
            .split(|c: char| !khabar_text::is_alphanumeric(c))
            .filter(|w| !w.is_empty())
            .collect();
        let found = triggers_found(&words);
        let mut seen_types = Vec::new();
        for ((event_type, sub_type, triggers), first) in TAXONOMY.iter().zip(found) {
            if seen_types.contains(event_type) {
                continue;
            }
            let Some(trigger) = first.and_then(|number| triggers.get(number)) else {
                continue;
            };
            seen_types.push(*event_type);
            let inside = |e: &&khabar_core_model::Entity| e.start >= start && e.end <= end;
            let mut actors: Vec<String> = Vec::new();
            for e in article
                .entities
                .iter()
                .filter(inside)
                .filter(|e| e.kind != EntityKind::Place)
            {
                if !actors.contains(&e.canonical) {
                    actors.push(e.canonical.clone());
                }
            }
            let place = article
                .entities
                .iter()
                .filter(inside)
                .find(|e| e.kind == EntityKind::Place)
                .map(|e| e.canonical.clone());
            events.push(Event {
                event_type: event_type.to_string(),
                sub_type: Some(sub_type.to_string()),
                trigger: trigger.to_string(),
                confidence: if actors.is_empty() || place.is_none() {
                    0.5
                } else {
                    0.75
                },
                actors,
                place,
                date: Some(event_date(&words, published).to_string()),
                start,
                end,
            });
        }
    }
    events
}

/// `[transforms.<id>] type = "events"` (after `entities`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {}

#[async_trait]
impl TransformConfig for EventsConfig {
    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        Ok(Box::new(Events))
    }
}

struct Events;

#[async_trait]
impl Transform for Events {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        article.events = find_events(article);
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_relative_to_publication() {
        let friday = NaiveDate::from_ymd_opt(2019, 3, 1).unwrap_or_default();
        let words = |s: &'static str| s.split(' ').collect::<Vec<_>>();
        assert_eq!(
            event_date(&words("ليله الخميس الجمعه"), friday).to_string(),
            "2019-02-28"
        );
        assert_eq!(
            event_date(&words("مساء امس الخميس"), friday).to_string(),
            "2019-02-28"
        );
        assert_eq!(
            event_date(&words("on friday the army"), friday).to_string(),
            "2019-03-01"
        );
        assert_eq!(
            event_date(&words("the army said"), friday).to_string(),
            "2019-03-01"
        );
    }

    #[test]
    fn triggers_with_proclitics() {
        let words: Vec<&str> = vec!["وقصفت", "قوات"];
        assert!(has_phrase(&words, "قصفت"));
        assert!(!has_phrase(&words, "قصف"));
        assert!(has_phrase(
            &["fresh", "air", "strikes", "hit"],
            "air strikes"
        ));
    }

    #[test]
    fn the_trigger_index_finds_what_each_phrase_search_finds() {
        let seed = include_str!("../../../tests/fixtures/seed/body.txt");
        let extra = "وقصفت الطائرات مواقع. اندلعت الاشتباكات في المدينة. Fresh air strikes hit the town and thousands fled. فالقصف المدفعي استمر. ولل";
        for sentence in format!("{seed} {extra}").split(['.', '\n', '،']) {
            let folded = khabar_text::normalize_for_search(sentence);
            let words: Vec<&str> = folded
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            let by_index = triggers_found(&words);
            for ((_, _, triggers), first) in TAXONOMY.iter().zip(by_index) {
                let by_search = triggers.iter().position(|t| has_phrase(&words, t));
                assert_eq!(first, by_search, "{sentence}");
            }
        }
    }
}
