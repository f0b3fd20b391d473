//! Feed parsing: our decoding, then feed-rs, with its panics contained, mapped to our items.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use khabar_core_model::RecordId;
use serde::Serialize;

use crate::decode::decode_xml;

/// A feed as Khabar sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub link: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    /// The encoding the bytes were read in.
    pub encoding: String,
    pub items: Vec<FeedItem>,
}

/// One feed entry.
#[derive(Debug, Clone, Serialize)]
pub struct FeedItem {
    /// Stable: from the link, else the guid (scoped to the feed), else title and content.
    pub id: RecordId,
    pub guid: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
}

fn text(t: &Option<feed_rs::model::Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.content.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Parses a feed document fetched from `feed_url` (relative links resolve against it).
/// A feed-rs panic becomes an error naming the feed, never a crash.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &str,
) -> Result<ParsedFeed, String> {
    let decoded = decode_xml(bytes, content_type);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url))
        // Empty means "the feed gave none": we build our own stable ids.
        .id_generator(|_, _, _| String::new())
        .build();
    let body = decoded.text.as_bytes();
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(body)))
        .map_err(|_| format!("{feed_url}: the feed parser crashed on this document"))?
        .map_err(|e| format!("{feed_url}: not a readable feed: {e}"))?;

    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for entry in parsed.entries {
        let guid = Some(entry.id.trim().to_string()).filter(|g| !g.is_empty());
        let url = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or_else(|| entry.links.first())
            .map(|l| l.href.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| {
                guid.clone()
                    .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
            });
        let title = text(&entry.title);
        let summary = text(&entry.summary).or_else(|| {
            entry
                .content
                .as_ref()
                .and_then(|c| c.body.as_ref())
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
        });
        let id = match (&url, &guid) {
            (Some(url), _) => RecordId::from_url(url),
            (None, Some(guid)) => RecordId::from_guid(feed_url, guid),
            (None, None) => RecordId::from_content(
                title.as_deref().unwrap_or(""),
                summary.as_deref().unwrap_or(""),
            ),
        };
        // Feeds repeat items (and guids); the first occurrence wins.
        if !seen.insert(id.clone()) {
            continue;
        }
        items.push(FeedItem {
            id,
            guid,
            title,
            url,
            published_at: entry.published.or(entry.updated),
            updated_at: entry.updated,
            summary,
            authors: entry
                .authors
                .iter()
                .map(|p| p.name.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            categories: entry
                .categories
                .iter()
                .map(|c| {
                    c.label
                        .clone()
                        .unwrap_or_else(|| c.term.clone())
                        .trim()
                        .to_string()
                })
                .filter(|c| !c.is_empty())
                .collect(),
        });
    }
    Ok(ParsedFeed {
        title: text(&parsed.title),
        link: parsed
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .map(|l| l.href.clone()),
        description: text(&parsed.description),
        language: parsed
            .language
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty()),
        encoding: decoded.encoding.to_string(),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>https://ex.org/</link><language>ar</language>
<item><title>A</title><link>/a</link><guid isPermaLink="false">g-a</guid><pubDate>Fri, 01 Mar 2019 10:12:00 GMT</pubDate></item>
<item><title>A again</title><link>/a</link></item>
<item><title>No link</title><guid isPermaLink="false">g-c</guid></item>
</channel></rss>"#;

    #[test]
    fn items_get_stable_ids_and_absolute_links() -> Result<(), String> {
        let feed = parse_feed(RSS.as_bytes(), None, "https://ex.org/rss.xml")?;
        assert_eq!(feed.language.as_deref(), Some("ar"));
        assert_eq!(feed.items.len(), 2, "the repeated link is one item");
        assert_eq!(feed.items[0].url.as_deref(), Some("https://ex.org/a"));
        assert_eq!(feed.items[0].guid.as_deref(), Some("g-a"));
        assert_eq!(feed.items[0].id, RecordId::from_url("https://ex.org/a"));
        assert_eq!(
            feed.items[0].published_at.map(|d| d.to_rfc3339()),
            Some("2019-03-01T10:12:00+00:00".to_string())
        );
        assert_eq!(
            feed.items[1].id,
            RecordId::from_guid("https://ex.org/rss.xml", "g-c")
        );
        let again = parse_feed(RSS.as_bytes(), None, "https://ex.org/rss.xml")?;
        assert_eq!(again.items[1].id, feed.items[1].id);
        Ok(())
    }

    #[test]
    fn not_a_feed_is_an_error_naming_the_url() {
        let err = parse_feed(b"<html><body>hello</body></html>", None, "https://ex.org/x");
        assert!(
            matches!(err, Err(ref m) if m.contains("https://ex.org/x") && m.contains("not a readable feed")),
            "{err:?}"
        );
    }
}
