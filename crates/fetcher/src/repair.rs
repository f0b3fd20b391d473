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

/// `<rss>` with no version, or one feed parsers do not know (0.93, 0.94, 2.01) → 2.0.
fn fix_rss_version(text: &str) -> Option<String> {
    let start = text.find("<rss")?;
    let end = start + text[start..].find('>')?;
    let tag = &text[start..end];
    let version = tag.find("version=").map(|at| {
        let value = &tag[at + 8..];
        let quote = value.chars().next().unwrap_or('"');
        value[1..].split(quote).next().unwrap_or("").to_string()
    });
    match version.as_deref() {
        Some("2.0") | Some("0.91") | Some("0.92") => None,
        Some(v) => Some(format!(
            "{}{}",
            &text[..start],
            text[start..]
                .replacen(&format!("version=\"{v}\""), "version=\"2.0\"", 1)
                .replacen(&format!("version='{v}'"), "version=\"2.0\"", 1)
        )),
        None => Some(format!(
            "{}<rss version=\"2.0\"{}",
            &text[..start],
            &text[start + 4..]
        )),
    }
}

/// Atom 0.3: the old namespace and element names → Atom 1.0.
fn fix_atom_03(text: &str) -> Option<String> {
    if !text.contains("http://purl.org/atom/ns#") {
        return None;
    }
    let mut out = text.replace("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom");
    for (old, new) in [
        ("issued", "published"),
        ("modified", "updated"),
        ("tagline", "subtitle"),
        ("copyright", "rights"),
    ] {
        out = out
            .replace(&format!("<{old}>"), &format!("<{new}>"))
            .replace(&format!("</{old}>"), &format!("</{new}>"));
        out = out.replace(&format!("<{old} "), &format!("<{new} "));
    }
    Some(out)
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
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<String> = Vec::new();
    let mut good_end = 0usize;
    let mut stack_at_good: Vec<String> = Vec::new();
    loop {
        // Only the end of an element is a safe place to cut: an item whose end was lost is
        // dropped whole rather than kept half-read.
        let closed_one = match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                false
            }
            Ok(Event::End(_)) => {
                stack.pop();
                true
            }
            Ok(Event::Empty(_)) => true,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => false,
        };
        let position = reader.buffer_position() as usize;
        if closed_one && position <= text.len() && text.is_char_boundary(position) {
            good_end = position;
            stack_at_good = stack.clone();
        }
    }
    if stack_at_good.is_empty() {
        return None;
    }
    let mut out = text[..good_end].to_string();
    for name in stack_at_good.iter().rev() {
        out.push_str(&format!("</{name}>"));
    }
    Some(out)
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
    fn truncated_documents_are_closed() {
        let cut = "<rss version=\"2.0\"><channel><title>T</title><item><title>A</title></item><item><title>B</ti";
        let closed = close_truncated(cut).unwrap_or_default();
        assert!(closed.ends_with("</item></channel></rss>"), "{closed}");
        assert!(closed.contains("<title>A</title></item>"));
        assert_eq!(close_truncated("<a><b/></a>"), None);
    }
}
