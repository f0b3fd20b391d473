//! Feed autodiscovery: an HTML page names its feeds in `<link rel="alternate">`.

use khabar_html::Document;

const FEED_TYPES: [&str; 5] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// True when a document is an HTML page rather than a feed.
pub fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(2048)
        .collect::<String>()
        .to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || (head.contains("<html") && !head.contains("<rss") && !head.contains("<feed"))
}

/// The feeds a page links to, absolute, in page order (RSS and Atom before JSON Feed).
pub fn feed_links(html: &str, page_url: &str) -> Vec<String> {
    let base = url::Url::parse(page_url).ok();
    let document = Document::parse(html);
    let mut found: Vec<(usize, String)> = Vec::new();
    for (_, e) in document.elements_named("link") {
        let rel = e.attr("rel").unwrap_or("").to_ascii_lowercase();
        if !rel
            .split_whitespace()
            .any(|r| r == "alternate" || r == "feed")
        {
            continue;
        }
        let kind = e.attr("type").unwrap_or("").trim().to_ascii_lowercase();
        let Some(rank) = FEED_TYPES.iter().position(|t| *t == kind) else {
            continue;
        };
        let Some(href) = e.attr("href") else { continue };
        let absolute = match &base {
            Some(b) => b.join(href.trim()).map(|u| u.to_string()).ok(),
            None => Some(href.trim().to_string()),
        };
        if let Some(url) = absolute {
            if !found.iter().any(|(_, u)| u == &url) {
                found.push((rank.min(2), url));
            }
        }
    }
    found.sort_by_key(|(rank, _)| *rank);
    found.into_iter().map(|(_, url)| url).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_alternates_in_order() {
        let html = r#"<!DOCTYPE html><html><head>
            <link rel="alternate" type="application/feed+json" href="/feed.json">
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="News" href="/rss.xml">
            <link rel="alternate" type="application/atom+xml" href="https://cdn.example.org/atom.xml">
            </head><body></body></html>"#;
        assert!(looks_like_html(html));
        assert_eq!(
            feed_links(html, "https://example.org/news/"),
            vec![
                "https://example.org/rss.xml",
                "https://cdn.example.org/atom.xml",
                "https://example.org/feed.json"
            ]
        );
        assert!(!looks_like_html(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"></rss>"
        ));
    }
}
