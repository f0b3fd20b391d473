//! Text as written (`text`) and its search form (`text_normalized`).
//!
//! Each folding step is a small function of its own, tested against a table, so a search for
//! أخبار finds اخبار and a search for ٢٠١٩ finds 2019.

use unicode_normalization::UnicodeNormalization;

/// Bidi controls and zero-width characters that change nothing a reader sees but break
/// matching. The zero-width joiner and non-joiner are kept: Persian spelling needs them.
fn is_invisible_noise(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'            // zero width space
        | '\u{200E}' | '\u{200F}' // LRM, RLM
        | '\u{202A}'..='\u{202E}' // embeddings and overrides
        | '\u{2066}'..='\u{2069}' // isolates
        | '\u{061C}'          // Arabic letter mark
        | '\u{FEFF}'          // BOM / zero width no-break space
        | '\u{00AD}' // soft hyphen
    )
}

/// No-break spaces are part of the text as written (HTML never collapses them either).
fn is_collapsible_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{00A0}' | '\u{202F}' | '\u{2007}')
}

/// Collapses runs of collapsible white space (spaces, tabs, newlines) to one ASCII space and
/// trims the ends; no-break spaces stay as written.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_ascii_graphic() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
            continue;
        }
        if is_collapsible_space(c) {
            pending_space = !out.is_empty();
        } else if !is_invisible_noise(c) {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// The article as written: NFC, invisible noise removed, white space tidied within each
/// paragraph, paragraphs separated by one blank line.
pub fn clean_text(text: &str) -> String {
    nfc(text)
        .split("\n\n")
        .map(collapse_whitespace)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `text` in Unicode normalization form C; borrowed when it is already (most text arrives
/// composed, and checking is much cheaper than composing).
pub fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii()
        || unicode_normalization::is_nfc_quick(text.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.nfc().collect())
    }
}

/// Arabic diacritics (harakat, tanwin, shadda, sukun), Quranic marks and the superscript alef.
pub fn is_arabic_diacritic(c: char) -> bool {
    matches!(c, '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06DC}' | '\u{06DF}'..='\u{06E8}' | '\u{06EA}'..='\u{06ED}')
}

/// Tatweel (kashida), the stretching stroke: ـ
pub fn is_tatweel(c: char) -> bool {
    c == '\u{0640}'
}

/// Letters folded to the one a search should match: alef forms → ا, alef maqsura → ي,
/// ta marbuta → ه, Persian and Urdu letters → their Arabic counterparts.
pub fn fold_arabic_letter(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' | '\u{0672}' | '\u{0673}' => 'ا',
        'ى' | 'ی' | 'ې' | 'ۍ' | 'ێ' => 'ي',
        'ة' | 'ۃ' => 'ه',
        'ک' | 'ڪ' => 'ك',
        'ۀ' | 'ہ' | 'ھ' | 'ە' => 'ه',
        _ => c,
    }
}

/// Arabic-Indic (٠-٩) and Persian (۰-۹) digits → ASCII.
pub fn fold_digit(c: char) -> char {
    match c {
        '\u{0660}'..='\u{0669}' => char::from_u32(c as u32 - 0x0660 + '0' as u32).unwrap_or(c),
        '\u{06F0}'..='\u{06F9}' => char::from_u32(c as u32 - 0x06F0 + '0' as u32).unwrap_or(c),
        _ => c,
    }
}

/// The search and matching form. NFKC first folds presentation forms (ﻻ → لا) and
/// compatibility characters; then diacritics and tatweel go, letters and digits fold, and
/// everything is lower-cased.
pub fn normalize_for_search(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_for_search(text, &mut out, None);
    out
}

/// The search form of `text` with, for each of its chars, the byte offset in `text` of the
/// char it came from: matches found in the search form map back to the text as written.
pub fn normalize_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len());
    fold_for_search(text, &mut out, Some(&mut offsets));
    (out, offsets)
}

/// Characters folded without NFKC: ASCII and the basic Arabic block, most of any news text.
/// The Arabic combining madda and hamza (U+0653–U+0655) are not: they compose with the letter
/// before them (و + ٔ = ؤ).
fn folds_directly(c: char) -> bool {
    c.is_ascii()
        || (('\u{0621}'..='\u{066F}').contains(&c) && !('\u{0653}'..='\u{0655}').contains(&c))
}

#[inline]
fn fold_one(c: char, out: &mut String) -> usize {
    // Arabic letters (not tatweel, U+0640), the bulk of Arabic text, first.
    if matches!(c, '\u{0621}'..='\u{063F}' | '\u{0641}'..='\u{064A}') {
        out.push(fold_arabic_letter(c));
        return 1;
    }
    if is_arabic_diacritic(c) || is_tatweel(c) || is_invisible_noise(c) {
        return 0;
    }
    let c = fold_digit(fold_arabic_letter(c));
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return 1;
    }
    // Arabic script and punctuation have no case.
    if ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{2000}'..='\u{206F}').contains(&c) {
        out.push(c);
        return 1;
    }
    let mut pushed = 0;
    for lower in c.to_lowercase() {
        out.push(lower);
        pushed += 1;
    }
    pushed
}

/// NFKC then folding, a character cluster at a time: a character with the combining marks
/// after it (composition never reaches further), so each folded char can point back to the
/// cluster it came from. Clusters of characters that fold directly skip NFKC, which is many
/// times slower and changes nothing for them.
fn fold_for_search(text: &str, out: &mut String, mut offsets: Option<&mut Vec<usize>>) {
    // Long runs of ASCII (English text, URLs, numbers) are lower-cased in one go; the rest
    // goes a cluster at a time. Short runs (the spaces between Arabic words) are not worth
    // switching for.
    const LONG_RUN: usize = 16;
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut mixed_from = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii() {
            at = bytes[at..]
                .iter()
                .position(u8::is_ascii)
                .map_or(bytes.len(), |p| at + p);
            continue;
        }
        let run_end = bytes[at..]
            .iter()
            .position(|b| !b.is_ascii())
            .map_or(bytes.len(), |p| at + p);
        if run_end - at < LONG_RUN {
            at = run_end;
            continue;
        }
        // The run's last character stays with what follows if a combining mark comes next.
        let mark_follows = text[run_end..]
            .chars()
            .next()
            .is_some_and(is_combining_mark);
        let ascii_end = if mark_follows { run_end - 1 } else { run_end };
        if at > mixed_from {
            fold_mixed(
                &text[mixed_from..at],
                mixed_from,
                out,
                offsets.as_deref_mut(),
            );
        }
        let start = out.len();
        out.push_str(&text[at..ascii_end]);
        out[start..].make_ascii_lowercase();
        if let Some(offsets) = offsets.as_deref_mut() {
            offsets.extend(at..ascii_end);
        }
        mixed_from = ascii_end;
        at = run_end;
    }
    if bytes.len() > mixed_from {
        fold_mixed(&text[mixed_from..], mixed_from, out, offsets);
    }
}

/// Folds text that is not plain ASCII, a character cluster at a time; `base` is its offset
/// in the whole text.
fn fold_mixed(text: &str, base: usize, out: &mut String, mut offsets: Option<&mut Vec<usize>>) {
    let mut chars = text.char_indices().map(|(at, c)| (base + at, c)).peekable();
    let text_at = |at: usize| at - base;
    let mut cluster = String::new();
    while let Some((at, c)) = chars.next() {
        let next_is_mark = chars
            .peek()
            .is_some_and(|&(_, next)| is_combining_mark(next));
        if !next_is_mark {
            // A cluster of one character: most of any text.
            let pushed = if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
                1
            } else if folds_directly(c) || is_nfkc_stable(c) {
                fold_one(c, out)
            } else {
                cluster.clear();
                cluster.extend(std::iter::once(c).nfkc());
                cluster.chars().map(|c| fold_one(c, out)).sum()
            };
            if let Some(offsets) = offsets.as_deref_mut() {
                offsets.extend(std::iter::repeat_n(at, pushed));
            }
            continue;
        }
        let mut direct = folds_directly(c);
        let mut end = at + c.len_utf8();
        while let Some(&(next_at, next)) = chars.peek() {
            if !is_combining_mark(next) {
                break;
            }
            direct &= folds_directly(next);
            end = next_at + next.len_utf8();
            chars.next();
        }
        let cluster_text = &text[text_at(at)..text_at(end)];
        let pushed = if direct {
            cluster_text.chars().map(|c| fold_one(c, out)).sum()
        } else {
            cluster.clear();
            cluster.extend(cluster_text.nfkc());
            cluster.chars().map(|c| fold_one(c, out)).sum()
        };
        if let Some(offsets) = offsets.as_deref_mut() {
            offsets.extend(std::iter::repeat_n(at, pushed));
        }
    }
}

/// Whether `c` combines with the character before it, answered without a table lookup for
/// ASCII and the Arabic letters and digits.
fn is_combining_mark(c: char) -> bool {
    match c {
        _ if c.is_ascii() => false,
        '\u{0621}'..='\u{064A}' | '\u{0660}'..='\u{0669}' => false,
        '\u{064B}'..='\u{065F}' | '\u{0670}' => true,
        _ => unicode_normalization::char::is_combining_mark(c),
    }
}

/// A character NFKC leaves as it is when it stands alone.
fn is_nfkc_stable(c: char) -> bool {
    unicode_normalization::is_nfkc_quick(std::iter::once(c))
        == unicode_normalization::IsNormalized::Yes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_form_table() {
        let table = [
            ("أخبار", "اخبار"),
            ("إسرائيل", "اسرائيل"),
            ("آلاف", "الاف"),
            ("مُحَمَّدٌ", "محمد"),
            ("الرحمٰن", "الرحمن"),
            ("جمـــيل", "جميل"),
            ("مستشفى", "مستشفي"),
            ("سورية", "سوريه"),
            ("ﻻ", "لا"),
            ("کتاب", "كتاب"),
            ("ایران", "ايران"),
            ("٢٠١٩", "2019"),
            ("۱۲۳", "123"),
            ("Syrian Democratic FORCES", "syrian democratic forces"),
            ("a\u{200F}b", "ab"),
            // Decomposed forms compose before folding.
            ("\u{0648}\u{0654}", "\u{0624}"),
            ("Cafe\u{0301}", "caf\u{00E9}"),
            ("ﬁle", "file"),
        ];
        for (input, expected) in table {
            assert_eq!(normalize_for_search(input), expected, "{input}");
        }
    }

    #[test]
    fn the_fast_path_folds_like_the_full_one() {
        let text = "\u{0301}e\u{0301}X إسرائيل، أخبار ٢٠١٩ SDF مُحَمَّدٌ جمـــيل ﻻ کتاب ایران سورية مستشفى the Coalition \
            “Quoted” … x\u{2003}y ﬁ Ⅻ ² Café Cafe\u{0301} Ǆ و\u{0654}";
        assert_eq!(normalize_with_offsets(text).0, normalize_for_search(text));
        // Against NFKC of the whole text, the reference definition.
        let reference: String = text
            .nfkc()
            .filter(|c| !is_arabic_diacritic(*c) && !is_tatweel(*c) && !is_invisible_noise(*c))
            .flat_map(|c| fold_digit(fold_arabic_letter(c)).to_lowercase())
            .collect();
        assert_eq!(normalize_for_search(text), reference);
    }

    #[test]
    fn offsets_point_back_to_the_text_as_written() {
        let text = "قوات سورية الديمقراطية (قسد)";
        let (folded, offsets) = normalize_with_offsets(text);
        assert_eq!(folded, normalize_for_search(text));
        let at = folded.chars().collect::<Vec<_>>();
        let start = folded
            .find("سوريه")
            .map(|b| folded[..b].chars().count())
            .unwrap_or(0);
        assert_eq!(&text[offsets[start]..], "سورية الديمقراطية (قسد)");
        assert_eq!(at.len(), offsets.len());
    }

    #[test]
    fn clean_text_keeps_paragraphs_and_removes_noise() {
        let text = "  first\u{200F}  line\n continues \n\n\n\nsecond\u{00A0}para  ";
        assert_eq!(
            clean_text(text),
            "first line continues\n\nsecond\u{00A0}para"
        );
    }
}
