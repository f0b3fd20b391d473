//! Khabar's fetcher: polls feeds politely, decodes any charset, parses with feed-rs, emits
//! one record per new item, and fetches article pages.
//!
//! Stages registered here: source `feed`, transform `fetch_article`.

mod article;
mod decode;
mod feed;
mod http;
mod opml;
mod source;

pub use article::FetchArticleConfig;
pub use decode::{decode_html, decode_xml, Decoded};
pub use feed::{parse_feed, FeedItem, ParsedFeed};
pub use http::{FetchError, Fetched, Fetcher, HttpOptions, Validators};
pub use opml::{parse_opml, OpmlFeed};
pub use source::{FeedCheckpoint, FeedSourceConfig};

use khabar_core_model::Registry;

/// Adds this crate's stage types to `registry`.
pub fn register(registry: &mut Registry) {
    registry.add_source::<FeedSourceConfig>(
        "feed",
        "polls RSS, Atom and JSON Feed URLs (http, https, file) with conditional GET; one record per new item",
    );
    registry.add_transform::<FetchArticleConfig>(
        "fetch_article",
        "fetches each item's page (http, https, file) and keeps its HTML for the normalizer",
    );
}

/// Turns a feed or page location from a config or the command line into a URL: `http(s)://`
/// and `file://` as they are, anything else is a file path relative to `base_dir`.
pub fn location_to_url(location: &str, base_dir: &std::path::Path) -> Result<url::Url, String> {
    let trimmed = location.trim();
    if let Ok(url) = url::Url::parse(trimmed) {
        return match url.scheme() {
            "http" | "https" | "file" => Ok(url),
            other => Err(format!(
                "{trimmed:?}: unsupported scheme {other:?}; use http, https or file"
            )),
        };
    }
    let path = std::path::Path::new(trimmed);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let base = std::fs::canonicalize(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
        base.join(path)
    };
    url::Url::from_file_path(&absolute)
        .map_err(|_| format!("{trimmed:?}: neither a URL nor a usable file path"))
}
