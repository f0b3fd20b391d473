//! Feed parsing: our decoding, then feed-rs, with its panics contained, mapped to our items.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use khabar_core_model::RecordId;
use serde::Serialize;

use crate::decode::decode_xml;
use crate::discover::{feed_links, looks_like_html};
use crate::repair::{close_truncated, repair_markup};
use crate::tolerant;

/// A feed as Khabar sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub link: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    /// The encoding the bytes were read in.
    pub encoding: String,
    /// `<ttl>` in minutes: the feed asks not to be polled more often.
    pub ttl_minutes: Option<u32>,
    /// The repairs it needed before it parsed (empty for a well-formed feed).
    pub repairs: Vec<&'static str>,
    /// What the tolerant reader recovered and how, when feed-rs refused the document or left
    /// fields empty (empty when feed-rs read it all).
    pub recovered: Vec<String>,
    pub items: Vec<FeedItem>,
}

/// Why a document could not be read as a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// An HTML page; `alternates` are the feeds it links to.
    Html {
        url: String,
        alternates: Vec<String>,
    },
    /// Not a feed, even after every repair.
    Invalid(String),
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedError::Html { url, alternates } if alternates.is_empty() => {
                write!(
                    f,
                    "{url}: not a readable feed: an HTML page that links to no feed"
                )
            }
            FeedError::Html { url, alternates } => write!(
                f,
                "{url}: not a readable feed: an HTML page; it links to these feeds: {}",
                alternates.join(", ")
            ),
            FeedError::Invalid(message) => f.write_str(message),
        }
    }
}

/// Runs a parser, turning a panic inside it into an error: one broken document must never
/// bring the process down.
pub fn contain_panic<T>(
    what: &str,
    parse: impl FnOnce() -> T,
) -> Result<T, crate::error::ParserPanic> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).map_err(|_| {
        crate::error::ParserPanic {
            what: what.to_string(),
        }
    })
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
    /// The item's own language (news sitemaps, `xml:lang`), when it has one.
    pub language: Option<String>,
}

fn text(t: &Option<feed_rs::model::Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.content.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// feed-rs's reading of a document, or why it refused it.
fn feed_rs_parse(text: &str, feed_url: &str) -> Result<feed_rs::model::Feed, FeedError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url))
        // Empty means "the feed gave none": we build our own stable ids.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(khabar_text::parse_date)
        .build();
    contain_panic(feed_url, || parser.parse(text.as_bytes()))
        .map_err(|panic| FeedError::Invalid(panic.to_string()))?
        .map_err(|e| FeedError::Invalid(e.to_string()))
}

/// Parses a feed document fetched from `feed_url` (relative links resolve against it). Broken
/// markup is repaired first (see [`repair_markup`](crate::repair_markup)); a truncated document is closed and
/// parsed again. A parser panic becomes an error naming the feed.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &str,
) -> Result<ParsedFeed, FeedError> {
    // Decoding and repair run on hostile bytes too: a panic anywhere in them is this feed's
    // error, never the end of its polling.
    contain_panic(feed_url, || read_feed(bytes, content_type, feed_url))
        .map_err(|panic| FeedError::Invalid(panic.to_string()))?
}

/// How a title is written. Atom says (`type`); RSS and JSON Feed do not, and publishers
/// put escaped HTML in them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum TitleKind {
    Text,
    Html,
    #[default]
    Unsaid,
}

impl TitleKind {
    fn of_feed_rs(
        feed_type: &feed_rs::model::FeedType,
        title: Option<&feed_rs::model::Text>,
    ) -> Self {
        match (feed_type, title) {
            (feed_rs::model::FeedType::Atom, Some(text)) => {
                if text.content_type.subty() == "html" {
                    TitleKind::Html
                } else {
                    TitleKind::Text
                }
            }
            _ => TitleKind::Unsaid,
        }
    }

    fn of_tolerant(is_html: Option<bool>) -> Self {
        match is_html {
            Some(true) => TitleKind::Html,
            Some(false) => TitleKind::Text,
            None => TitleKind::Unsaid,
        }
    }
}

/// One entry's fields before it gets its id, from feed-rs or from the tolerant reader.
#[derive(Debug, Clone, Default)]
struct Entry {
    guid: Option<String>,
    title: Option<String>,
    title_kind: TitleKind,
    url: Option<String>,
    published_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    summary: Option<String>,
    authors: Vec<String>,
    categories: Vec<String>,
    language: Option<String>,
}

/// A feed's own fields, from either reader.
#[derive(Debug, Clone, Default)]
struct Head {
    title: Option<String>,
    title_kind: TitleKind,
    link: Option<String>,
    description: Option<String>,
    language: Option<String>,
    ttl_minutes: Option<u32>,
}

fn non_empty(value: impl Into<String>) -> Option<String> {
    let value = value.into();
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

fn from_feed_rs(parsed: feed_rs::model::Feed) -> (Head, Vec<Entry>) {
    let feed_type = parsed.feed_type.clone();
    let entries = parsed
        .entries
        .into_iter()
        .map(|entry| Entry {
            title_kind: TitleKind::of_feed_rs(&feed_type, entry.title.as_ref()),
            guid: non_empty(entry.id.as_str()),
            url: entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or_else(|| entry.links.first())
                .and_then(|l| non_empty(l.href.as_str())),
            title: text(&entry.title),
            summary: text(&entry.summary).or_else(|| {
                entry
                    .content
                    .as_ref()
                    .and_then(|c| c.body.as_deref())
                    .and_then(non_empty)
            }),
            published_at: entry.published.or(entry.updated),
            updated_at: entry.updated,
            authors: entry
                .authors
                .iter()
                .filter_map(|p| non_empty(p.name.as_str()))
                .collect(),
            categories: entry
                .categories
                .iter()
                .filter_map(|c| non_empty(c.label.as_deref().unwrap_or(&c.term)))
                .collect(),
            language: entry.language.as_deref().and_then(non_empty),
        })
        .collect();
    let head = Head {
        title_kind: TitleKind::of_feed_rs(&feed_type, parsed.title.as_ref()),
        title: text(&parsed.title),
        link: parsed
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .map(|l| l.href.clone()),
        description: text(&parsed.description),
        language: parsed.language.as_deref().and_then(non_empty),
        ttl_minutes: parsed.ttl,
    };
    (head, entries)
}

/// A link as written, made absolute against the feed's address; anything but http(s) is
/// not a link an article can be fetched from.
fn absolute_link(link: Option<&str>, feed_url: &str) -> Option<String> {
    let link = link?.trim();
    let joined = match url::Url::parse(feed_url) {
        Ok(base) => base.join(link).ok()?,
        Err(_) => url::Url::parse(link).ok()?,
    };
    matches!(joined.scheme(), "http" | "https").then(|| joined.to_string())
}

fn from_tolerant(recovered: &tolerant::Recovered, feed_url: &str) -> (Head, Vec<Entry>) {
    let date = |d: &Option<String>| d.as_deref().and_then(khabar_text::parse_date);
    let entries = recovered
        .items
        .iter()
        .map(|item| {
            let updated_at = date(&item.updated);
            Entry {
                guid: item.id.clone(),
                title: item.title.clone(),
                title_kind: TitleKind::of_tolerant(item.title_is_html),
                url: absolute_link(item.link.as_deref(), feed_url),
                published_at: date(&item.published).or(updated_at),
                updated_at,
                summary: item.summary.clone(),
                authors: item.authors.clone(),
                categories: item.categories.clone(),
                language: item.language.clone(),
            }
        })
        .collect();
    let feed = &recovered.feed;
    let head = Head {
        title: feed.title.clone(),
        title_kind: TitleKind::of_tolerant(feed.title_is_html),
        link: absolute_link(feed.link.as_deref(), feed_url),
        description: feed.summary.clone(),
        language: feed.language.clone(),
        ttl_minutes: feed.ttl.as_deref().and_then(|t| t.trim().parse().ok()),
    };
    (head, entries)
}

/// The tolerant reading of a document: as JSON Feed when it is JSON, else as XML.
fn read_tolerantly(text: &str) -> Option<tolerant::Recovered> {
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        tolerant::read_json(text)
    } else {
        tolerant::read_xml(text)
    }
}

/// A title feed-rs left as markup: an Atom `type="xhtml"` title comes out as its `<div>`.
fn is_markup(title: &str) -> bool {
    title.starts_with('<') && title.ends_with('>')
}

/// What feed-rs missed that the tolerant reader may have: a feed or item title, any item.
fn is_wanting(head: &Head, entries: &[Entry]) -> bool {
    head.title.is_none()
        || entries.is_empty()
        || entries.iter().any(|e| {
            e.title.as_deref().is_none_or(is_markup) || e.url.is_none() || e.published_at.is_none()
        })
}

/// Fills what feed-rs left empty from the tolerant reading of the same document. Items are
/// paired by position when both readers saw the same number, else by link.
fn fill_gaps(head: &mut Head, entries: &mut Vec<Entry>, other: (Head, Vec<Entry>)) -> usize {
    /// Takes `value` where `slot` is empty (or markup where text was meant).
    fn take(slot: &mut Option<String>, value: &Option<String>) -> usize {
        if value.is_some() && slot.as_deref().is_none_or(is_markup) && slot != value {
            slot.clone_from(value);
            1
        } else {
            0
        }
    }
    let (other_head, other_entries) = other;
    if head.title.as_deref().is_none_or(is_markup) && other_head.title.is_some() {
        head.title_kind = other_head.title_kind;
    }
    let mut filled = take(&mut head.title, &other_head.title)
        + take(&mut head.link, &other_head.link)
        + take(&mut head.description, &other_head.description);
    if entries.is_empty() {
        filled += other_entries.len();
        *entries = other_entries;
        return filled;
    }
    let same_count = entries.len() == other_entries.len();
    for (index, entry) in entries.iter_mut().enumerate() {
        let partner = if same_count {
            other_entries.get(index)
        } else {
            other_entries
                .iter()
                .find(|o| o.url.is_some() && o.url == entry.url)
        };
        let Some(partner) = partner else { continue };
        if entry.title.as_deref().is_none_or(is_markup) && partner.title.is_some() {
            entry.title_kind = partner.title_kind;
        }
        filled += take(&mut entry.title, &partner.title)
            + take(&mut entry.guid, &partner.guid)
            + take(&mut entry.url, &partner.url)
            + take(&mut entry.summary, &partner.summary);
        if entry.published_at.is_none() && partner.published_at.is_some() {
            entry.published_at = partner.published_at;
            filled += 1;
        }
        if entry.language.is_none() {
            entry.language.clone_from(&partner.language);
        }
    }
    filled
}

fn read_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &str,
) -> Result<ParsedFeed, FeedError> {
    let decoded = decode_xml(bytes, content_type);
    if looks_like_html(&decoded.text) {
        return Err(FeedError::Html {
            url: feed_url.to_string(),
            alternates: feed_links(&decoded.text, feed_url),
        });
    }
    // feed-rs tolerates some broken markup by dropping content (a title with a bare `&`
    // comes out empty), so the repairs run first; on a well-formed feed they change nothing.
    if crate::repair::nesting_exceeds(&decoded.text, crate::repair::MAX_DEPTH) {
        return Err(FeedError::Invalid(format!(
            "{feed_url}: not a readable feed: elements nested more than {} deep",
            crate::repair::MAX_DEPTH
        )));
    }
    let repaired = repair_markup(&decoded.text);
    let mut repairs = repaired.applied;
    let mut recovered = Vec::new();
    let strict: Result<_, FeedError> =
        feed_rs_parse(&repaired.text, feed_url).or_else(|first_error| {
            let closed = close_truncated(&repaired.text).ok_or_else(|| first_error.clone())?;
            let feed = feed_rs_parse(&closed, feed_url).map_err(|_| first_error)?;
            repairs.push("truncated document closed");
            Ok(feed)
        });
    let (head, entries) = match strict {
        Ok(feed) => {
            let (mut head, mut entries) = from_feed_rs(feed);
            if is_wanting(&head, &entries) {
                if let Some(tolerant) = read_tolerantly(&repaired.text) {
                    let filled =
                        fill_gaps(&mut head, &mut entries, from_tolerant(&tolerant, feed_url));
                    if filled > 0 {
                        recovered.push(format!(
                            "fields feed-rs left empty, filled by the tolerant reader: {filled}"
                        ));
                        recovered.extend(tolerant.notes);
                    }
                }
            }
            (head, entries)
        }
        Err(refusal) => {
            // One element feed-rs does not know must not cost the feed: read it element by
            // element instead.
            let tolerant = read_tolerantly(&repaired.text).ok_or_else(|| {
                FeedError::Invalid(format!("{feed_url}: not a readable feed: {refusal}"))
            })?;
            recovered.push(format!(
                "feed-rs refused the document ({refusal}); read element by element"
            ));
            recovered.extend(tolerant.notes.iter().cloned());
            from_tolerant(&tolerant, feed_url)
        }
    };
    Ok(ParsedFeed {
        title: head
            .title
            .as_deref()
            .and_then(|t| plain_title(t, head.title_kind)),
        link: head.link,
        description: head.description,
        language: head.language,
        encoding: decoded.encoding.to_string(),
        ttl_minutes: head.ttl_minutes,
        repairs,
        recovered,
        items: identify(entries, feed_url),
    })
}

/// A title as one line of text. An HTML title (Atom's `type="html"`, or an RSS title that
/// holds a tag or a reference, as publishers write them) is read as HTML would show it; a
/// text title keeps its `<` as written.
fn plain_title(title: &str, kind: TitleKind) -> Option<String> {
    let looks_like_html = || {
        let bytes = title.as_bytes();
        bytes.windows(2).any(|pair| {
            (pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'/' | b'!')))
                || (pair[0] == b'&' && (pair[1].is_ascii_alphanumeric() || pair[1] == b'#'))
        })
    };
    let is_html = match kind {
        TitleKind::Html => true,
        TitleKind::Text => false,
        TitleKind::Unsaid => looks_like_html(),
    };
    let text = if is_html {
        khabar_html::Document::parse(title).root().text_content()
    } else {
        title.to_string()
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then_some(line)
}

/// Gives each entry its stable id; a repeated id (feeds repeat items) keeps the first.
fn identify(entries: Vec<Entry>, feed_url: &str) -> Vec<FeedItem> {
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for entry in entries {
        let url = entry.url.or_else(|| {
            entry
                .guid
                .clone()
                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
        });
        let id = match (&url, &entry.guid) {
            (Some(url), _) => RecordId::from_url(url),
            (None, Some(guid)) => RecordId::from_guid(feed_url, guid),
            (None, None) => RecordId::from_content(
                entry.title.as_deref().unwrap_or(""),
                entry.summary.as_deref().unwrap_or(""),
            ),
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        items.push(FeedItem {
            id,
            guid: entry.guid,
            title: entry
                .title
                .as_deref()
                .and_then(|t| plain_title(t, entry.title_kind)),
            url,
            published_at: entry.published_at,
            updated_at: entry.updated_at,
            summary: entry.summary,
            authors: entry.authors,
            categories: entry.categories,
            language: entry.language,
        });
    }
    items
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
        let feed = parse_feed(RSS.as_bytes(), None, "https://ex.org/rss.xml")
            .map_err(|e| e.to_string())?;
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
        let again = parse_feed(RSS.as_bytes(), None, "https://ex.org/rss.xml")
            .map_err(|e| e.to_string())?;
        assert_eq!(again.items[1].id, feed.items[1].id);
        Ok(())
    }

    #[test]
    fn not_a_feed_is_an_error_naming_the_url() {
        let err = parse_feed(b"<html><body>hello</body></html>", None, "https://ex.org/x")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(err, Err(ref m) if m.contains("https://ex.org/x") && m.contains("not a readable feed")),
            "{err:?}"
        );
        let err = parse_feed(
            b"<?xml version=\"1.0\"?><nothing/>",
            None,
            "https://ex.org/y",
        )
        .map(|_| ())
        .map_err(|e| e.to_string());
        assert!(
            matches!(err, Err(ref m) if m.contains("https://ex.org/y")),
            "{err:?}"
        );
    }

    #[test]
    fn a_panicking_parser_is_contained() {
        let result: Result<(), _> = contain_panic("https://ex.org/boom", || panic!("parser bug"));
        assert_eq!(
            result.map_err(|e| e.to_string()),
            Err(
                "https://ex.org/boom: the parser crashed on this document; it was skipped"
                    .to_string()
            )
        );
    }

    fn titles(xml: &str) -> Result<(Vec<String>, Vec<&'static str>), String> {
        let feed =
            parse_feed(xml.as_bytes(), None, "https://ex.org/rss").map_err(|e| e.to_string())?;
        Ok((
            feed.items
                .iter()
                .map(|i| i.title.clone().unwrap_or_default())
                .collect(),
            feed.repairs,
        ))
    }

    #[test]
    fn broken_feeds_are_repaired() -> Result<(), String> {
        let item = |t: &str| {
            format!(
                "<item><title>{t}</title><link>https://ex.org/{}</link></item>",
                t.len()
            )
        };
        let wrap = |version: &str, body: String| {
            format!("<rss{version}><channel><title>x</title>{body}</channel></rss>")
        };
        let cases = [
            (wrap(" version=\"2.0\"", item("Tom & Jerry")), "Tom & Jerry", "entities and stray ampersands escaped"),
            (wrap(" version=\"2.0\"", item("caf&eacute; &mdash; news")), "café — news", "entities and stray ampersands escaped"),
            (wrap(" version=\"2.0\"", item("bell\u{7}ringer")), "bellringer", "control characters removed"),
            (wrap("", item("no version")), "no version", "RSS version set to 2.0"),
            (wrap(" version=\"0.94\"", item("odd version")), "odd version", "RSS version set to 2.0"),
            (wrap(" version=\"2.01\"", item("two oh one")), "two oh one", "RSS version set to 2.0"),
            (
                wrap(" version=\"2.0\"", "<item><title>line<br>break</title><link>https://ex.org/b</link><description>a<br>b</description></item>".to_string()),
                "break",
                "unclosed void tags closed",
            ),
            (format!("<rss version=\"2.0\"><channel><title>x</title>{}<item><title>cut of", item("kept")), "kept", "truncated document closed"),
        ];
        for (xml, title, repair) in cases {
            let (got, repairs) = titles(&xml)?;
            assert!(
                got.first().is_some_and(|t| t.contains(title)),
                "{xml}: {got:?}"
            );
            assert!(repairs.contains(&repair), "{xml}: {repairs:?}");
        }
        let atom03 = r#"<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
            <entry><title>Atom zero three</title><link rel="alternate" type="text/html" href="https://ex.org/a03"/><id>tag:a03</id><issued>2004-05-01T10:00:00Z</issued><modified>2004-05-01T11:00:00Z</modified></entry></feed>"#;
        let feed = parse_feed(atom03.as_bytes(), None, "https://ex.org/atom")
            .map_err(|e| e.to_string())?;
        assert_eq!(feed.items[0].title.as_deref(), Some("Atom zero three"));
        assert_eq!(
            feed.items[0].published_at.map(|d| d.to_rfc3339()),
            Some("2004-05-01T10:00:00+00:00".to_string())
        );
        Ok(())
    }

    #[test]
    fn feed_dates_go_through_our_parser() -> Result<(), String> {
        let xml = "<rss version=\"2.0\"><channel><title>x</title>\
            <item><title>a</title><link>https://ex.org/1</link><pubDate>الجمعة ٠١ مارس ٢٠١٩ ١٠:١٢</pubDate></item>\
            <item><title>b</title><link>https://ex.org/2</link><pubDate>Fri, 01 Mar 2019 13:12:00 GMT+3</pubDate></item>\
            <item><title>c</title><link>https://ex.org/3</link><pubDate>someday</pubDate></item>\
            <item><title>d</title><link>https://ex.org/4</link><pubDate>11 شوال 1441هـ</pubDate></item>\
            <item><title>e</title><link>https://ex.org/5</link><pubDate>السبت - 4 ربيع الآخر 1436 هـ - 24 يناير 2015 مـ</pubDate></item></channel></rss>";
        let feed =
            parse_feed(xml.as_bytes(), None, "https://ex.org/rss").map_err(|e| e.to_string())?;
        let dates: Vec<Option<String>> = feed
            .items
            .iter()
            .map(|i| i.published_at.map(|d| d.to_rfc3339()))
            .collect();
        assert_eq!(
            dates,
            vec![
                Some("2019-03-01T10:12:00+00:00".to_string()),
                Some("2019-03-01T10:12:00+00:00".to_string()),
                None,
                Some("2020-06-03T00:00:00+00:00".to_string()),
                Some("2015-01-24T00:00:00+00:00".to_string()),
            ]
        );
        Ok(())
    }

    #[test]
    fn titles_are_text_read_by_their_declared_kind() -> Result<(), String> {
        let atom = |title: &str| {
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><id>urn:f</id><updated>2020-01-01T00:00:00Z</updated><entry><id>urn:e</id><updated>2020-01-01T00:00:00Z</updated><link href="https://ex.org/e"/>{title}</entry></feed>"#
            )
        };
        for (document, expected) in [
            (atom(r#"<title type="text">a &lt; b &lt;c&gt;</title>"#), "a < b <c>"),
            (atom(r#"<title type="html">&lt;em&gt;a&lt;/em&gt; &amp;amp; b</title>"#), "a & b"),
            (atom(r#"<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">&lt;blink&gt; <b>x</b></div></title>"#), "<blink> x"),
            ("<rss version=\"2.0\"><channel><title>F</title><item><title>&lt;b&gt;x&lt;/b&gt; &amp;amp; y</title><link>https://ex.org/1</link></item></channel></rss>".to_string(), "x & y"),
            ("<rss version=\"2.0\"><channel><title>F</title><item><title>3 &lt; 5</title><link>https://ex.org/1</link></item></channel></rss>".to_string(), "3 < 5"),
        ] {
            let feed = parse_feed(document.as_bytes(), None, "https://ex.org/feed").map_err(|e| e.to_string())?;
            assert_eq!(feed.items[0].title.as_deref(), Some(expected), "{document}");
        }
        Ok(())
    }

    #[test]
    fn empty_feeds_and_unknown_feed_namespaces_are_feeds() -> Result<(), String> {
        for document in [
            "<rss version=\"0.91\"></rss>",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>",
        ] {
            let feed = parse_feed(document.as_bytes(), None, "https://ex.org/feed")
                .map_err(|e| e.to_string())?;
            assert!(feed.items.is_empty(), "{document}");
        }
        let draft = "<feed version=\"0.3\" xmlns=\"http://example.com/newformat#\"><title>Draft</title><entry><title>E</title><link href=\"https://ex.org/e\"/></entry></feed>";
        let feed =
            parse_feed(draft.as_bytes(), None, "https://ex.org/feed").map_err(|e| e.to_string())?;
        assert_eq!(feed.title.as_deref(), Some("Draft"));
        assert_eq!(feed.items[0].title.as_deref(), Some("E"));
        assert!(
            !feed.recovered.is_empty(),
            "the reading says how it was recovered"
        );
        Ok(())
    }
}
