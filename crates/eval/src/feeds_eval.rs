//! `khabar-eval feeds --suite DIR`: Khabar's feed reading measured on another project's test
//! suite, one we did not write: Universal Feed Parser's (feedparser, BSD-2-Clause, from its
//! PyPI source distribution; `cargo xtask eval feeds` fetches the pinned version).
//!
//! Each test file there is a small feed with a comment saying what a reader must find
//! (`Expect: not bozo and entries[0]['title'] == u'…'`). Two figures come out:
//! - how many of the well-formed documents Khabar reads at all (a refusal loses every item);
//! - on the expectations about fields Khabar keeps (feed and first-entry title, link, id),
//!   how many it gets right. Expectations about markup in titles are left out: they test
//!   feedparser's HTML sanitiser, and Khabar keeps titles as plain text.

use std::path::{Path, PathBuf};

use regex::Regex;

/// The base URL the suite's relative links resolve against.
const BASE: &str = "http://example.com/feed.xml";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
    Ok(())
}

/// A Python string literal's value (`u'caf\xe9'`, `'a\'b'`, `"x"`), escapes decoded.
fn python_string(literal: &str) -> Option<String> {
    let literal = literal.strip_prefix('u').unwrap_or(literal);
    let quote = literal.chars().next()?;
    let body = literal.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<char> {
            let digits: String = chars.by_ref().take(n).collect();
            char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
        };
        match escaped {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'x' => out.push(hex(&mut chars, 2)?),
            'u' => out.push(hex(&mut chars, 4)?),
            'U' => out.push(hex(&mut chars, 8)?),
            other => out.push(other),
        }
    }
    Some(out)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What one expectation asks: which field of which object, and its value.
struct Expectation {
    field: String,
    value: String,
}

fn expectation(text: &str, pattern: &Regex) -> Option<Expectation> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Expect:"))?;
    let captures = pattern.captures(line)?;
    let value = python_string(captures.get(3)?.as_str())?;
    Some(Expectation {
        field: format!("{}.{}", &captures[1], &captures[2]),
        value,
    })
}

#[derive(Default)]
struct Tally {
    checked: usize,
    right: usize,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let suite = super::arg(args, "--suite")
        .ok_or("usage: khabar-eval feeds --suite DIR (feedparser's tests folder) [--show N]")?;
    let show: usize = super::arg(args, "--show")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let suite = PathBuf::from(suite);
    // Only simple expectations (one comparison) are scored: compound ones test more than a
    // field.
    let pattern = Regex::new(
        r#"^\s*Expect:\s*(?:not bozo and )?(feed|entries\[0\])\['(title|link|id)'\] == (u?'(?:[^'\\]|\\.)*'|u?"(?:[^"\\]|\\.)*")\s*$"#,
    )
    .map_err(|e| e.to_string())?;
    let declaration =
        Regex::new(r#"<\?xml[^>]*encoding=["']([^"']+)["']"#).map_err(|e| e.to_string())?;
    // The families of code pages the Encoding Standard left out (a bogus label is not one:
    // the decoder still has to read that document).
    let legacy_code_page = Regex::new(
        r"(?i)^(cp[-_]?\w+|ibm\d+|csibm\d+|cspc\w+|\d{3}|mac\w+|koi8-t|tcvn[-\w]*|viscii|ebcdic[-_\w]*)$",
    )
    .map_err(|e| e.to_string())?;
    let header =
        Regex::new(r"(?mi)^Header:\s*Content-type:\s*(.+?)\s*$").map_err(|e| e.to_string())?;
    for kind in ["wellformed", "encoding", "entities", "illformed"] {
        let mut files = Vec::new();
        files_under(&suite.join(kind), &mut files)
            .map_err(|e| format!("{}: {e}", suite.join(kind).display()))?;
        let mut refused = Vec::new();
        // Documents in encodings outside the WHATWG Encoding Standard (DOS and EBCDIC code
        // pages, Mac regional, TCVN, VISCII): the decoder does not claim them; counted apart.
        let mut unclaimed = Vec::new();
        let mut fields: std::collections::BTreeMap<String, Tally> = Default::default();
        let mut misses = Vec::new();
        for path in &files {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let name = path
                .strip_prefix(&suite)
                .unwrap_or(path)
                .display()
                .to_string();
            let text = String::from_utf8_lossy(&bytes);
            // The suite's server would send this Content-Type; the comment says which.
            let content_type = header
                .captures(&text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string());
            let declared = declaration
                .captures(&text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
                .or_else(|| {
                    content_type
                        .as_deref()
                        .and_then(|t| t.split_once("charset=").map(|(_, c)| c.trim().to_string()))
                });
            // EBCDIC: not even `<` is where ASCII has it, so the declaration is unreadable.
            let ebcdic = !text.contains('<');
            let declared = declared.map(|d| d.trim_matches(['"', '\'', ' ']).to_string());
            let legacy = declared.as_deref().is_some_and(|label| {
                legacy_code_page.is_match(label)
                    && khabar_fetcher::encoding_for_label(label).is_none()
            });
            if ebcdic || legacy {
                unclaimed.push(name);
                continue;
            }
            let parsed = match khabar_fetcher::parse_feed(&bytes, content_type.as_deref(), BASE) {
                Ok(parsed) => parsed,
                Err(error) => {
                    refused.push(format!("{name}: {error}"));
                    continue;
                }
            };
            let Some(want) = expectation(&text, &pattern) else {
                continue;
            };
            // feedparser's titles are HTML; Khabar's are text: `&lt;` there is `<` here.
            // Markup in an expected title tests feedparser's sanitiser, and `http_` files
            // take their base address from HTTP headers the suite's own server sends.
            let want = Expectation {
                value: if want.field.ends_with("title") {
                    want.value
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&amp;", "&")
                } else {
                    want.value
                },
                ..want
            };
            let over_http = kind == "wellformed"
                && path
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with("http_"));
            if over_http || (want.field.ends_with("title") && want.value.contains("<")) {
                continue;
            }
            let first = parsed.items.first();
            let got = match want.field.as_str() {
                "feed.title" => parsed.title.clone(),
                "feed.link" => parsed.link.clone(),
                "entries[0].title" => first.and_then(|i| i.title.clone()),
                "entries[0].link" => first.and_then(|i| i.url.clone()),
                "entries[0].id" => first.and_then(|i| i.guid.clone()),
                _ => continue,
            };
            let tally = fields.entry(want.field.clone()).or_default();
            tally.checked += 1;
            let got = got.map(|g| one_line(&g)).unwrap_or_default();
            if got == one_line(&want.value) {
                tally.right += 1;
            } else {
                misses.push(format!(
                    "{name} {}: expected {:?}, got {got:?}",
                    want.field, want.value
                ));
            }
        }
        let claimed = files.len() - unclaimed.len();
        let read = claimed - refused.len();
        println!(
            "{kind}: {claimed} documents, {read} read ({:.1} %), {} refused",
            100.0 * read as f64 / claimed.max(1) as f64,
            refused.len()
        );
        if !unclaimed.is_empty() {
            println!(
                "  (and {} in code pages outside the WHATWG Encoding Standard, not claimed: {})",
                unclaimed.len(),
                unclaimed
                    .iter()
                    .filter_map(|n| n.rsplit('/').next())
                    .map(|n| n.trim_start_matches("x80_").trim_end_matches(".xml"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let (mut checked, mut right) = (0, 0);
        for (field, tally) in &fields {
            println!(
                "  {field:18} {}/{} right ({:.1} %)",
                tally.right,
                tally.checked,
                100.0 * tally.right as f64 / tally.checked.max(1) as f64
            );
            checked += tally.checked;
            right += tally.right;
        }
        println!(
            "  {:18} {right}/{checked} right ({:.1} %)",
            "all fields",
            100.0 * right as f64 / checked.max(1) as f64
        );
        if kind != "illformed" {
            for line in refused.iter().take(show) {
                println!("  refused {line}");
            }
            for line in misses.iter().take(show) {
                println!("  miss {line}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals() {
        assert_eq!(python_string(r"u'caf\xe9'").as_deref(), Some("café"));
        assert_eq!(python_string(r"'a\'b'").as_deref(), Some("a'b"));
        assert_eq!(python_string(r#""x\u00e9""#).as_deref(), Some("xé"));
        assert_eq!(python_string("'open"), None);
    }
}
