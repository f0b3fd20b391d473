//! OPML subscription lists: the usual way feed lists travel between readers.

use quick_xml::events::Event;
use serde::Serialize;

/// One `<outline xmlUrl=…>` of an OPML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpmlFeed {
    pub url: String,
    pub title: Option<String>,
    /// The enclosing outline's title, if any (a folder such as "Arabic").
    pub category: Option<String>,
    /// Per-feed polling interval (`interval="15m"`), overriding the source's.
    pub interval: Option<String>,
    /// `enabled="false"` keeps a feed listed but unpolled.
    pub enabled: bool,
}

/// Reads every feed of an OPML document, in document order, nested folders included.
pub fn parse_opml(text: &str) -> Result<Vec<OpmlFeed>, crate::error::XmlError> {
    use crate::error::XmlError;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut feeds = Vec::new();
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader.read_event().map_err(|source| XmlError::Syntax {
            what: "OPML".to_string(),
            position: reader.buffer_position(),
            source,
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name();
                if name.as_ref() == b"opml" {
                    saw_opml = true;
                }
                if name.as_ref() != b"outline" {
                    continue;
                }
                let mut url = None;
                let mut title = None;
                let mut interval = None;
                let mut enabled = true;
                for attr in e.attributes().flatten() {
                    let value = attr
                        .decoded_and_normalized_value(
                            quick_xml::XmlVersion::Implicit1_0,
                            reader.decoder(),
                        )
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    match attr.key.local_name().as_ref() {
                        b"xmlUrl" | b"xmlurl" => url = Some(value),
                        b"title" => title = Some(value),
                        b"text" if title.is_none() => title = Some(value),
                        b"interval" => interval = Some(value).filter(|v| !v.is_empty()),
                        b"enabled" => enabled = !value.eq_ignore_ascii_case("false"),
                        _ => {}
                    }
                }
                let title = title.filter(|t| !t.is_empty());
                let is_feed = url.as_deref().is_some_and(|u| !u.is_empty());
                if let Some(url) = url.filter(|_| is_feed) {
                    feeds.push(OpmlFeed {
                        url,
                        title: title.clone(),
                        category: folders.iter().rev().flatten().next().cloned(),
                        interval: interval.clone(),
                        enabled,
                    });
                }
                // Every open outline pushes a level, so its end pops the right one.
                if matches!(event, Event::Start(_)) {
                    folders.push(if is_feed { None } else { title });
                }
            }
            Event::End(ref e) if e.local_name().as_ref() == b"outline" => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err(XmlError::Shape("OPML: no <opml> root element".to_string()));
    }
    Ok(feeds)
}

/// Writes an OPML 2.0 document, feeds grouped in folders by category.
pub fn write_opml(title: &str, feeds: &[OpmlFeed]) -> String {
    use quick_xml::escape::escape;
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape(title)
    ));
    let mut categories: Vec<Option<&str>> = Vec::new();
    for feed in feeds {
        if !categories.contains(&feed.category.as_deref()) {
            categories.push(feed.category.as_deref());
        }
    }
    for category in categories {
        let indent = if category.is_some() { "      " } else { "    " };
        if let Some(name) = category {
            out.push_str(&format!("    <outline text=\"{}\">\n", escape(name)));
        }
        for feed in feeds.iter().filter(|f| f.category.as_deref() == category) {
            let title = feed.title.as_deref().unwrap_or(&feed.url);
            out.push_str(&format!(
                "{indent}<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"",
                escape(title),
                escape(&feed.url)
            ));
            if let Some(interval) = &feed.interval {
                out.push_str(&format!(" interval=\"{}\"", escape(interval)));
            }
            if !feed.enabled {
                out.push_str(" enabled=\"false\"");
            }
            out.push_str("/>\n");
        }
        if category.is_some() {
            out.push_str("    </outline>\n");
        }
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_outlines() -> Result<(), Box<dyn std::error::Error>> {
        let feeds = parse_opml(
            r#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
            <outline text="Arabic">
              <outline type="rss" text="Al Araby" xmlUrl="https://www.alaraby.co.uk/rss"/>
            </outline>
            <outline type="rss" title="BBC" text="bbc" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml"/>
            </body></opml>"#,
        )?;
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].category.as_deref(), Some("Arabic"));
        assert_eq!(feeds[1].title.as_deref(), Some("BBC"));
        assert_eq!(feeds[1].category, None);
        Ok(())
    }

    #[test]
    fn export_then_import_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let feeds = vec![
            OpmlFeed {
                url: "https://a.org/rss?x=1&y=2".into(),
                title: Some("A \"quoted\" <feed>".into()),
                category: Some("Arabic".into()),
                interval: Some("15m".into()),
                enabled: true,
            },
            OpmlFeed {
                url: "https://b.org/atom".into(),
                title: None,
                category: None,
                interval: None,
                enabled: false,
            },
        ];
        let text = write_opml("Khabar feeds", &feeds);
        let back = parse_opml(&text)?;
        assert_eq!(back[0].url, feeds[0].url);
        assert_eq!(back[0].title, feeds[0].title);
        assert_eq!(back[0].category, feeds[0].category);
        assert_eq!(back[0].interval, feeds[0].interval);
        assert!(!back[1].enabled);
        Ok(())
    }
}
