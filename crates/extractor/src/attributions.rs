//! The `attributions` transform: who says so. Source phrases ("مصادر محلية", "sources close
//! to …") and reporting verbs with their speaker, in `attrs.attributions` as
//! `{speaker, verb, start, end}` (byte offsets of the sentence part in `text`).

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, StageError, Transform, TransformConfig, Verdict};
use serde::Deserialize;
use serde_json::{json, Value};

/// Reporting verbs in search form; the speaker follows in Arabic, precedes in English.
const ARABIC_VERBS: &[&str] = &[
    "قال",
    "قالت",
    "ذكر",
    "ذكرت",
    "افاد",
    "افادت",
    "اوضح",
    "اوضحت",
    "اضاف",
    "اضافت",
    "اكد",
    "اكدت",
    "صرح",
    "صرحت",
    "اعلن",
    "اعلنت",
    "نقل",
    "نقلت",
];
const ENGLISH_VERBS: &[&str] = &[
    "said",
    "says",
    "told",
    "stated",
    "reported",
    "added",
    "announced",
    "confirmed",
];
/// Words that end an Arabic speaker phrase.
const SPEAKER_END: &[&str] = &["ان", "لـ", "ل", "في", "الي", "اليوم", "امس", "ب"];

/// Attributions in `text`.
pub fn attributions(text: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let words: Vec<(usize, &str)> = text.split_word_bound_indices().collect();
    // Spaces and ASCII punctuation (half the segments) fold to themselves: only the rest is
    // folded.
    let folded: Vec<std::borrow::Cow<'_, str>> = words
        .iter()
        .map(|(_, w)| {
            let unchanged = w
                .chars()
                .all(|c| c.is_whitespace() || (c.is_ascii() && !c.is_ascii_alphanumeric()));
            if !unchanged {
                std::borrow::Cow::Owned(khabar_text::normalize_for_search(w))
            } else {
                std::borrow::Cow::Borrowed(*w)
            }
        })
        .collect();
    for (i, word) in folded.iter().enumerate() {
        let bare = word.trim_start_matches(['و', 'ف']);
        if ARABIC_VERBS.contains(&bare) {
            // Speaker: the words after the verb, up to a connector or punctuation.
            let mut end = i + 1;
            let mut speaker_words = 0;
            while end < words.len() && speaker_words < 6 {
                let (original, w) = (words[end].1, folded[end].as_ref());
                // Spaces, and quotes around a name inside the speaker (من "قسد"), carry on.
                if original
                    .chars()
                    .all(|c| c == ' ' || matches!(c, '"' | '«' | '»' | '“' | '”'))
                {
                    end += 1;
                    continue;
                }
                // A connector, punctuation, or "لـ" (told to …) ends the speaker.
                let connector =
                    SPEAKER_END.contains(&w) || original.starts_with("لـ") || original == "ل";
                if connector || !w.chars().any(khabar_text::is_alphanumeric) {
                    break;
                }
                speaker_words += 1;
                end += 1;
            }
            if speaker_words > 0 {
                let start = words[i + 1..end]
                    .iter()
                    .find(|(_, w)| !w.trim().is_empty())
                    .map_or(words[i].0, |(at, _)| *at);
                let stop = words[end - 1].0 + words[end - 1].1.len();
                let mut speaker = text[start..stop]
                    .trim()
                    .trim_end_matches(['"', '،', ','])
                    .trim()
                    .to_string();
                // The speaker ends inside a quoted name (من "قسد"): close the quote.
                if speaker.matches('"').count() % 2 == 1 {
                    speaker.push('"');
                }
                if !speaker.is_empty() {
                    found.push(json!({"speaker": speaker, "verb": words[i].1, "start": words[i].0, "end": stop}));
                }
            }
        } else if ENGLISH_VERBS.contains(&word.as_ref()) {
            // Speaker: the capitalised or "sources" words just before the verb.
            let mut start = i;
            let mut taken = 0;
            while start > 0 && taken < 5 {
                let w = words[start - 1].1;
                if w.trim().is_empty() {
                    start -= 1;
                    continue;
                }
                let usable = w.chars().next().is_some_and(|c| c.is_uppercase())
                    || matches!(
                        w,
                        "sources" | "officials" | "residents" | "witnesses" | "local" | "security"
                    );
                if !usable {
                    break;
                }
                taken += 1;
                start -= 1;
            }
            if taken > 0 {
                let from = words[start].0;
                let speaker = text[from..words[i].0].trim().to_string();
                found.push(json!({"speaker": speaker, "verb": words[i].1, "start": from, "end": words[i].0 + words[i].1.len()}));
            }
        }
    }
    // Source phrases without a verb ("according to sources close to …").
    let lower = text.to_lowercase();
    for phrase in ["according to ", "وفق ", "بحسب ", "حسب "] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(phrase) {
            let start = from + at + phrase.len();
            let end = text[start..]
                .find(['.', ',', '،', '؛', '\n'])
                .map_or(text.len(), |e| start + e);
            let speaker: String = text[start..end]
                .split_whitespace()
                .take(6)
                .collect::<Vec<_>>()
                .join(" ");
            if !speaker.is_empty()
                && !found
                    .iter()
                    .any(|f| f["start"].as_u64() == Some(start as u64))
            {
                found.push(json!({"speaker": speaker, "verb": phrase.trim(), "start": from + at, "end": end}));
            }
            from = end.max(start);
        }
    }
    found
}

trait WordBounds {
    fn split_word_bound_indices(&self) -> std::vec::IntoIter<(usize, &str)>;
}

impl WordBounds for str {
    /// Words and the runs between them, with byte offsets.
    fn split_word_bound_indices(&self) -> std::vec::IntoIter<(usize, &str)> {
        let mut parts = Vec::new();
        let mut start = 0;
        let mut in_word = None;
        for (at, c) in self.char_indices() {
            let word = khabar_text::is_alphanumeric(c) || c == 'ـ';
            if in_word != Some(word) {
                if at > start {
                    parts.push((start, &self[start..at]));
                }
                start = at;
                in_word = Some(word);
            }
        }
        if start < self.len() {
            parts.push((start, &self[start..]));
        }
        parts.into_iter()
    }
}

/// `[transforms.<id>] type = "attributions"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionsConfig {}

#[async_trait]
impl TransformConfig for AttributionsConfig {
    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        Ok(Box::new(Attributions))
    }
}

struct Attributions;

#[async_trait]
impl Transform for Attributions {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        if let Some(text) = article.text.as_deref() {
            article
                .attrs
                .insert("attributions".into(), Value::Array(attributions(text)));
        }
        Ok(Verdict::Keep)
    }
}
