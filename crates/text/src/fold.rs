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
    let nfc: String = text.nfc().collect();
    nfc.split("\n\n")
        .map(collapse_whitespace)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
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
    for c in text.nfkc() {
        if is_arabic_diacritic(c) || is_tatweel(c) || is_invisible_noise(c) {
            continue;
        }
        let c = fold_digit(fold_arabic_letter(c));
        out.extend(c.to_lowercase());
    }
    out
}

/// The search form of `text` with, for each of its chars, the byte offset in `text` of the
/// char it came from: matches found in the search form map back to the text as written.
pub fn normalize_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 4];
    for (at, c) in text.char_indices() {
        // Most characters of news text (ASCII, the basic Arabic block) need no compatibility
        // decomposition: fold them directly instead of through NFKC, many times faster.
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            offsets.push(at);
            continue;
        }
        if ('\u{0621}'..='\u{066F}').contains(&c) {
            if !is_arabic_diacritic(c) && !is_tatweel(c) {
                out.push(fold_digit(fold_arabic_letter(c)));
                offsets.push(at);
            }
            continue;
        }
        for folded in normalize_for_search(c.encode_utf8(&mut buffer)).chars() {
            out.push(folded);
            offsets.push(at);
        }
    }
    (out, offsets)
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
        ];
        for (input, expected) in table {
            assert_eq!(normalize_for_search(input), expected, "{input}");
        }
    }

    #[test]
    fn the_fast_path_folds_like_the_full_one() {
        let text = "إسرائيل، أخبار ٢٠١٩ SDF مُحَمَّدٌ جمـــيل ﻻ کتاب ایران سورية مستشفى the Coalition";
        assert_eq!(normalize_with_offsets(text).0, normalize_for_search(text));
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
