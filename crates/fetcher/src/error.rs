//! The fetcher's errors that are not fetch failures: locations, feed lists, sitemaps, setup.
//! Each keeps its cause (an I/O error, the XML reader's) behind the message.

use std::path::PathBuf;

/// A feed or page location from a config or the command line that is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("{location:?}: unsupported scheme {scheme:?}; use http, https or file")]
    Scheme { location: String, scheme: String },
    #[error("{location:?}: neither a URL nor a usable file path")]
    NotAPath { location: String },
}

/// An XML document (OPML, sitemap) that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("{what}: {source} at byte {position}")]
    Syntax {
        what: String,
        position: u64,
        source: quick_xml::Error,
    },
    #[error("{0}")]
    Shape(String),
}

/// The feeds a source's config names could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("field `urls`: {0}")]
    Url(#[source] LocationError),
    #[error("field `opml`: {path}: {source}")]
    OpmlRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("field `opml`: {path}: {source}")]
    OpmlParse { path: PathBuf, source: XmlError },
    #[error("field `opml`: {path}: {source}")]
    OpmlEntry {
        path: PathBuf,
        source: LocationError,
    },
    #[error("feed list: {0}")]
    State(#[source] khabar_core_model::StateError),
    #[error("feed list: {0}")]
    Encode(#[source] serde_json::Error),
}

/// The HTTP client could not be set up (a proxy it cannot use, no TLS roots).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("field `http.proxy`: {proxy:?}: {source}")]
    Proxy {
        proxy: String,
        source: reqwest::Error,
    },
    #[error("HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A parser that panicked on a document: the document is skipped with this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: the parser crashed on this document; it was skipped")]
pub struct ParserPanic {
    pub what: String,
}
