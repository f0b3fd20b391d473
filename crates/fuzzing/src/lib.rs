//! The entry points of Khabar's fuzz targets: each takes arbitrary bytes, as a hostile server
//! or a careless operator would give them, and must return without panicking, looping or
//! blowing up memory. `fuzz/` (run by `cargo xtask fuzz`) drives them with libFuzzer; the
//! test in `tests/corpus.rs` replays every saved input (the corpora and the crashes found,
//! kept as regressions) on each `cargo test`, so CI runs every target on its corpus.

use chrono::{TimeZone, Utc};

/// A fuzz target: arbitrary bytes in, nothing out (it must only not panic).
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and `cargo xtask fuzz` use.
pub const TARGETS: [(&str, Target); 7] = [
    ("feed", feed),
    ("html", html),
    ("dates", dates),
    ("opml", opml),
    ("sitemap", sitemap),
    ("robots", robots),
    ("config", config),
];

/// Decoding, repair and parsing of a feed; the first byte picks the content type a server
/// claimed, so that charset labels are exercised too.
pub fn feed(data: &[u8]) {
    let (content_type, body) = with_content_type(data);
    if let Ok(parsed) = khabar_fetcher::parse_feed(body, content_type, "https://fuzz.example/feed")
    {
        for item in &parsed.items {
            // Links come from the network: turning them into URLs must not panic either.
            if let Some(link) = &item.url {
                let _ = url::Url::parse(link);
            }
        }
    }
}

fn with_content_type(data: &[u8]) -> (Option<&'static str>, &[u8]) {
    const TYPES: [Option<&str>; 6] = [
        None,
        Some("application/rss+xml; charset=utf-8"),
        Some("text/xml; charset=windows-1256"),
        Some("application/atom+xml; charset=iso-8859-1"),
        Some("application/feed+json"),
        Some("text/html"),
    ];
    match data.split_first() {
        Some((first, rest)) => (TYPES[usize::from(*first) % TYPES.len()], rest),
        None => (None, data),
    }
}

/// The HTML reader, and the whole normalizer (main text, metadata, dates, language) on what
/// it reads.
pub fn html(data: &[u8]) {
    let decoded = khabar_fetcher::decode_html(data, None);
    let document = khabar_html::Document::parse(&decoded.text);
    let _ = document.len();
    let mut article = khabar_core_model::Article::new(
        khabar_core_model::RecordId::from_url("https://fuzz.example/a"),
        khabar_core_model::FeedRef::default(),
        "https://fuzz.example/a",
        fixed_now(),
    );
    article.html = Some(decoded.text);
    khabar_normalizer::normalize_article(&mut article);
}

fn fixed_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Every date reader: feeds and metadata, relative dates, Hijri dates, datelines, URLs.
pub fn dates(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = khabar_text::parse_date(&text);
    let _ = khabar_text::parse_metadata_date(&text);
    let _ = khabar_text::parse_relative(&text, fixed_now());
    let _ = khabar_text::parse_hijri(&text);
    let _ = khabar_normalizer::dateline_date(&text, fixed_now());
    let _ = khabar_normalizer::url_date(&text);
    let _ = khabar_fetcher::parse_retry_after(&text);
}

/// OPML feed lists (operator input, but often downloaded from elsewhere).
pub fn opml(data: &[u8]) {
    let text = khabar_fetcher::decode_xml(data, None).text;
    let _ = khabar_fetcher::parse_opml(&text);
}

/// News sitemaps and sitemap indexes.
pub fn sitemap(data: &[u8]) {
    let (content_type, body) = with_content_type(data);
    let _ = khabar_fetcher::parse_sitemap(body, content_type, "https://fuzz.example/sitemap.xml");
}

/// robots.txt as the fetcher reads it: the rules, a few paths, the crawl delay.
pub fn robots(data: &[u8]) {
    if let Ok(robot) = texting_robots::Robot::new(khabar_fetcher::ROBOTS_AGENT, data) {
        for path in [
            "https://fuzz.example/",
            "https://fuzz.example/news/1.html?x=1",
        ] {
            let _ = robot.allowed(path);
        }
        if let Some(delay) = robot.delay {
            let _ = khabar_fetcher::crawl_delay(delay);
        }
    }
}

/// Config loading and validation with every built-in type (no network, no disk).
pub fn config(data: &[u8]) {
    let (format, body) = match data.split_first() {
        Some((first, rest)) => (["toml", "yaml", "json"][usize::from(*first) % 3], rest),
        None => ("toml", data),
    };
    let text = String::from_utf8_lossy(body);
    let dir = std::env::temp_dir();
    if let Ok(raw) = khabar_runtime::parse_config(&text, format, &dir) {
        let _ = khabar_runtime::validate(&raw, &khabar::builtin_registry());
    }
}
