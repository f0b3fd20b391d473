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
    fold_into(text, &mut out);
    out
}

/// Appends the search form of `text` to `out`: for callers that fold many short pieces (each
/// word of a text) into one buffer instead of a string each.
pub fn push_search_form(text: &str, out: &mut String) {
    fold_into(text, out);
}

/// The search form of `text` with, for each of its chars, the byte offset in `text` of the
/// char it came from: matches found in the search form map back to the text as written.
pub fn normalize_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut sink = CharOffsets {
        out: String::with_capacity(text.len()),
        offsets: Vec::with_capacity(text.len()),
    };
    fold_into(text, &mut sink);
    (sink.out, sink.offsets)
}

/// The search form of `text` without the chars for which `drop` holds (quotation marks, for
/// matching names written with quotes inside), and where its bytes came from in `text`: byte
/// ranges found in the search form map straight back.
pub fn normalize_with_origins(text: &str, drop: impl Fn(char) -> bool) -> (String, Origins) {
    let mut sink = ByteOrigins {
        text,
        out: String::with_capacity(text.len()),
        origins: Origins::default(),
        last_origin: usize::MAX,
        drop,
    };
    fold_into(text, &mut sink);
    (sink.out, sink.origins)
}

/// Where the bytes of a search form came from in the text it was made from. Most of a search
/// form is the text byte for byte (ASCII lower-cased, Arabic letters folded to letters of the
/// same length), so it is kept as segments rather than an offset per byte.
#[derive(Debug, Default, Clone)]
pub struct Origins {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Where the segment starts in the search form.
    search: usize,
    /// Where it starts in the text.
    text: usize,
    /// `None`: a copy, byte for byte. `Some(end)`: every byte comes from the one character at
    /// `text..end` (a character folded to one of another length, or to several).
    collapsed_to: Option<usize>,
}

impl Origins {
    fn segment(&self, search: usize) -> Option<&Segment> {
        let at = self.segments.partition_point(|s| s.search <= search);
        self.segments.get(at.checked_sub(1)?)
    }

    /// Where in the text the character at byte `search` of the search form begins.
    pub fn start(&self, search: usize) -> Option<usize> {
        let segment = self.segment(search)?;
        Some(match segment.collapsed_to {
            None => segment.text + (search - segment.search),
            Some(_) => segment.text,
        })
    }

    /// Where in the text the character ending at byte `search_end` (exclusive) of the search
    /// form ends.
    pub fn end(&self, search_end: usize) -> Option<usize> {
        let segment = self.segment(search_end.checked_sub(1)?)?;
        Some(match segment.collapsed_to {
            None => segment.text + (search_end - segment.search),
            Some(end) => end,
        })
    }
}

/// Where folded characters go, each with the byte offset of the character it came from.
trait FoldSink {
    fn push(&mut self, c: char, origin: usize);

    /// Text that folds to itself byte for byte (lower-case ASCII, plain Arabic letters),
    /// starting at `origin`; none of it is dropped (see [`FoldSink::keeps`]).
    fn push_verbatim(&mut self, run: &str, origin: usize) {
        for (i, c) in run.char_indices() {
            self.push(c, origin + i);
        }
    }

    /// Whether this ASCII character is kept (a sink may drop some, such as quotation marks).
    fn keeps(&self, _ascii: u8) -> bool {
        true
    }
}

impl FoldSink for String {
    fn push(&mut self, c: char, _origin: usize) {
        String::push(self, c);
    }

    fn push_verbatim(&mut self, run: &str, _origin: usize) {
        self.push_str(run);
    }
}

struct CharOffsets {
    out: String,
    offsets: Vec<usize>,
}

impl FoldSink for CharOffsets {
    fn push(&mut self, c: char, origin: usize) {
        self.out.push(c);
        self.offsets.push(origin);
    }
}

struct ByteOrigins<'a, F> {
    text: &'a str,
    out: String,
    origins: Origins,
    /// The text character the last pushed one came from.
    last_origin: usize,
    drop: F,
}

impl<F: Fn(char) -> bool> FoldSink for ByteOrigins<'_, F> {
    fn push_verbatim(&mut self, run: &str, origin: usize) {
        self.copied(origin);
        self.out.push_str(run);
        self.last_origin = origin + run.len().saturating_sub(1);
    }

    fn keeps(&self, ascii: u8) -> bool {
        !(self.drop)(char::from(ascii))
    }

    fn push(&mut self, c: char, origin: usize) {
        if (self.drop)(c) {
            return;
        }
        let source_len = match self.text.as_bytes().get(origin) {
            Some(b) if b.is_ascii() => 1,
            _ => self.text[origin..].chars().next().map_or(1, char::len_utf8),
        };
        if c.len_utf8() == source_len && origin != self.last_origin {
            self.copied(origin);
        } else {
            self.origins.segments.push(Segment {
                search: self.out.len(),
                text: origin,
                collapsed_to: Some(origin + source_len),
            });
        }
        self.out.push(c);
        self.last_origin = origin;
    }
}

impl<F> ByteOrigins<'_, F> {
    /// Notes that what is pushed next copies the text from `origin`, byte for byte.
    fn copied(&mut self, origin: usize) {
        let search = self.out.len();
        let continues = self.origins.segments.last().is_some_and(|last| {
            last.collapsed_to.is_none() && last.text + (search - last.search) == origin
        });
        if !continues {
            self.origins.segments.push(Segment {
                search,
                text: origin,
                collapsed_to: None,
            });
        }
    }
}

/// Whether `next` composes with the character before it under NFKC. Arabic harakat never do
/// (they are dropped anyway); the combining madda and hamza (U+0653–U+0655) do (و + ٔ = ؤ).
#[inline]
fn composes_with_previous(next: char) -> bool {
    match next {
        _ if next.is_ascii() => false,
        '\u{0653}'..='\u{0655}' => true,
        '\u{0600}'..='\u{06FF}' => false,
        _ => unicode_normalization::char::is_combining_mark(next),
    }
}

/// Whether the two UTF-8 bytes of a character of U+0600–U+067F are an Arabic letter that
/// folding leaves as it is (all but the alef forms, alef maqsura and ta marbuta).
#[inline]
fn is_plain_arabic_letter_utf8(lead: u8, second: u8) -> bool {
    // D8 A1–BF is U+0621–U+063F, D9 81–8A is U+0641–U+064A; آ أ إ ة ى fold to other letters.
    matches!(
        (lead, second),
        (0xD8, 0xA1 | 0xA4 | 0xA6..=0xA8 | 0xAA..=0xBF) | (0xD9, 0x81..=0x88 | 0x8A)
    )
}

/// A character NFKC leaves as it is when it stands alone.
fn is_nfkc_stable(c: char) -> bool {
    unicode_normalization::is_nfkc_quick(std::iter::once(c))
        == unicode_normalization::IsNormalized::Yes
}

/// Folds one character that NFKC has already been applied to.
fn fold_normalized<S: FoldSink>(c: char, origin: usize, sink: &mut S) {
    if is_arabic_diacritic(c) || is_tatweel(c) || is_invisible_noise(c) {
        return;
    }
    let c = fold_digit(fold_arabic_letter(c));
    if c.is_ascii() {
        sink.push(c.to_ascii_lowercase(), origin);
    } else if ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{2000}'..='\u{206F}').contains(&c) {
        // Arabic script and punctuation have no case.
        sink.push(c, origin);
    } else {
        for lower in c.to_lowercase() {
            sink.push(lower, origin);
        }
    }
}

/// Folds one character that stands alone (nothing after it composes with it).
#[inline]
fn fold_char<S: FoldSink>(c: char, origin: usize, sink: &mut S) {
    match c {
        // Arabic letters (not tatweel, U+0640), the bulk of Arabic text.
        '\u{0621}'..='\u{063F}' | '\u{0641}'..='\u{064A}' => {
            sink.push(fold_arabic_letter(c), origin)
        }
        // The rest of the Arabic block (bar U+0675–U+0678) and the usual dashes and quotation
        // marks are NFKC-stable: no table lookup needed.
        '\u{0600}'..='\u{0674}'
        | '\u{0679}'..='\u{06FF}'
        | '\u{2013}'..='\u{2014}'
        | '\u{2018}'..='\u{201D}' => fold_normalized(c, origin, sink),
        _ if is_nfkc_stable(c) => fold_normalized(c, origin, sink),
        _ => {
            let mut buffer = [0u8; 4];
            for n in c.encode_utf8(&mut buffer).nfkc() {
                fold_normalized(n, origin, sink);
            }
        }
    }
}

/// NFKC then folding, in one pass over the bytes. What folds to itself (lower-case ASCII,
/// plain Arabic letters: most of any news text) is handed on in runs, as written; upper-case
/// ASCII is lower-cased, and other characters folded one at a time, directly when NFKC cannot
/// change them (it is many times slower). Only a character followed by marks that compose with
/// it goes through NFKC, together with them, all its output pointing back to the character.
fn fold_into<S: FoldSink>(text: &str, sink: &mut S) {
    let bytes = text.as_bytes();
    let mut verbatim_from = 0;
    let mut at = 0;
    // Whether the character starting at `at` is followed by one that composes with it.
    let composes_next = |after: usize| match bytes.get(after..) {
        Some([b, ..]) if b.is_ascii() => false,
        Some([0xD9, 0x93..=0x95, ..]) => true,
        Some([0xD8..=0xDB, ..]) => false,
        Some(rest) if !rest.is_empty() => text[after..]
            .chars()
            .next()
            .is_some_and(composes_with_previous),
        _ => false,
    };
    while at < bytes.len() {
        let b = bytes[at];
        let width = match b {
            0x00..=0x7F => 1,
            0xD8 | 0xD9 => 2,
            _ => text[at..].chars().next().map_or(1, char::len_utf8),
        };
        let verbatim = match b {
            b'A'..=b'Z' => false,
            0x00..=0x7F => sink.keeps(b),
            0xD8 | 0xD9 => bytes
                .get(at + 1)
                .is_some_and(|&second| is_plain_arabic_letter_utf8(b, second)),
            _ => false,
        };
        if verbatim && !composes_next(at + width) {
            at += width;
            continue;
        }
        if at > verbatim_from {
            sink.push_verbatim(&text[verbatim_from..at], verbatim_from);
        }
        if composes_next(at + width) {
            at = fold_cluster(text, at, sink);
        } else {
            match b {
                b'A'..=b'Z' => sink.push(char::from(b.to_ascii_lowercase()), at),
                // An ASCII character the sink drops.
                0x00..=0x7F => {}
                _ => {
                    if let Some(c) = text[at..].chars().next() {
                        fold_char(c, at, sink);
                    }
                }
            }
            at += width;
        }
        verbatim_from = at;
    }
    if bytes.len() > verbatim_from {
        sink.push_verbatim(&text[verbatim_from..], verbatim_from);
    }
}

/// Folds the character at `at` with the marks after it that compose with it, through NFKC,
/// all of its output pointing back to the character; returns where the cluster ends.
fn fold_cluster<S: FoldSink>(text: &str, at: usize, sink: &mut S) -> usize {
    let mut chars = text[at..].chars();
    let mut end = at + chars.next().map_or(0, char::len_utf8);
    for mark in chars {
        if !composes_with_previous(mark) {
            break;
        }
        end += mark.len_utf8();
    }
    for n in text[at..end].nfkc() {
        fold_normalized(n, at, sink);
    }
    end
}

/// `c.is_alphanumeric()`, answered without Unicode's tables for ASCII and the Arabic letters
/// and digits, which are nearly all of the text Khabar splits into words (the tables' lookup
/// was a fifth of the time of the extractors that split text).
#[inline]
pub fn is_alphanumeric(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\x7f' => false,
        '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' | '\u{0660}'..='\u{0669}' => true,
        other => other.is_alphanumeric(),
    }
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
    fn origins_point_back_and_dropped_chars_go() {
        let text = "تنظيم \"داعش\" Café ٢٠١٩ ﻻ";
        let (folded, origins) = normalize_with_origins(text, |c| c == '"');
        assert_eq!(folded, "تنظيم داعش café 2019 لا");
        let span = |needle: &str| {
            let at = folded.find(needle).unwrap_or(0);
            let (start, end) = (origins.start(at), origins.end(at + needle.len()));
            start.zip(end).map(|(s, e)| &text[s..e])
        };
        assert_eq!(span("داعش"), Some("داعش"));
        assert_eq!(span("café"), Some("Café"));
        assert_eq!(span("é"), Some("é"));
        assert_eq!(span("2019"), Some("٢٠١٩"));
        assert_eq!(span("لا"), Some("ﻻ"));
        assert_eq!(span("تنظيم داعش"), Some("تنظيم \"داعش"));
        // Every character of the search form maps to whole characters of the text.
        for text in ["ab داعش", "x قوات سوريا", "تنظيم \"داعش\"", "مُحَمَّدٌ ـــ Ǆ ﬁ"]
        {
            let (folded, origins) = normalize_with_origins(text, |c| c == '"');
            for (at, c) in folded.char_indices() {
                let start = origins.start(at).unwrap_or(usize::MAX);
                let end = origins.end(at + c.len_utf8()).unwrap_or(usize::MAX);
                assert!(
                    start < end && text.is_char_boundary(start) && text.is_char_boundary(end),
                    "{text:?}: {c:?} at {at} -> {start}..{end}"
                );
            }
        }
    }

    /// An Arabic letter that folding leaves as it is (all but the alef forms, alef maqsura and ta
    /// marbuta).
    fn is_plain_arabic_letter(c: char) -> bool {
        matches!(c, '\u{0621}'..='\u{063F}' | '\u{0641}'..='\u{064A}')
            && !matches!(c, 'أ' | 'إ' | 'آ' | 'ى' | 'ة')
    }

    #[test]
    fn every_mapping_points_at_whole_characters_of_any_text() {
        const PIECES: &[&str] = &[
            "a", "Z", " ", "\"", "'", "إ", "ة", "ى", "ـ", "\u{064B}", "\u{0654}", "و", "ﻻ", "ﬁ",
            "Ǆ", "\u{0301}", "٢", "۳", "ک", "\u{200F}", "\u{00A0}", "“", "𝄞", "İ", "،", "قسد",
        ];
        let mut rng = fastrand::Rng::with_seed(0x2545_F491_4F6C_DD1D);
        for _ in 0..2_000 {
            let length = rng.usize(..24);
            let text: String = (0..length)
                .map(|_| PIECES[rng.usize(..PIECES.len())])
                .collect();
            let (folded, origins) = normalize_with_origins(&text, |c| c == '"');
            assert_eq!(
                folded,
                normalize_for_search(&text).replace('"', ""),
                "{text:?}"
            );
            for (at, c) in folded.char_indices() {
                let start = origins.start(at).unwrap_or(usize::MAX);
                let end = origins.end(at + c.len_utf8()).unwrap_or(usize::MAX);
                assert!(
                    start < end
                        && end <= text.len()
                        && text.is_char_boundary(start)
                        && text.is_char_boundary(end),
                    "{text:?}: {c:?} at {at} -> {start}..{end}"
                );
            }
            let (search, offsets) = normalize_with_offsets(&text);
            assert_eq!(search.chars().count(), offsets.len(), "{text:?}");
        }
    }

    #[test]
    fn plain_arabic_letters_by_bytes_and_by_char_agree() {
        for code in 0x0600..=0x067F_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let mut bytes = [0u8; 4];
            c.encode_utf8(&mut bytes);
            assert_eq!(
                is_plain_arabic_letter_utf8(bytes[0], bytes[1]),
                is_plain_arabic_letter(c),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn clean_text_keeps_paragraphs_and_removes_noise() {
        let text = "  first\u{200F}  line\n continues \n\n\n\nsecond\u{00A0}para  ";
        assert_eq!(
            clean_text(text),
            "first line continues\n\nsecond\u{00A0}para"
        );
    }

    #[test]
    fn fast_alphanumeric_agrees_with_unicode() {
        for code in 0..=0x2FFFFu32 {
            if let Some(c) = char::from_u32(code) {
                assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{code:#x}");
            }
        }
    }
}
