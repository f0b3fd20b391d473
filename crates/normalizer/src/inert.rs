//! Removing what a page sends but never shows, before the HTML parser sees it: scripts (all but
//! JSON-LD, which metadata reads), styles, SVG drawings, `<noscript>`, `<template>` and
//! comments. They are half the bytes of a typical news page, and the parser's time grows with
//! bytes; extraction skips all of them anyway, so the result is the same, sooner.

/// Elements whose whole content goes, checked in this order.
const INERT: [&str; 5] = ["script", "style", "svg", "noscript", "template"];

fn starts_with_ignore_case(haystack: &[u8], at: usize, needle: &str) -> bool {
    haystack.len() >= at + needle.len()
        && haystack[at..at + needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

/// Where the `needle` (ASCII, case-insensitive) first occurs at or after `from`.
fn find_ignore_case(haystack: &[u8], from: usize, needle: &str) -> Option<usize> {
    let first = needle.as_bytes().first()?.to_ascii_lowercase();
    (from..haystack.len()).find(|&i| {
        haystack[i].to_ascii_lowercase() == first && starts_with_ignore_case(haystack, i, needle)
    })
}

/// The page without its inert parts. Markup it cannot make sense of is left as it is.
pub fn strip_inert(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = html[at..].find('<') {
        let open = at + offset;
        at = open + 1;
        let end = if starts_with_ignore_case(bytes, open, "<!--") {
            html[open + 4..].find("-->").map(|e| open + 4 + e + 3)
        } else {
            INERT.iter().find_map(|tag| {
                let after_name = open + 1 + tag.len();
                let named = starts_with_ignore_case(bytes, open + 1, tag)
                    && bytes
                        .get(after_name)
                        .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/');
                if !named {
                    return None;
                }
                let open_end = html[open..].find('>').map(|e| open + e)?;
                if *tag == "script"
                    && find_ignore_case(&bytes[..open_end], open, "ld+json").is_some()
                {
                    return None;
                }
                let close = find_ignore_case(bytes, open_end, &format!("</{tag}"))?;
                html[close..].find('>').map(|e| close + e + 1)
            })
        };
        if let Some(end) = end {
            out.push_str(&html[copied..open]);
            copied = end;
            at = end;
        }
    }
    out.push_str(&html[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::strip_inert;

    #[test]
    fn strips_what_is_never_shown_and_keeps_json_ld() {
        let html = "<html><head><STYLE>p{}</STYLE><script>var a = '<p>no</p>';</script>\
            <script type=\"application/ld+json\">{\"headline\":\"kept\"}</script></head>\
            <body><!-- a comment --><p>Text <b>bold</b></p><svg viewBox=\"0 0 1 1\"><path d=\"M0\"/></svg>\
            <noscript><img src=x></noscript><p>after</p><scripted>x</scripted></body></html>";
        assert_eq!(
            strip_inert(html),
            "<html><head><script type=\"application/ld+json\">{\"headline\":\"kept\"}</script></head>\
            <body><p>Text <b>bold</b></p><p>after</p><scripted>x</scripted></body></html>"
        );
        // An unterminated script is left for the parser to deal with.
        assert_eq!(strip_inert("<p>a</p><script>x"), "<p>a</p><script>x");
    }
}
