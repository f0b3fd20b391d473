//! A forgiving HTML tokenizer for reading pages, not rendering them.
//!
//! It yields start tags (with lower-cased names and attributes, values decoded), end tags and
//! text (character references decoded), and passes over comments, doctypes and processing
//! instructions. The content of raw-text elements (`<script>`, `<style>`, `<textarea>`,
//! `<title>`…) is taken up to the matching end tag without looking for markup inside, as
//! browsers do. Scripts other than JSON-LD, styles, SVG drawings, `<noscript>` and
//! `<template>` content are skipped without being tokenized at all: nothing that reads a page
//! for its text or metadata needs them, and they are half the bytes of a typical news page.
//!
//! Character references are decoded by `html-escape`; this module only finds where tokens
//! begin and end. It never fails: markup it cannot make sense of is read as text.

use std::borrow::Cow;

use memchr::memchr;

/// One token of the page.
#[derive(Debug, PartialEq)]
pub enum Token<'a> {
    Start {
        name: Cow<'a, str>,
        attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
        self_closing: bool,
    },
    End {
        name: Cow<'a, str>,
    },
    Text(Cow<'a, str>),
}

/// How a raw-text element's content is treated.
#[derive(Clone, Copy, PartialEq)]
enum RawContent {
    /// Kept as written (JSON-LD).
    Verbatim,
    /// Kept with character references decoded (`<title>`, `<textarea>`).
    Decoded,
    /// Passed over.
    Skipped,
}

fn raw_content(name: &str, attrs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Option<RawContent> {
    match name {
        "script" => {
            let json_ld = attrs.iter().any(|(key, value)| {
                key == "type" && value.to_ascii_lowercase().contains("ld+json")
            });
            Some(if json_ld {
                RawContent::Verbatim
            } else {
                RawContent::Skipped
            })
        }
        "title" | "textarea" => Some(RawContent::Decoded),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" | "svg" | "math"
        | "template" => Some(RawContent::Skipped),
        _ => None,
    }
}

pub struct Tokenizer<'a> {
    html: &'a str,
    at: usize,
    /// Content of a raw-text element to hand out before reading on.
    pending: Option<Token<'a>>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(html: &'a str) -> Tokenizer<'a> {
        Tokenizer {
            html,
            at: 0,
            pending: None,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.html.as_bytes()
    }

    /// Where `</name` (any case, followed by a delimiter) next starts at or after `from`.
    fn find_end_tag(&self, from: usize, name: &str) -> Option<usize> {
        let bytes = self.bytes();
        let haystack = bytes.get(from..)?;
        // Scripts hold many `<` (comparisons, markup in strings) but few `</`.
        for offset in memchr::memmem::find_iter(haystack, b"</") {
            let open = from + offset;
            let name_start = open + 2;
            let name_end = name_start + name.len();
            if bytes.len() >= name_end
                && bytes[name_start..name_end].eq_ignore_ascii_case(name.as_bytes())
                && bytes
                    .get(name_end)
                    .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
            {
                return Some(open);
            }
        }
        None
    }

    /// Reads a raw-text element's content after its start tag, leaving `at` on its end tag.
    fn raw_text(&mut self, name: &str, content: RawContent) -> Option<Token<'a>> {
        let start = self.at;
        let end = self.find_end_tag(start, name).unwrap_or(self.html.len());
        self.at = end;
        let text = self.html.get(start..end)?;
        match content {
            RawContent::Skipped => None,
            RawContent::Verbatim if !text.is_empty() => Some(Token::Text(Cow::Borrowed(text))),
            RawContent::Decoded if !text.is_empty() => Some(Token::Text(decode_text(text))),
            _ => None,
        }
    }

    /// Passes over a comment, doctype or processing instruction starting at `open`.
    fn skip_markup_declaration(&mut self, open: usize) {
        let rest = &self.html[open..];
        let end = if let Some(comment) = rest.strip_prefix("<!--") {
            // `<!-->` and `<!--->` end at once; otherwise at the first `-->`.
            if comment.starts_with('>') {
                Some(5)
            } else if comment.starts_with("->") {
                Some(6)
            } else {
                comment.find("-->").map(|e| 4 + e + 3)
            }
        } else {
            memchr(b'>', rest.as_bytes()).map(|e| e + 1)
        };
        self.at = end.map_or(self.html.len(), |e| open + e);
    }

    /// Reads a start tag whose name begins at `open + 1`.
    fn start_tag(&mut self, open: usize) -> Token<'a> {
        let bytes = self.bytes();
        let mut at = open + 1;
        let name_start = at;
        while at < bytes.len() && !is_tag_name_end(bytes[at]) {
            at += 1;
        }
        let name = lowercase(&self.html[name_start..at]);
        let mut attrs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        let mut self_closing = false;
        loop {
            while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
                self_closing = bytes[at] == b'/';
                at += 1;
            }
            if at >= bytes.len() {
                break;
            }
            if bytes[at] == b'>' {
                at += 1;
                break;
            }
            self_closing = false;
            let key_start = at;
            // The first character of a name may be `=` (a spec oddity); later ones may not.
            at += 1;
            while at < bytes.len() && !is_attr_name_end(bytes[at]) {
                at += 1;
            }
            let key = &self.html[key_start..at];
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let mut value = "";
            if bytes.get(at) == Some(&b'=') {
                at += 1;
                while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                match bytes.get(at) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let value_start = at + 1;
                        let end = memchr(quote, &bytes[value_start..])
                            .map_or(bytes.len(), |e| value_start + e);
                        value = &self.html[value_start..end];
                        at = (end + 1).min(bytes.len());
                    }
                    _ => {
                        let value_start = at;
                        while at < bytes.len()
                            && !bytes[at].is_ascii_whitespace()
                            && bytes[at] != b'>'
                        {
                            at += 1;
                        }
                        value = &self.html[value_start..at];
                    }
                }
            }
            let key = lowercase(key);
            // The first of two same-named attributes wins, as in browsers.
            if !attrs.iter().any(|(k, _)| *k == key) {
                attrs.push((key, decode_text(value)));
            }
        }
        self.at = at;
        if let Some(content) = raw_content(&name, &attrs) {
            if !self_closing || !matches!(name.as_ref(), "svg" | "math") {
                self.pending = self.raw_text(&name, content);
            }
        }
        Token::Start {
            name,
            attrs,
            self_closing,
        }
    }

    /// Reads an end tag whose name begins at `open + 2`.
    fn end_tag(&mut self, open: usize) -> Token<'a> {
        let bytes = self.bytes();
        let name_start = open + 2;
        let mut at = name_start;
        while at < bytes.len() && !is_tag_name_end(bytes[at]) {
            at += 1;
        }
        let name = lowercase(&self.html[name_start..at]);
        // Attributes on an end tag mean nothing; quotes still hide a `>` inside them.
        let mut quote = None;
        while at < bytes.len() {
            match (quote, bytes[at]) {
                (None, b'>') => break,
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (Some(q), b) if b == q => quote = None,
                _ => {}
            }
            at += 1;
        }
        self.at = (at + 1).min(bytes.len());
        Token::End { name }
    }
}

fn is_tag_name_end(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'/' || b == b'>'
}

fn is_attr_name_end(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'/' || b == b'>' || b == b'='
}

/// Tag and attribute names are matched in lower case; most are written so already.
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn decode_text(text: &str) -> Cow<'_, str> {
    if text.contains('&') {
        html_escape::decode_html_entities(text)
    } else {
        Cow::Borrowed(text)
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(pending) = self.pending.take() {
            return Some(pending);
        }
        let bytes = self.bytes();
        loop {
            let start = self.at;
            if start >= bytes.len() {
                return None;
            }
            // Text runs up to the next `<` that begins markup; a lone `<` is text.
            let mut open = start;
            let markup_at = loop {
                match memchr(b'<', &bytes[open..]) {
                    None => break None,
                    Some(offset) => {
                        open += offset;
                        if starts_markup(bytes, open) {
                            break Some(open);
                        }
                        open += 1;
                    }
                }
            };
            let Some(open) = markup_at else {
                self.at = bytes.len();
                return Some(Token::Text(decode_text(&self.html[start..])));
            };
            if open > start {
                self.at = open;
                return Some(Token::Text(decode_text(&self.html[start..open])));
            }
            return match bytes.get(open + 1) {
                Some(b'!' | b'?') => {
                    self.skip_markup_declaration(open);
                    continue;
                }
                Some(b'/') => Some(self.end_tag(open)),
                _ => Some(self.start_tag(open)),
            };
        }
    }
}

/// Whether the `<` at `open` begins a tag, comment or declaration.
fn starts_markup(bytes: &[u8], open: usize) -> bool {
    match bytes.get(open + 1) {
        Some(b) if b.is_ascii_alphabetic() => true,
        Some(b'/') => bytes.get(open + 2).is_some_and(|b| b.is_ascii_alphabetic()),
        Some(b'!' | b'?') => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(name: &str, attrs: &[(&str, &str)]) -> Token<'static> {
        Token::Start {
            name: Cow::Owned(name.to_string()),
            attrs: attrs
                .iter()
                .map(|(k, v)| (Cow::Owned(k.to_string()), Cow::Owned(v.to_string())))
                .collect(),
            self_closing: false,
        }
    }

    fn end(name: &str) -> Token<'static> {
        Token::End {
            name: Cow::Owned(name.to_string()),
        }
    }

    fn text(t: &str) -> Token<'static> {
        Token::Text(Cow::Owned(t.to_string()))
    }

    #[test]
    fn tags_attributes_and_references() {
        let tokens: Vec<Token> = Tokenizer::new(
            "<P CLASS=Lead id='x' data-a=\"a > b\" hidden>Tom &amp; Jerry&nbsp;&#1575;</P>",
        )
        .collect();
        assert_eq!(
            tokens,
            vec![
                start(
                    "p",
                    &[
                        ("class", "Lead"),
                        ("id", "x"),
                        ("data-a", "a > b"),
                        ("hidden", "")
                    ]
                ),
                text("Tom & Jerry\u{a0}ا"),
                end("p"),
            ]
        );
    }

    #[test]
    fn comments_doctypes_and_lone_brackets() {
        let tokens: Vec<Token> =
            Tokenizer::new("<!DOCTYPE html><!-- <p>no</p> -->a < b <3 c<br/><?xml x?>d").collect();
        assert_eq!(
            tokens,
            vec![
                text("a < b <3 c"),
                Token::Start {
                    name: "br".into(),
                    attrs: vec![],
                    self_closing: true
                },
                text("d"),
            ]
        );
    }

    #[test]
    fn raw_text_elements() {
        let html = "<script>if (a</b) document.write('<p>')</script>\
            <script type=\"application/ld+json\">{\"a\":\"</p>\"}</script>\
            <title>A &amp; B <i>not a tag</i></title><style>p{}</style><svg><p>x</p></svg>after";
        let tokens: Vec<Token> = Tokenizer::new(html).collect();
        assert_eq!(
            tokens,
            vec![
                start("script", &[]),
                end("script"),
                start("script", &[("type", "application/ld+json")]),
                text("{\"a\":\"</p>\"}"),
                end("script"),
                start("title", &[]),
                text("A & B <i>not a tag</i>"),
                end("title"),
                start("style", &[]),
                end("style"),
                start("svg", &[]),
                end("svg"),
                text("after"),
            ]
        );
    }

    #[test]
    fn truncated_input_never_panics() {
        for html in [
            "<",
            "<a",
            "<a href",
            "<a href=",
            "<a href='x",
            "</",
            "</a",
            "<!--",
            "<!-- x",
            "<script>",
            "<script>x</scr",
            "<p>&",
            "<p>&#",
            "<p>&#x",
            "<a b='>'",
            "</a b='>",
        ] {
            let _: Vec<Token> = Tokenizer::new(html).collect();
        }
    }
}
