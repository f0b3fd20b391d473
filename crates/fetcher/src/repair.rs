//! Repairs for feeds that strict XML parsing rejects. Each repair is small, names itself, and
//! leaves CDATA sections alone (their content is literal).

/// The repaired text and the names of the repairs that changed something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub text: String,
    pub applied: Vec<&'static str>,
}

/// The five entities XML knows; every other named entity is HTML's.
const XML_ENTITIES: [&str; 5] = ["amp", "lt", "gt", "quot", "apos"];

/// Applies `f` to the parts of `text` outside CDATA sections and comments.
fn outside_cdata(text: &str, mut f: impl FnMut(&str, &mut String)) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    loop {
        let next = [rest.find("<![CDATA["), rest.find("<!--")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            f(rest, &mut out);
            return out;
        };
        f(&rest[..start], &mut out);
        let closer = if rest[start..].starts_with("<![CDATA[") {
            "]]>"
        } else {
            "-->"
        };
        match rest[start..].find(closer) {
            Some(end) => {
                let end = start + end + closer.len();
                out.push_str(&rest[start..end]);
                rest = &rest[end..];
            }
            None => {
                // A section cut off by truncation: keep it; closing it is another repair.
                out.push_str(&rest[start..]);
                return out;
            }
        }
    }
}

/// C0 control characters other than tab, newline and carriage return are not XML.
fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r') || (*c as u32) >= 0x80)
        .collect()
}

/// The entities whose HTML 4 meaning differs from HTML5's. Feeds were written against the
/// HTML 4 table (RSS 0.91's DTD takes its entities from it, and feed readers decode with it):
/// `&lang;` is U+2329 there, U+27E8 in HTML5.
pub(crate) fn html4_differs(name: &str) -> Option<u32> {
    match name {
        "lang" => Some(0x2329),
        "rang" => Some(0x232A),
        _ => None,
    }
}

/// HTML named entities → numeric references; a bare `&` → `&amp;`.
fn fix_entities(part: &str, out: &mut String) {
    let mut rest = part;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let name_len = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
            .map(char::len_utf8)
            .sum::<usize>();
        let name = &after[..name_len];
        let terminated = after[name_len..].starts_with(';');
        if terminated && !name.is_empty() {
            if name.starts_with('#') || XML_ENTITIES.contains(&name) {
                out.push('&');
                out.push_str(name);
                out.push(';');
            } else if let Some(code) = html4_differs(name) {
                out.push_str(&format!("&#{code};"));
            } else {
                let reference = format!("&{name};");
                let decoded = html_escape::decode_html_entities(&reference);
                if decoded != reference {
                    for c in decoded.chars() {
                        out.push_str(&format!("&#{};", c as u32));
                    }
                } else {
                    out.push_str("&amp;");
                    out.push_str(name);
                    out.push(';');
                }
            }
            rest = &after[name_len + 1..];
        } else {
            out.push_str("&amp;");
            rest = after;
        }
    }
    out.push_str(rest);
}

/// `<br>`, `<hr>`, `<img …>`, `<wbr>` left open inside unescaped HTML content.
fn close_void_tags(part: &str, out: &mut String) {
    let lower = part.to_ascii_lowercase();
    let mut last = 0;
    let mut search = 0;
    while let Some(pos) = lower[search..].find('<') {
        let start = search + pos;
        let tag_name: String = lower[start + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        search = start + 1;
        if !matches!(tag_name.as_str(), "br" | "hr" | "img" | "wbr") {
            continue;
        }
        let Some(end_rel) = lower[start..].find('>') else {
            break;
        };
        let end = start + end_rel;
        if lower[..end].ends_with('/') {
            continue;
        }
        out.push_str(&part[last..end]);
        out.push_str("/>");
        last = end + 1;
        search = end + 1;
    }
    out.push_str(&part[last..]);
}

/// `<rss>` with no version, or one feed parsers do not know (0.93, 0.94, 2.01, an empty or
/// unquoted one) → 2.0. The root element is found by the XML reader (so an `<rss` inside a
/// comment, CDATA or the DOCTYPE is never touched) and its start tag rewritten from its
/// parsed attributes, never by slicing at offsets the document chose.
fn fix_rss_version(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (start, end, tag) = loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        match reader.read_event() {
            Ok(Event::Start(tag)) | Ok(Event::Empty(tag)) => {
                let after = usize::try_from(reader.buffer_position()).ok()?;
                break (before, after, tag);
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => continue,
        }
    };
    if tag.name().as_ref() != b"rss" {
        return None;
    }
    let original = text.get(start..end)?;
    let mut version = None;
    let mut others = String::new();
    for attribute in tag.html_attributes().with_checks(false) {
        let Ok(attribute) = attribute else {
            // What follows an attribute the reader cannot make sense of is dropped: the
            // version and the namespaces read so far are what a parser needs.
            version = Some(String::new());
            break;
        };
        let value = String::from_utf8_lossy(&attribute.value).into_owned();
        if attribute.key.as_ref() == b"version" {
            version = Some(value);
        } else {
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            others.push(' ');
            others.push_str(&key);
            others.push_str("=\"");
            others.push_str(&value.replace('"', "&quot;"));
            others.push('"');
        }
    }
    if matches!(
        version.as_deref().map(str::trim),
        Some("2.0" | "0.91" | "0.92")
    ) {
        return None;
    }
    let closing = if original.ends_with("/>") { "/>" } else { ">" };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(text.get(..start)?);
    out.push_str("<rss version=\"2.0\"");
    out.push_str(&others);
    out.push_str(closing);
    out.push_str(text.get(end..)?);
    Some(out)
}

/// Atom 0.3: the old namespace and element names → Atom 1.0.
fn fix_atom_03(text: &str) -> Option<String> {
    if !text.contains("http://purl.org/atom/ns#") {
        return None;
    }
    // Markup only: the text of a CDATA section or a comment is left as written.
    Some(outside_cdata(text, |part, out| {
        let mut part = part.replace("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom");
        for (old, new) in [
            ("issued", "published"),
            ("modified", "updated"),
            ("tagline", "subtitle"),
            ("copyright", "rights"),
        ] {
            part = part
                .replace(&format!("<{old}>"), &format!("<{new}>"))
                .replace(&format!("</{old}>"), &format!("</{new}>"))
                .replace(&format!("<{old} "), &format!("<{new} "));
        }
        out.push_str(&part);
    }))
}

/// Every textual repair, in order.
pub fn repair_markup(text: &str) -> Repaired {
    let mut applied = Vec::new();
    let mut current = text.to_string();
    let stripped = strip_controls(&current);
    if stripped != current {
        applied.push("control characters removed");
        current = stripped;
    }
    let entities = outside_cdata(&current, fix_entities);
    if entities != current {
        applied.push("entities and stray ampersands escaped");
        current = entities;
    }
    let voids = outside_cdata(&current, close_void_tags);
    if voids != current {
        applied.push("unclosed void tags closed");
        current = voids;
    }
    if let Some(fixed) = fix_rss_version(&current) {
        applied.push("RSS version set to 2.0");
        current = fixed;
    }
    if let Some(fixed) = fix_atom_03(&current) {
        applied.push("Atom 0.3 upgraded to 1.0");
        current = fixed;
    }
    Repaired {
        text: current,
        applied,
    }
}

/// A document cut off mid-way: keeps everything up to the last complete element and closes
/// the elements still open. `None` when it was not truncated.
pub fn close_truncated(text: &str) -> Option<String> {
    let good_end = last_complete_element_end(text)?;
    // The elements open at that point, read again from the kept prefix: one more linear
    // pass instead of a copy of the open-element stack at every element end.
    let kept = text.get(..good_end)?;
    let open = open_elements(kept)?;
    if open.is_empty() {
        return None;
    }
    let mut out = kept.to_string();
    for name in open.iter().rev() {
        out.push_str(&format!("</{name}>"));
    }
    Some(out)
}

/// Nesting deeper than this is not a feed: it is refused before parsing, and the truncation
/// repair gives up on it.
pub const MAX_DEPTH: usize = 4096;

/// Where the last complete element of `text` ends: only the end of an element is a safe
/// place to cut (an item whose end was lost is dropped whole rather than kept half-read).
fn last_complete_element_end(text: &str) -> Option<usize> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    let mut good_end = None;
    let mut depth_at_good = 0usize;
    loop {
        let closed_one = match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
                false
            }
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                true
            }
            Ok(Event::Empty(_)) => true,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => false,
        };
        let position = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        if closed_one && position <= text.len() && text.is_char_boundary(position) {
            good_end = Some(position);
            depth_at_good = depth;
        }
    }
    // Everything closed at the last good point: the document was whole, not truncated.
    good_end.filter(|_| depth_at_good > 0)
}

/// How deeply `text`'s elements nest, up to `limit` (reading stops there): a cheap check
/// before a parser that builds a tree (or counts depth in 16 bits) sees the document.
pub fn nesting_exceeds(text: &str, limit: usize) -> bool {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// The names of the elements still open at the end of `text`, outermost first.
fn open_elements(text: &str) -> Option<Vec<String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<String> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                if stack.len() > MAX_DEPTH {
                    return None;
                }
            }
            Ok(Event::End(_)) => {
                stack.pop();
            }
            Ok(Event::Eof) | Err(_) => return Some(stack),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_ampersands() {
        let r = repair_markup("<t>Tom &amp; Jerry & co &mdash; caf&eacute; &nbsp;&#8220;q&#x201D; &bogus; <![CDATA[a & b &mdash;]]></t>");
        assert_eq!(
            r.text,
            "<t>Tom &amp; Jerry &amp; co &#8212; caf&#233; &#160;&#8220;q&#x201D; &amp;bogus; <![CDATA[a & b &mdash;]]></t>"
        );
        assert_eq!(r.applied, vec!["entities and stray ampersands escaped"]);
        // The HTML 4 table, which feeds were written against: &lang; is U+2329.
        let r = repair_markup("<t>&lang;x&rang; &hellip;</t>");
        assert_eq!(r.text, "<t>&#9001;x&#9002; &#8230;</t>");
    }

    #[test]
    fn controls_voids_versions_atom() {
        let r = repair_markup("<rss><d>a\u{1}b<br>c<br/>d<img src=\"x\"></d></rss>");
        assert_eq!(
            r.text,
            "<rss version=\"2.0\"><d>ab<br/>c<br/>d<img src=\"x\"/></d></rss>"
        );
        assert_eq!(r.applied.len(), 3);
        assert!(repair_markup("<rss version=\"0.94\">")
            .text
            .contains("version=\"2.0\""));
        assert!(repair_markup("<rss version=\"2.01\">")
            .text
            .contains("version=\"2.0\""));
        assert!(repair_markup("<rss version=\"0.91\">").applied.is_empty());
        let atom = repair_markup("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><issued>2019</issued><modified>2019</modified></entry></feed>");
        assert!(
            atom.text.contains("http://www.w3.org/2005/Atom")
                && atom.text.contains("<published>2019</published>")
                && atom.text.contains("<updated>")
        );
    }

    #[test]
    fn odd_rss_versions_never_panic_and_become_2_0() {
        for (tag, repaired_to_2_0) in [
            ("<rss version=>", true),
            ("<rss version=\"\">", true),
            ("<rss version=é>", true),
            ("<rss version='0.93'>", true),
            (
                "<rss version=2.01 xmlns:dc=\"http://purl.org/dc/elements/1.1/\">",
                true,
            ),
            ("<rss version=\"1.0\"/>", true),
            ("<rss version=\"2.0\" version=\"9\">", true),
            // Cut off inside the tag: left to the truncation repair and the parser.
            ("<rss version=\"", false),
            ("<rss", false),
        ] {
            let doc = format!("<?xml version=\"1.0\"?><!-- <rss version=x> -->{tag}<channel><title>T</title></channel></rss>");
            let repaired = repair_markup(&doc);
            assert_eq!(
                repaired.applied.contains(&"RSS version set to 2.0"),
                repaired_to_2_0,
                "{tag}: {repaired:?}"
            );
            if repaired_to_2_0 {
                assert!(
                    repaired.text.contains("--><rss version=\"2.0\""),
                    "{tag}: {}",
                    repaired.text
                );
                assert!(
                    repaired.text.contains("<!-- <rss version=x> -->"),
                    "comment kept"
                );
            }
        }
        let kept = repair_markup(
            "<rss version=2.01 xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel/></rss>",
        );
        assert!(
            kept.text
                .starts_with("<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"),
            "{}",
            kept.text
        );
    }

    #[test]
    fn atom_0_3_names_inside_cdata_are_text() {
        let atom = repair_markup("<feed xmlns=\"http://purl.org/atom/ns#\"><entry><issued>2019</issued><summary><![CDATA[<issued> stays]]></summary></entry></feed>");
        assert!(atom.text.contains("<published>2019</published>"));
        assert!(
            atom.text.contains("<![CDATA[<issued> stays]]>"),
            "{}",
            atom.text
        );
    }

    #[test]
    fn truncated_documents_are_closed() {
        let cut = "<rss version=\"2.0\"><channel><title>T</title><item><title>A</title></item><item><title>B</ti";
        let closed = close_truncated(cut).unwrap_or_default();
        assert!(closed.ends_with("</item></channel></rss>"), "{closed}");
        assert!(closed.contains("<title>A</title></item>"));
        assert_eq!(close_truncated("<a><b/></a>"), None);
    }

    #[test]
    fn deep_truncated_documents_take_linear_time() {
        let depth = 3000;
        let cut = format!("<rss><channel>{}<x/>", "<div>".repeat(depth));
        let started = std::time::Instant::now();
        let closed = close_truncated(&cut).unwrap_or_default();
        assert!(
            closed.ends_with("</div></channel></rss>"),
            "{}",
            &closed[closed.len() - 40..]
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let too_deep = format!("<rss>{}<x/>", "<div>".repeat(MAX_DEPTH + 10));
        assert_eq!(close_truncated(&too_deep), None);
    }
}
