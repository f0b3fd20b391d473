//! Turning fetched bytes into UTF-8 text before any parser sees them.
//!
//! Order of trust: a byte-order mark, then the HTTP `charset`, then the document's own
//! declaration (XML prolog or HTML `<meta>`), then the bytes themselves (valid UTF-8, else
//! chardetng's guess). A declaration the bytes contradict (UTF-8 declared, windows-1256
//! served) loses to detection: Arabic sites still do that.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// Decoded text and how its encoding was chosen.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
    /// `bom`, `http`, `declared`, `utf8` or `detected`.
    pub chosen_by: &'static str,
}

/// How far into a document its encoding declaration may sit.
const SNIFF_BYTES: usize = 4096;

fn from_bom(bytes: &[u8]) -> Option<(&'static Encoding, usize)> {
    Encoding::for_bom(bytes)
}

/// UTF-16 without a BOM still starts `<?xml` or `<` with a zero byte beside each ASCII one.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [b'<', 0, b'?', 0, ..] | [b'<', 0, b'r', 0, ..] | [b'<', 0, b'f', 0, ..] => Some(UTF_16LE),
        [0, b'<', 0, b'?', ..] | [0, b'<', 0, b'r', ..] | [0, b'<', 0, b'f', ..] => Some(UTF_16BE),
        _ => None,
    }
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, true)
}

fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// The value after `name=` in `haystack` (quoted or not), case-insensitively.
fn attribute_after(haystack: &str, name: &str) -> Option<String> {
    let lower = haystack.to_ascii_lowercase();
    let at = lower.find(name)? + name.len();
    let rest = haystack[at..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let value: String = match rest.chars().next()? {
        q @ ('"' | '\'') => rest[1..].chars().take_while(|c| *c != q).collect(),
        _ => rest
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '>' | ';' | '/'))
            .collect(),
    };
    (!value.is_empty()).then_some(value)
}

fn xml_declared(head: &str) -> Option<String> {
    let start = head.find("<?xml")?;
    let end = head[start..].find("?>")? + start;
    attribute_after(&head[start..end], "encoding")
}

fn html_declared(head: &str) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("<meta") {
        let start = from + pos;
        let end = lower[start..]
            .find('>')
            .map(|e| start + e)
            .unwrap_or(lower.len());
        let tag = &head[start..end];
        if let Some(charset) = attribute_after(tag, "charset") {
            return Some(charset);
        }
        from = end;
    }
    None
}

/// The encoding a label names: the WHATWG labels browsers know, then the spellings servers
/// and feeds also use for the same encodings (Python's and Java's names: `windows_1256`,
/// `cp1256`, `macroman`, `ms-arab`).
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().to_ascii_lowercase();
    if let Some(encoding) = Encoding::for_label(label.as_bytes()) {
        return Some(encoding);
    }
    let dashed = label.replace('_', "-");
    if let Some(encoding) = Encoding::for_label(dashed.as_bytes()) {
        return Some(encoding);
    }
    let whatwg = match dashed.as_str() {
        "macroman" | "mac-roman" => "macintosh",
        "maccyrillic" | "mac-cyrillic" => "x-mac-cyrillic",
        "ms-ansi" => "windows-1252",
        "ms-ee" => "windows-1250",
        "ms-cyrl" => "windows-1251",
        "ms-greek" => "windows-1253",
        "ms-turk" => "windows-1254",
        "ms-hebr" => "windows-1255",
        "ms-arab" => "windows-1256",
        "winbaltrim" => "windows-1257",
        "utf8" => "utf-8",
        "cp874" => "windows-874",
        other => other.strip_prefix("cp-").unwrap_or(other),
    };
    Encoding::for_label(whatwg.as_bytes())
}

fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    declared: impl Fn(&str) -> Option<String>,
) -> Decoded {
    if let Some((encoding, bom_len)) = from_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            encoding: encoding.name(),
            chosen_by: "bom",
        };
    }
    if let Some(encoding) = sniff_utf16(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(bytes);
        return Decoded {
            text: text.into_owned(),
            encoding: encoding.name(),
            chosen_by: "utf16-sniffed",
        };
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(SNIFF_BYTES)]);
    let candidates = [
        (
            content_type.and_then(charset_param).map(str::to_string),
            "http",
        ),
        (declared(&head), "declared"),
    ];
    for (label, chosen_by) in candidates {
        let Some(encoding) = label.as_deref().and_then(encoding_for_label) else {
            continue;
        };
        // A UTF-16 label on bytes that are not UTF-16 is a lie in the prolog.
        if encoding == UTF_16LE || encoding == UTF_16BE {
            continue;
        }
        // us-ascii, iso-8859-1 and windows-1252 labels (all windows-1252 to a browser) are
        // what servers and CMSs say by default; on bytes a detector reads as another script
        // (windows-1256 Arabic, most often) the label loses.
        if encoding == WINDOWS_1252 && !bytes.is_ascii() {
            let guess = detect(bytes);
            if guess != WINDOWS_1252 && guess != UTF_8 {
                let (text, _) = guess.decode_without_bom_handling(bytes);
                return Decoded {
                    text: text.into_owned(),
                    encoding: guess.name(),
                    chosen_by: "detected",
                };
            }
        }
        let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
        if !had_errors {
            return Decoded {
                text: text.into_owned(),
                encoding: encoding.name(),
                chosen_by,
            };
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded {
            text: text.to_string(),
            encoding: UTF_8.name(),
            chosen_by: "utf8",
        };
    }
    let encoding = detect(bytes);
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: encoding.name(),
        chosen_by: "detected",
    }
}

/// Decodes an XML document (a feed, OPML, a sitemap) and rewrites its prolog to say UTF-8, so
/// the XML parser does not decode it a second time.
pub fn decode_xml(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    let mut decoded = decode(bytes, content_type, xml_declared);
    if let Some(start) = decoded.text.find("<?xml") {
        if let Some(len) = decoded.text[start..].find("?>") {
            let prolog = &decoded.text[start..start + len];
            let lower = prolog.to_ascii_lowercase();
            if let Some(enc_at) = lower.find("encoding") {
                let after = &prolog[enc_at..];
                let quote_start = after.find(['"', '\'']);
                if let Some(q1) = quote_start {
                    let quote = after.as_bytes()[q1] as char;
                    if let Some(q2) = after[q1 + 1..].find(quote) {
                        let from = start + enc_at;
                        let to = start + enc_at + q1 + 1 + q2 + 1;
                        decoded.text.replace_range(from..to, "encoding=\"utf-8\"");
                    }
                }
            }
        }
    }
    decoded
}

/// Decodes an HTML page.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    decode(bytes, content_type, html_declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARABIC: &str = "التحالف الدولي يقصف المنطقة المحاصرة في الباغوز";

    fn windows_1256(text: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_1256.encode(text).0.into_owned()
    }

    #[test]
    fn xml_prolog_windows_1256() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"windows-1256\"?><rss><title>".to_vec();
        bytes.extend(windows_1256(ARABIC));
        bytes.extend(b"</title></rss>");
        let d = decode_xml(&bytes, None);
        assert!(d.text.contains(ARABIC), "{}", d.text);
        assert!(d
            .text
            .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
        assert_eq!(d.chosen_by, "declared");
    }

    #[test]
    fn http_charset_wins_over_nothing() {
        let bytes = windows_1256(ARABIC);
        let d = decode_html(&bytes, Some("text/html; charset=windows-1256"));
        assert_eq!(d.text, ARABIC);
        assert_eq!(d.chosen_by, "http");
    }

    #[test]
    fn utf8_declared_but_windows_1256_served_is_detected() {
        let mut bytes = b"<html><head><meta charset=\"utf-8\"></head><body><p>".to_vec();
        for _ in 0..5 {
            bytes.extend(windows_1256(ARABIC));
            bytes.push(b' ');
        }
        bytes.extend(b"</p></body></html>");
        let d = decode_html(&bytes, None);
        assert!(d.text.contains(ARABIC));
        assert_eq!(d.chosen_by, "detected");
    }

    #[test]
    fn bom_utf16() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in ARABIC.encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        assert_eq!(decode_xml(&bytes, None).text, ARABIC);
    }

    fn arabic_feed(declaration: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"{declaration}\"?><rss version=\"2.0\"><channel><title>{ARABIC}</title><description>{ARABIC} {ARABIC}</description></channel></rss>")
    }

    #[test]
    fn iso_8859_6() {
        let text = arabic_feed("ISO-8859-6");
        let bytes = encoding_rs::ISO_8859_6.encode(&text).0.into_owned();
        let d = decode_xml(&bytes, None);
        assert!(d.text.contains(ARABIC));
        assert_eq!(d.encoding, "ISO-8859-6");
    }

    #[test]
    fn utf16_both_orders_with_and_without_bom() {
        let text = arabic_feed("UTF-16");
        for (bom, le) in [(true, true), (true, false), (false, true), (false, false)] {
            let mut bytes = Vec::new();
            if bom {
                bytes.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
            }
            for unit in text.encode_utf16() {
                bytes.extend(if le {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                });
            }
            let d = decode_xml(&bytes, None);
            assert!(d.text.contains(ARABIC), "bom {bom} le {le}");
            assert!(d.text.contains("encoding=\"utf-8\""));
        }
    }

    #[test]
    fn windows_1256_misdeclared_as_ascii_or_latin1() {
        for declaration in ["us-ascii", "ISO-8859-1", "windows-1252"] {
            let bytes = windows_1256(&arabic_feed(declaration));
            let d = decode_xml(&bytes, None);
            assert!(d.text.contains(ARABIC), "{declaration}: {}", d.text);
            assert_eq!(d.encoding, "windows-1256");
        }
        // The same wrong label from the server.
        let bytes = windows_1256(&arabic_feed("windows-1256"));
        assert!(decode_xml(&bytes, Some("text/xml; charset=ISO-8859-1"))
            .text
            .contains(ARABIC));
        // A real Latin-1 document keeps its label.
        let latin = encoding_rs::WINDOWS_1252.encode("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>café déjà vu, où êtes-vous? Très bien.</t>").0.into_owned();
        assert!(decode_xml(&latin, None).text.contains("café déjà vu"));
    }

    #[test]
    fn html_meta_http_equiv() {
        let mut bytes =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1256\">"
                .to_vec();
        bytes.extend(windows_1256(ARABIC));
        assert!(decode_html(&bytes, None).text.ends_with(ARABIC));
    }

    #[test]
    fn labels_in_other_spellings() {
        for (label, name) in [
            ("windows_1256", "windows-1256"),
            ("CP1256", "windows-1256"),
            ("ms-arab", "windows-1256"),
            ("macroman", "macintosh"),
            ("mac-cyrillic", "x-mac-cyrillic"),
            ("cp874", "windows-874"),
            ("arabic", "ISO-8859-6"),
        ] {
            assert_eq!(
                encoding_for_label(label).map(|e| e.name().to_ascii_lowercase()),
                Some(name.to_ascii_lowercase()),
                "{label}"
            );
        }
        assert_eq!(encoding_for_label("bogus"), None);
    }
}
