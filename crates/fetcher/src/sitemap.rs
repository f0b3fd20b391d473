//! News sitemaps (`<urlset>` with `<news:news>`) and sitemap indexes.

use crate::error::XmlError;
use std::collections::HashSet;

use khabar_core_model::RecordId;
use quick_xml::events::Event;

use crate::decode::decode_xml;
use crate::feed::{FeedItem, ParsedFeed};

/// What a sitemap document holds.
#[derive(Debug, Clone)]
pub enum Sitemap {
    /// Article URLs, as feed items.
    Urls(ParsedFeed),
    /// A `<sitemapindex>`: the sitemaps to read next.
    Index(Vec<String>),
}

#[derive(Default)]
struct Entry {
    loc: Option<String>,
    lastmod: Option<String>,
    title: Option<String>,
    publication_date: Option<String>,
    language: Option<String>,
    publication: Option<String>,
    keywords: Option<String>,
}

/// Parses a sitemap fetched from `url`.
pub fn parse_sitemap(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &str,
) -> Result<Sitemap, XmlError> {
    let decoded = decode_xml(bytes, content_type);
    let mut reader = quick_xml::Reader::from_str(&decoded.text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut root: Option<String> = None;
    let mut entries: Vec<Entry> = Vec::new();
    let mut children: Vec<String> = Vec::new();
    let mut current = Entry::default();
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(|source| XmlError::Syntax {
            what: format!("{url}: not a readable sitemap"),
            position: reader.buffer_position(),
            source,
        })?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if root.is_none() {
                    root = Some(name.clone());
                }
                if name == "url" || name == "sitemap" {
                    current = Entry::default();
                }
                text.clear();
                path.push(name);
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                set_field(&mut current, &path, text.trim().to_string());
                text.clear();
                path.pop();
                if name == "url" {
                    entries.push(std::mem::take(&mut current));
                } else if name == "sitemap" {
                    if let Some(loc) = current.loc.take() {
                        children.push(loc);
                    }
                }
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap_or_default()),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    let name = r.decode().unwrap_or_default().into_owned();
                    match name.as_str() {
                        "amp" => text.push('&'),
                        "lt" => text.push('<'),
                        "gt" => text.push('>'),
                        "quot" => text.push('"'),
                        "apos" => text.push('\''),
                        other => text.push_str(&format!("&{other};")),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match root.as_deref() {
        Some("sitemapindex") => Ok(Sitemap::Index(children)),
        Some("urlset") => Ok(Sitemap::Urls(to_feed(entries, decoded.encoding))),
        Some(other) => Err(XmlError::Shape(format!(
            "{url}: not a sitemap: the root element is <{other}>"
        ))),
        None => Err(XmlError::Shape(format!(
            "{url}: not a sitemap: empty document"
        ))),
    }
}

fn set_field(entry: &mut Entry, path: &[String], text: String) {
    if text.is_empty() {
        return;
    }
    let slot = match path.last().map(String::as_str) {
        Some("loc") => &mut entry.loc,
        Some("lastmod") => &mut entry.lastmod,
        Some("title") => &mut entry.title,
        Some("publication_date") => &mut entry.publication_date,
        Some("language") => &mut entry.language,
        Some("name") => &mut entry.publication,
        Some("keywords") => &mut entry.keywords,
        _ => return,
    };
    *slot = Some(text);
}

fn to_feed(entries: Vec<Entry>, encoding: &str) -> ParsedFeed {
    let mut seen = HashSet::new();
    let mut publication = None;
    let mut items = Vec::new();
    for entry in entries {
        let Some(loc) = entry.loc else { continue };
        let id = RecordId::from_url(&loc);
        if !seen.insert(id.clone()) {
            continue;
        }
        if publication.is_none() {
            publication = entry.publication.clone();
        }
        let published = entry
            .publication_date
            .as_deref()
            .or(entry.lastmod.as_deref())
            .and_then(khabar_text::parse_date);
        items.push(FeedItem {
            id,
            guid: None,
            title: entry.title,
            url: Some(loc),
            published_at: published,
            updated_at: entry.lastmod.as_deref().and_then(khabar_text::parse_date),
            summary: None,
            authors: Vec::new(),
            categories: entry
                .keywords
                .map(|k| {
                    k.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            language: entry.language,
        });
    }
    ParsedFeed {
        title: publication,
        link: None,
        description: None,
        language: items.iter().find_map(|i| i.language.clone()),
        encoding: encoding.to_string(),
        ttl_minutes: None,
        repairs: Vec::new(),
        recovered: Vec::new(),
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_sitemap_and_index() -> Result<(), Box<dyn std::error::Error>> {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://ex.org/a</loc>
    <news:news><news:publication><news:name>العربي الجديد</news:name><news:language>ar</news:language></news:publication>
      <news:publication_date>2019-03-01T10:12:00+00:00</news:publication_date>
      <news:title><![CDATA[التحالف يقصف الباغوز]]></news:title></news:news></url>
  <url><loc>https://ex.org/b?x=1&amp;y=2</loc><lastmod>2019-03-02</lastmod></url>
</urlset>"#;
        let Sitemap::Urls(feed) =
            parse_sitemap(xml.as_bytes(), None, "https://ex.org/news-sitemap.xml")?
        else {
            return Err("expected a urlset".into());
        };
        assert_eq!(feed.items.len(), 2);
        assert_eq!(feed.items[0].title.as_deref(), Some("التحالف يقصف الباغوز"));
        assert_eq!(feed.items[0].language.as_deref(), Some("ar"));
        assert_eq!(
            feed.items[0].published_at.map(|d| d.to_rfc3339()),
            Some("2019-03-01T10:12:00+00:00".into())
        );
        assert_eq!(feed.title.as_deref(), Some("العربي الجديد"));
        assert_eq!(
            feed.items[1].published_at.map(|d| d.to_rfc3339()),
            Some("2019-03-02T00:00:00+00:00".into())
        );
        assert_eq!(
            feed.items[1].url.as_deref(),
            Some("https://ex.org/b?x=1&y=2")
        );

        let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://ex.org/s1.xml</loc></sitemap><sitemap><loc>https://ex.org/s2.xml</loc></sitemap></sitemapindex>"#;
        match parse_sitemap(index.as_bytes(), None, "https://ex.org/index.xml")? {
            Sitemap::Index(children) => assert_eq!(
                children,
                vec!["https://ex.org/s1.xml", "https://ex.org/s2.xml"]
            ),
            Sitemap::Urls(_) => return Err("expected an index".into()),
        }
        assert!(parse_sitemap(b"<rss/>", None, "https://ex.org/x").is_err());
        Ok(())
    }
}
