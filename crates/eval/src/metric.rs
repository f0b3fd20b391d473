//! The metric of the article-extraction benchmark: 4-token shingles, every page weighing the
//! same.

use std::collections::HashMap;

use regex::Regex;

/// Word tokens: Unicode `\w+` runs.
pub fn tokens(re: &Regex, text: &str) -> Vec<String> {
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

fn shingles(tokens: &[String]) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for window in tokens.windows(4) {
        *counts.entry(window).or_insert(0) += 1;
    }
    counts
}

/// One page's precision and recall, and whether the token lists are identical.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageScore {
    pub precision: f64,
    pub recall: f64,
    pub exact: bool,
}

pub fn score(re: &Regex, expected: &str, predicted: &str) -> PageScore {
    let expected_tokens = tokens(re, expected);
    let predicted_tokens = tokens(re, predicted);
    let expected = shingles(&expected_tokens);
    let predicted = shingles(&predicted_tokens);
    let mut tp = 0usize;
    for (shingle, &count) in &predicted {
        tp += count.min(expected.get(shingle).copied().unwrap_or(0));
    }
    let predicted_total: usize = predicted.values().sum();
    let expected_total: usize = expected.values().sum();
    let (fp, fn_) = (predicted_total - tp, expected_total - tp);
    // Dividing tp, fp and fn by their sum weighs every page the same; the ratios below are
    // unchanged by it, so it is implicit.
    let ratio = |num: usize, den: usize, other_empty: bool| {
        if den == 0 {
            if other_empty {
                1.0
            } else {
                0.0
            }
        } else {
            num as f64 / den as f64
        }
    };
    PageScore {
        precision: ratio(tp, tp + fp, tp + fn_ == 0),
        recall: ratio(tp, tp + fn_, tp + fp == 0),
        exact: expected_tokens == predicted_tokens,
    }
}

impl PageScore {
    /// This page's own F1 (the "no page below 0.5" bar is on it).
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision, self.recall);
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
}

/// A title in a form where typography does not count: lower case, one kind of quote,
/// dash and ellipsis, single spaces.
fn title_form(title: &str) -> String {
    let mapped: String = title
        .chars()
        .map(|c| match c {
            '‘' | '’' | '‚' | '‛' | '′' | '`' | '´' => '\'',
            '“' | '”' | '„' | '«' | '»' => '"',
            '–' | '—' | '‐' | '‑' | '−' => '-',
            other => other,
        })
        .collect::<String>()
        .replace('…', "...")
        .to_lowercase();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `predicted` is the headline `label`: the same up to typography, or the same with
/// a site name before or after a separator (a site name left on counts as right).
pub fn title_right(label: &str, predicted: &str) -> bool {
    let (label, predicted) = (title_form(label), title_form(predicted));
    if label.is_empty() || predicted.is_empty() {
        return label == predicted;
    }
    if label == predicted {
        return true;
    }
    const SEPARATORS: [&str; 5] = [" - ", " | ", " : ", " :: ", " · "];
    let suffix = predicted
        .strip_prefix(label.as_str())
        .is_some_and(|rest| SEPARATORS.iter().any(|s| rest.starts_with(s)));
    let prefix = predicted
        .strip_suffix(label.as_str())
        .is_some_and(|rest| SEPARATORS.iter().any(|s| rest.ends_with(s)));
    suffix || prefix
}

/// Mean precision, mean recall, F1 of the two means, accuracy.
pub fn summarize(scores: &[PageScore]) -> (f64, f64, f64, f64) {
    let n = scores.len().max(1) as f64;
    let p = scores.iter().map(|s| s.precision).sum::<f64>() / n;
    let r = scores.iter().map(|s| s.recall).sum::<f64>() / n;
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    let accuracy = scores.iter().filter(|s| s.exact).count() as f64 / n;
    (p, r, f1, accuracy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_table() {
        let re = Regex::new(r"\w+").unwrap_or_else(|_| unreachable!());
        let same = score(&re, "one two three four five", "one, two three; four five!");
        assert_eq!((same.precision, same.recall, same.exact), (1.0, 1.0, true));
        let half = score(&re, "a b c d e f g", "a b c d e");
        assert_eq!(half.precision, 1.0);
        assert_eq!(half.recall, 0.5);
        let extra = score(&re, "a b c d", "x a b c d y");
        assert!((extra.precision - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(extra.recall, 1.0);
        let empty = score(&re, "", "");
        assert_eq!((empty.precision, empty.recall), (1.0, 1.0));
        let missed = score(&re, "a b c d e", "");
        assert_eq!((missed.precision, missed.recall), (0.0, 0.0));
        let arabic = score(
            &re,
            "قصفت قوات التحالف الدولي ليلة",
            "قصفت قوات التحالف الدولي ليلة",
        );
        assert!(arabic.exact);
        let (p, r, f1, acc) = summarize(&[same, half]);
        assert_eq!((p, r), (1.0, 0.75));
        assert!((f1 - 2.0 * 0.75 / 1.75).abs() < 1e-9);
        assert_eq!(acc, 0.5);
    }

    #[test]
    fn titles_right_up_to_typography_and_site_names() {
        assert!(title_right(
            "‘We had some issues,’ exec says",
            "'We had some issues,' exec says"
        ));
        assert!(title_right(
            "Nelson's OT goal lifts Isles",
            "Nelson's OT goal lifts Isles - Times Union"
        ));
        assert!(title_right("Opinion piece", "Site | Opinion piece"));
        assert!(!title_right("Nelson's OT goal lifts Isles", "Nelson"));
        assert!(!title_right("India Post headline", "India Post"));
        assert!(!title_right("A", ""));
    }
}
