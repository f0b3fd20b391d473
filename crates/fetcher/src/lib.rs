//! Khabar's fetcher: polls feeds and news sitemaps politely, decodes any charset, repairs
//! broken feeds, parses them with feed-rs, emits one record per new item, and fetches article
//! pages (minding robots.txt).
//!
//! Stages registered here: sources `feed` and `sitemap`, transform `fetch_article`.

mod address;
mod article;
mod decode;
mod discover;
mod error;
mod feed;
mod http;
pub mod metrics;
mod opml;
mod politeness;
mod repair;
mod robots;
mod schedule;
mod sitemap;
mod source;
mod tolerant;

pub use address::{is_private, PRIVATE_ADDRESS_REFUSED};
pub use article::FetchArticleConfig;
pub use decode::{decode_html, decode_xml, encoding_for_label, Decoded};
pub use discover::{feed_links, looks_like_html};
pub use error::{LocationError, ParserPanic, SetupError, SubscriptionError, XmlError};
pub use feed::{contain_panic, parse_feed, FeedError, FeedItem, ParsedFeed};
pub use http::{
    parse_retry_after, FailureKind, FetchError, Fetched, Fetcher, HttpOptions, Validators,
    MAX_RETRY_AFTER,
};
pub use opml::{parse_opml, write_opml, OpmlFeed};
pub use politeness::Politeness;
pub use repair::{close_truncated, repair_markup, Repaired};
pub use robots::{crawl_delay, RobotsCache, ROBOTS_AGENT};
pub use schedule::{Policy, ScheduleState};
pub use sitemap::{parse_sitemap, Sitemap};
pub use source::{
    feed_status, import_feeds, FeedHealth, FeedSourceConfig, FeedState, FeedStatus,
    SitemapSourceConfig, Subscription, FAILING_AFTER,
};

use khabar_core_model::Registry;

/// Adds this crate's stage types to `registry`.
pub fn register(registry: &mut Registry) {
    registry.add_source::<FeedSourceConfig>(
        "feed",
        "polls RSS, Atom and JSON Feed URLs (http, https, file) with conditional GET and adaptive scheduling; one record per new item",
    );
    registry.add_source::<SitemapSourceConfig>(
        "sitemap",
        "polls news sitemaps (and sitemap indexes); one record per new article URL with its news title, date and language",
    );
    registry.add_transform::<FetchArticleConfig>(
        "fetch_article",
        "fetches each item's page (http, https, file), minding robots.txt, and keeps its HTML for the normalizer",
    );
}

/// Turns a feed or page location from a config or the command line into a URL: `http(s)://`
/// and `file://` as they are, anything else is a file path relative to `base_dir`.
pub fn location_to_url(
    location: &str,
    base_dir: &std::path::Path,
) -> Result<url::Url, LocationError> {
    let trimmed = location.trim();
    if let Ok(url) = url::Url::parse(trimmed) {
        return match url.scheme() {
            "http" | "https" | "file" => Ok(url),
            other => Err(LocationError::Scheme {
                location: trimmed.to_string(),
                scheme: other.to_string(),
            }),
        };
    }
    let path = std::path::Path::new(trimmed);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let base = std::fs::canonicalize(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
        base.join(path)
    };
    url::Url::from_file_path(&absolute).map_err(|_| LocationError::NotAPath {
        location: trimmed.to_string(),
    })
}
