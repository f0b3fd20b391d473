//! Page metadata, from the most to the least trusted source: JSON-LD, OpenGraph and article
//! meta tags, other meta tags, `<time>`, `<title>`/`<h1>`. Each field remembers its source.

use chrono::{DateTime, Utc};
use khabar_html::Document;
use serde_json::Value;

use khabar_text::parse_date;

/// A value and where it was found (`json-ld`, `og:title`, `meta[name=author]`, `time`…).
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct PageMetadata {
    pub title: Option<Sourced<String>>,
    pub authors: Option<Sourced<Vec<String>>>,
    pub published_at: Option<Sourced<DateTime<Utc>>>,
    pub modified_at: Option<Sourced<DateTime<Utc>>>,
    pub site_name: Option<Sourced<String>>,
    pub language: Option<Sourced<String>>,
    pub canonical_url: Option<Sourced<String>>,
    pub image: Option<Sourced<String>>,
    pub section: Option<Sourced<String>>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    /// JSON-LD `articleBody`, a cross-check for the main text.
    pub article_body: Option<String>,
}

/// What metadata is read from, gathered in one walk over the page's elements.
#[derive(Default)]
struct PageParts {
    /// Every `<meta>` with content: (lower-cased property, name and itemprop values, content).
    metas: Vec<(Vec<String>, String)>,
    json_ld: Vec<String>,
    canonical: Option<String>,
    /// The first `<time datetime>` that reads as a date.
    time: Option<DateTime<Utc>>,
    /// The first visible publication line ("نشر في: 24/01/2015 - 16:08", "Published on …")
    /// or `<time>` text that reads as a date.
    visible_date: Option<DateTime<Utc>>,
    html_lang: Option<String>,
    /// The page's first few `<h1>`s: one may be the site's banner or a section heading.
    h1s: Vec<String>,
    title: Option<String>,
}

impl PageParts {
    fn read(document: &Document) -> PageParts {
        let mut parts = PageParts::default();
        for (node, e) in document.elements() {
            match e.name() {
                "meta" => {
                    let names: Vec<String> = ["property", "name", "itemprop"]
                        .iter()
                        .filter_map(|a| e.attr(a))
                        .map(str::to_ascii_lowercase)
                        .collect();
                    if names.is_empty() {
                        continue;
                    }
                    if let Some(content) = e.attr("content").and_then(non_empty) {
                        parts.metas.push((names, content));
                    }
                }
                "script"
                    if e.attr("type")
                        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
                {
                    parts.json_ld.push(node.text_content());
                }
                "link" if parts.canonical.is_none() => {
                    let is_canonical = e.attr("rel").is_some_and(|rel| {
                        rel.split_ascii_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("canonical"))
                    });
                    if is_canonical {
                        parts.canonical = e.attr("href").and_then(non_empty);
                    }
                }
                "time" if parts.time.is_none() => {
                    parts.time = e.attr("datetime").and_then(parse_date);
                    if parts.time.is_none() && parts.visible_date.is_none() {
                        parts.visible_date = parse_date(&node.text_content());
                    }
                }
                "span" | "p" | "div" | "li" | "small" | "em" | "strong" | "b"
                    if parts.visible_date.is_none() =>
                {
                    parts.visible_date = publication_line(&node);
                }
                "html" if parts.html_lang.is_none() => {
                    parts.html_lang = e.attr("lang").and_then(non_empty);
                }
                "h1" if parts.h1s.len() < MAX_H1S => {
                    parts.h1s.extend(non_empty(&node.text_content()));
                }
                "title" if parts.title.is_none() => parts.title = non_empty(&node.text_content()),
                _ => {}
            }
        }
        parts
    }
}

/// How many `<h1>`s are weighed as the headline.
const MAX_H1S: usize = 4;

/// Labels that open a visible publication line (search form).
const PUBLICATION_LABELS: &[&str] = &[
    "نشر في",
    "نشر بتاريخ",
    "تم نشره",
    "تم النشر",
    "تاريخ النشر",
    "published on",
    "published",
    "posted on",
];

/// The date of an element whose own text (no child elements, a short line) opens with a
/// publication label.
fn publication_line(node: &khabar_html::NodeRef) -> Option<DateTime<Utc>> {
    // Only leaves: a container's text is the whole page below it.
    let mut text = String::new();
    for child in node.children() {
        match child.data() {
            khabar_html::NodeData::Text(t) => text.push_str(t),
            _ => return None,
        }
        if text.len() > 200 {
            return None;
        }
    }
    // Most leaves are no publication line: fold only enough of each to see its label.
    let head: String = text.trim_start().chars().take(16).collect();
    let head = khabar_text::normalize_for_search(&head);
    if !PUBLICATION_LABELS
        .iter()
        .any(|label| head.starts_with(label))
    {
        return None;
    }
    let folded = khabar_text::normalize_for_search(&text);
    let folded = folded.trim_start();
    let label = PUBLICATION_LABELS
        .iter()
        .find(|label| folded.starts_with(*label))?;
    let rest = folded.get(label.len()..)?;
    parse_date(rest.trim_start_matches([':', ' ', '-']))
}

fn first<T>(slot: &mut Option<Sourced<T>>, value: Option<T>, source: &'static str) {
    if slot.is_none() {
        if let Some(value) = value {
            *slot = Some(Sourced { value, source });
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = khabar_text::collapse_whitespace(s);
    (!s.is_empty()).then_some(s)
}

/// `<meta property|name|itemprop=KEY content=…>`, case-insensitive on the key.
struct Metas(Vec<(Vec<String>, String)>);

impl Metas {
    /// The first key (in order of trust) any meta carries.
    fn first(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| {
            let key = key.to_ascii_lowercase();
            self.0
                .iter()
                .find(|(names, _)| names.contains(&key))
                .map(|(_, content)| content.clone())
        })
    }

    /// Every value of a key (`article:tag`), in page order.
    fn all(&self, key: &str) -> Vec<String> {
        let key = key.to_ascii_lowercase();
        self.0
            .iter()
            .filter(|(names, _)| names.contains(&key))
            .map(|(_, content)| content.clone())
            .collect()
    }
}

fn is_article_type(value: &Value) -> bool {
    let matches = |t: &str| {
        t.ends_with("Article")
            || matches!(
                t,
                "BlogPosting" | "Report" | "LiveBlogPosting" | "WebPage" | "Posting"
            )
    };
    match value.get("@type") {
        Some(Value::String(t)) => matches(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(matches),
        _ => false,
    }
}

fn article_rank(value: &Value) -> u8 {
    // Prefer a real article over a generic WebPage.
    match value.get("@type") {
        Some(Value::String(t)) if t == "WebPage" => 1,
        _ => 2,
    }
}

/// Every JSON-LD object of article type, best first.
fn json_ld_articles(blocks: &[String]) -> Vec<Value> {
    let mut found = Vec::new();
    fn collect(value: Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.into_iter().for_each(|v| collect(v, out)),
            Value::Object(mut map) => {
                if let Some(graph) = map.remove("@graph") {
                    collect(graph, out);
                }
                let value = Value::Object(map);
                if is_article_type(&value) {
                    out.push(value);
                }
            }
            _ => {}
        }
    }
    for text in blocks {
        // Sites leave trailing commas and control characters; a broken block is skipped.
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .collect();
        if let Ok(value) = serde_json::from_str::<Value>(cleaned.trim()) {
            collect(value, &mut found);
        }
    }
    found.sort_by_key(|v| std::cmp::Reverse(article_rank(v)));
    found
}

/// A JSON-LD string as text: what a script element holds is not entity-decoded by the HTML
/// parser, and sites write `&quot;` and `&amp;` into their JSON-LD all the same.
fn ld_text(s: &str) -> Option<String> {
    non_empty(&html_escape::decode_html_entities(s))
}

fn ld_str(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) => ld_text(s),
        Value::Array(items) => items.iter().filter_map(Value::as_str).find_map(ld_text),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("@id"))
            .or_else(|| o.get("url"))
            .and_then(Value::as_str)
            .and_then(ld_text),
        _ => None,
    }
}

fn ld_names(value: &Value, key: &str) -> Option<Vec<String>> {
    let names: Vec<String> = match value.get(key)? {
        Value::String(s) => ld_text(s).into_iter().collect(),
        Value::Object(o) => o
            .get("name")
            .and_then(Value::as_str)
            .and_then(ld_text)
            .into_iter()
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => ld_text(s),
                Value::Object(o) => o.get("name").and_then(Value::as_str).and_then(ld_text),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    (!names.is_empty()).then_some(names)
}

/// Removes a site-name suffix or prefix: "Title | Site", "Site - Title".
pub fn clean_title(title: &str, site_name: Option<&str>) -> String {
    let title = khabar_text::collapse_whitespace(title);
    for separator in [" | ", " - ", " – ", " — ", " :: ", " « ", " » ", " · "] {
        let parts: Vec<&str> = title.split(separator).collect();
        if parts.len() < 2 {
            continue;
        }
        let is_site = |part: &str| {
            let part = part.trim();
            site_name.is_some_and(|s| part.eq_ignore_ascii_case(s.trim()))
        };
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if is_site(last) {
            return parts[..parts.len() - 1].join(separator).trim().to_string();
        }
        if is_site(first) {
            return parts[1..].join(separator).trim().to_string();
        }
        // Unknown site name: a short last part after a pipe is almost always the site.
        if separator == " | " && last.chars().count() * 3 < first.chars().count() {
            return parts[..parts.len() - 1].join(separator).trim().to_string();
        }
    }
    title
}

pub fn extract(document: &Document) -> PageMetadata {
    let mut m = PageMetadata::default();
    let parts = PageParts::read(document);
    let metas = Metas(parts.metas);
    let articles = json_ld_articles(&parts.json_ld);
    for ld in &articles {
        first(
            &mut m.title,
            ld_str(ld, "headline").or_else(|| ld_str(ld, "name")),
            "json-ld",
        );
        first(
            &mut m.published_at,
            ld_str(ld, "datePublished").and_then(|d| parse_date(&d)),
            "json-ld",
        );
        first(
            &mut m.modified_at,
            ld_str(ld, "dateModified").and_then(|d| parse_date(&d)),
            "json-ld",
        );
        first(&mut m.authors, ld_names(ld, "author"), "json-ld");
        first(
            &mut m.site_name,
            ld.get("publisher").and_then(|p| ld_str(p, "name")),
            "json-ld",
        );
        first(&mut m.language, ld_str(ld, "inLanguage"), "json-ld");
        first(&mut m.section, ld_str(ld, "articleSection"), "json-ld");
        first(&mut m.image, ld_str(ld, "image"), "json-ld");
        if m.article_body.is_none() {
            // Tidied only if it is used (it is a whole article long).
            m.article_body = ld
                .get("articleBody")
                .and_then(Value::as_str)
                .filter(|body| !body.trim().is_empty())
                .map(str::to_string);
        }
        if let Some(keywords) = ld.get("keywords") {
            let list: Vec<String> = match keywords {
                Value::String(s) => s.split(',').filter_map(non_empty).collect(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(non_empty)
                    .collect(),
                _ => Vec::new(),
            };
            m.tags.extend(list);
        }
    }
    first(
        &mut m.site_name,
        metas.first(&["og:site_name"]),
        "og:site_name",
    );
    // The JSON-LD headline (already in `m.title`) and og:title are both weighed below.
    let og_title = metas.first(&["og:title"]);
    first(
        &mut m.published_at,
        metas
            .first(&["article:published_time"])
            .and_then(|d| parse_date(&d)),
        "article:published_time",
    );
    first(
        &mut m.published_at,
        metas
            .first(&[
                "datePublished",
                "pubdate",
                "publishdate",
                "publish-date",
                "date",
                "dc.date",
                "dc.date.issued",
                "dcterms.created",
                "sailthru.date",
                "parsely-pub-date",
                "og:published_time",
            ])
            .and_then(|d| parse_date(&d)),
        "meta",
    );
    first(
        &mut m.modified_at,
        metas
            .first(&[
                "article:modified_time",
                "og:updated_time",
                "dateModified",
                "last-modified",
            ])
            .and_then(|d| parse_date(&d)),
        "article:modified_time",
    );
    let meta_authors: Vec<String> = metas
        .all("author")
        .into_iter()
        .chain(
            metas
                .all("article:author")
                .into_iter()
                .filter(|a| !a.starts_with("http")),
        )
        .collect();
    first(
        &mut m.authors,
        (!meta_authors.is_empty()).then_some(meta_authors),
        "meta[name=author]",
    );
    first(
        &mut m.section,
        metas.first(&["article:section"]),
        "article:section",
    );
    first(
        &mut m.image,
        metas.first(&["og:image", "twitter:image"]),
        "og:image",
    );
    m.tags.extend(metas.all("article:tag"));
    if m.tags.is_empty() {
        if let Some(keywords) = metas.first(&["keywords", "news_keywords"]) {
            m.tags.extend(keywords.split(',').filter_map(non_empty));
        }
    }
    let mut unique = std::collections::HashSet::new();
    m.tags.retain(|t| unique.insert(t.to_lowercase()));
    m.description = metas.first(&["og:description", "description", "twitter:description"]);

    first(&mut m.canonical_url, parts.canonical, "link[rel=canonical]");
    first(&mut m.canonical_url, metas.first(&["og:url"]), "og:url");
    first(&mut m.published_at, parts.time, "time");
    first(&mut m.published_at, parts.visible_date, "page");
    first(&mut m.language, parts.html_lang, "html[lang]");
    first(
        &mut m.language,
        metas.first(&["og:locale", "content-language", "language"]),
        "meta",
    );
    let site = m.site_name.as_ref().map(|s| s.value.clone());
    let mut candidates: Vec<Sourced<String>> = m.title.take().into_iter().collect();
    if let Some(og) = og_title {
        candidates.push(Sourced {
            value: og,
            source: "og:title",
        });
    }
    if let Some(twitter) = metas.first(&["twitter:title"]) {
        candidates.push(Sourced {
            value: twitter,
            source: "twitter:title",
        });
    }
    candidates.extend(parts.h1s.into_iter().map(|value| Sourced {
        value,
        source: "h1",
    }));
    candidates.extend(parts.title.map(|value| Sourced {
        value,
        source: "title",
    }));
    m.title = choose_title(candidates, site.as_deref());
    m
}

/// The headline among the page's candidates (JSON-LD, og:title, twitter:title, the `<h1>`s,
/// `<title>`, in that order of trust), each with its site name cut off. The one most others
/// agree with wins (ties by trust): an `<h1>` that is the site's banner or a section heading
/// agrees with nothing, while `<title>`, og:title and JSON-LD agree on the headline. With
/// no agreement, trust decides, except that an `<h1>` of one or two words (a section name)
/// or the site's name gives way to the `<title>`, and a name of one or two words gives way
/// to a headline as well supported.
fn choose_title(candidates: Vec<Sourced<String>>, site: Option<&str>) -> Option<Sourced<String>> {
    let cleaned: Vec<Sourced<String>> = candidates
        .into_iter()
        .map(|c| Sourced {
            value: clean_title(&c.value, site),
            source: c.source,
        })
        .filter(|c| !c.value.is_empty())
        .collect();
    let folded: Vec<String> = cleaned
        .iter()
        .map(|c| khabar_text::normalize_for_search(&c.value))
        .collect();
    let agree = |a: &str, b: &str| {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        // One is the other, or the other with a kicker or a site name around it.
        !short.is_empty() && long.contains(short) && short.len() * 5 >= long.len() * 3
    };
    let agreement = |i: usize| {
        (0..folded.len())
            .filter(|&j| j != i && cleaned[j].source != cleaned[i].source)
            .filter(|&j| agree(&folded[i], &folded[j]))
            .count()
    };
    let is_banner = |c: &Sourced<String>| {
        c.source == "h1"
            && (c.value.split_whitespace().count() <= 2
                || site.is_some_and(|s| c.value.eq_ignore_ascii_case(s.trim())))
    };
    let has_title = cleaned.iter().any(|c| c.source == "title");
    // Of equally supported candidates, a headline beats a name of one or two words (a site
    // or a section), then trust decides.
    let mut best: Option<(usize, (usize, bool))> = None;
    for (index, candidate) in cleaned.iter().enumerate() {
        let votes = agreement(index);
        if votes == 0 && has_title && is_banner(candidate) {
            continue;
        }
        let rank = (votes, candidate.value.split_whitespace().count() > 2);
        if best.is_none_or(|(_, top)| rank > top) {
            best = Some((index, rank));
        }
    }
    let (index, _) = best?;
    cleaned.into_iter().nth(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_suffixes() {
        assert_eq!(
            clean_title("Strikes on Baghouz | العربي الجديد", Some("العربي الجديد")),
            "Strikes on Baghouz"
        );
        assert_eq!(
            clean_title("BBC News - Strikes on Baghouz resume", Some("BBC News")),
            "Strikes on Baghouz resume"
        );
        assert_eq!(
            clean_title("A long headline about something important | Site", None),
            "A long headline about something important"
        );
        assert_eq!(clean_title("Left - right", None), "Left - right");
    }

    #[test]
    fn sources_in_order_of_trust() {
        let html = r#"<html lang="en"><head>
          <title>Page title | Site</title>
          <meta property="og:title" content="OG title">
          <meta property="og:site_name" content="Site">
          <meta property="article:published_time" content="2020-01-02T03:04:05Z">
          <meta name="author" content="Jane Roe">
          <script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"NewsArticle","headline":"LD headline","datePublished":"2020-01-01T00:00:00Z","author":[{"@type":"Person","name":"John Doe"}]}]}</script>
          </head><body><h1>H1</h1><time datetime="2019-01-01">x</time></body></html>"#;
        let m = extract(&Document::parse(html));
        assert_eq!(
            m.title.as_ref().map(|t| (t.value.as_str(), t.source)),
            Some(("LD headline", "json-ld"))
        );
        assert_eq!(m.published_at.as_ref().map(|t| t.source), Some("json-ld"));
        assert_eq!(
            m.authors.as_ref().map(|a| a.value.clone()),
            Some(vec!["John Doe".to_string()])
        );
        assert_eq!(m.site_name.as_ref().map(|s| s.value.as_str()), Some("Site"));
        assert_eq!(m.language.as_ref().map(|s| s.value.as_str()), Some("en"));
        let bare = extract(&Document::parse("<html><head><title>Only a title here | Site</title></head><body><time datetime=\"2019-01-01\">x</time></body></html>"));
        assert_eq!(
            bare.title.map(|t| t.value),
            Some("Only a title here".to_string())
        );
        assert_eq!(bare.published_at.map(|t| t.source), Some("time"));
    }

    #[test]
    fn a_visible_publication_line_dates_the_page() {
        for (html, expected) in [
            (
                r#"<html><body><div class="meta"><span>نشر في: 24/01/2015 - 16:08</span></div><article><p>نص</p></article></body></html>"#,
                Some("2015-01-24T16:08:00+00:00"),
            ),
            (
                r#"<html><body><p>تم نشره 6 يناير، 2015، الساعة 05:16 مساءً</p></body></html>"#,
                Some("2015-01-06T17:16:00+00:00"),
            ),
            (
                r#"<html><body><time>السبت، 24 يناير 2015 - 4:08 م</time></body></html>"#,
                Some("2015-01-24T16:08:00+00:00"),
            ),
            // A date in running text is not the page's date.
            (
                r#"<html><body><p>وقعت الحادثة في 24 يناير 2015 في المدينة</p></body></html>"#,
                None,
            ),
        ] {
            let m = extract(&Document::parse(html));
            assert_eq!(
                m.published_at.map(|t| t.value.to_rfc3339()).as_deref(),
                expected,
                "{html}"
            );
        }
    }

    #[test]
    fn json_ld_text_is_entity_decoded() {
        let html = r#"<html><head><script type="application/ld+json">{"@type":"NewsArticle","headline":"&quot;الهدنة&quot; تصمد في غزة &amp; رفح","author":{"@type":"Person","name":"سامي &amp; ليلى"}}</script></head><body></body></html>"#;
        let m = extract(&Document::parse(html));
        assert_eq!(
            m.title.map(|t| t.value).as_deref(),
            Some("\"الهدنة\" تصمد في غزة & رفح")
        );
        assert_eq!(
            m.authors.map(|a| a.value),
            Some(vec!["سامي & ليلى".to_string()])
        );
    }

    #[test]
    fn publication_times_written_in_arabic() {
        for (content, expected) in [
            ("السبت، 24 يناير 2015 - 4:08 م", "2015-01-24T16:08:00+00:00"),
            ("11 شوال 1441 هـ", "2020-06-03T00:00:00+00:00"),
            (
                "1 آذار/مارس 2019 14:30 بتوقيت مكة المكرمة",
                "2019-03-01T11:30:00+00:00",
            ),
        ] {
            let html = format!(
                r#"<html><head><meta property="article:published_time" content="{content}"></head><body></body></html>"#
            );
            let m = extract(&Document::parse(&html));
            assert_eq!(
                m.published_at.map(|t| t.value.to_rfc3339()).as_deref(),
                Some(expected),
                "{content}"
            );
        }
    }

    #[test]
    fn the_headline_is_the_title_most_sources_agree_on() {
        let page = |head: &str, body: &str| {
            let m = extract(&Document::parse(&format!(
                "<html><head>{head}</head><body>{body}</body></html>"
            )));
            m.title.map(|t| (t.value, t.source))
        };
        let headline = "Strikes resume on the last pocket held near Baghouz";
        // A banner <h1> and a section <h1>; <title>, og:title and JSON-LD agree.
        let agreeing = format!(
            r#"<title>{headline} | Site</title><meta property="og:site_name" content="Site"><meta property="og:title" content="{headline}"><script type="application/ld+json">{{"@type":"NewsArticle","headline":"{headline}"}}</script>"#
        );
        assert_eq!(
            page(&agreeing, "<h1>The Daily Site Network</h1><h1>World</h1>").map(|t| t.0),
            Some(headline.to_string())
        );
        // The JSON-LD names the site, og:title and the <h1> the story.
        let ld_wrong = format!(
            r#"<title>Site</title><meta property="og:title" content="{headline}"><script type="application/ld+json">{{"@type":"NewsArticle","headline":"Site"}}</script>"#
        );
        assert_eq!(
            page(&ld_wrong, &format!("<h1>{headline}</h1>")),
            Some((headline.to_string(), "og:title"))
        );
        // Only a section <h1> and a <title>: the title, its site name cut.
        assert_eq!(
            page(
                "<title>Strikes resume near Baghouz | Site</title>",
                "<h1>Politics</h1>"
            ),
            Some(("Strikes resume near Baghouz".to_string(), "title"))
        );
        // Only an <h1>: it is the headline however short.
        assert_eq!(
            page("", "<h1>Ceasefire</h1>"),
            Some(("Ceasefire".to_string(), "h1"))
        );
        // An Arabic headline with a kicker in <title>.
        assert_eq!(
            page(
                "<title>عاجل: التحالف يقصف مواقع في الباغوز - العربي الجديد</title><meta property=\"og:site_name\" content=\"العربي الجديد\">",
                "<h1>التحالف يقصف مواقع في الباغوز</h1><h1>أخبار</h1>"
            )
            .map(|t| t.1),
            Some("h1")
        );
    }
}
