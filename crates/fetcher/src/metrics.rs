//! The metrics the fetcher counts as it works (the runtime's `metrics::names` has the rest;
//! the same `khabar_` prefix and `component_id` label).

/// Feed polls by `result`: `new_items`, `no_new_items`, `not_modified` (304 or the same body
/// as last time), `error`, `gone` (HTTP 410) (labels also `component_id`).
pub const FEED_POLLS: &str = "khabar_feed_polls_total";
/// Feeds of a source by `status` (see `FeedHealth`): ok, new, backing_off, failing,
/// disabled, moved, crashed.
pub const FEEDS: &str = "khabar_feeds";
/// How long each HTTP fetch took, from the first request to the last body byte, by
/// `component_id`, `host_class` and `result` (`ok`, `not_modified`, `http_4xx`, `http_5xx`,
/// `error`).
pub const FETCH_SECONDS: &str = "khabar_fetch_duration_seconds";
/// Body bytes received (after decompression), by `component_id` and `host_class`.
pub const FETCH_BYTES: &str = "khabar_fetch_bytes_total";

/// The class of host a fetch reached, a label small enough to keep for thousands of hosts:
/// `public`, `private` (a private, loopback or link-local address), `file` or `unknown`
/// (no connection was made, or through a proxy).
pub(crate) fn host_class(remote: Option<std::net::SocketAddr>, via_proxy: bool) -> &'static str {
    match remote {
        _ if via_proxy => "unknown",
        Some(address) if crate::address::is_private(address.ip()) => "private",
        Some(_) => "public",
        None => "unknown",
    }
}

/// Gives the fetcher's metrics their help text; called once, after the recorder is installed.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(FEED_POLLS, "Feed polls, by result");
    describe_gauge!(FEEDS, "Feeds of a source, by status");
    describe_histogram!(
        FETCH_SECONDS,
        Unit::Seconds,
        "HTTP fetches, first request to last body byte"
    );
    describe_counter!(FETCH_BYTES, Unit::Bytes, "Body bytes received");
}
