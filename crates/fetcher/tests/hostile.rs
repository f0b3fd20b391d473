//! A hostile-server suite on loopback: each test plays one server that a production fetcher
//! meets sooner or later (a body that never ends, one byte a second, decompression bombs,
//! redirect tricks, absurd `Retry-After`, resets mid-body, 10,000 items, deep nesting,
//! billion laughs, links to local files). Each must end with a clear error or a correct parse,
//! with bounded memory (the process's peak RSS is measured around the poll; the tests take
//! turns so that one's allocations are not another's), and the feed still scheduled.

mod common;

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{count, feed_state, poll_once, rss, settings, Poll};
use khabar_core_model::{
    Article, BuildContext, FeedRef, MemoryStateStore, RecordId, TransformConfig, Verdict,
};
use khabar_fetcher::{FeedState, FetchArticleConfig};
use khabar_testkit::{RawServer, Reply, TestServer};
use serde_json::json;

/// One hostile test at a time, so that the peak RSS measured is this test's.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    TURN.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Measures how far the process's resident memory peaks above where it was, while `poll`
/// runs: the kernel's high-water mark is reset first (`clear_refs` 5).
async fn peak_growth_mib<F: std::future::Future<Output = T>, T>(poll: F) -> (T, u64) {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let result = poll.await;
    let peak = status_kib("VmHWM:");
    (result, peak.saturating_sub(before) / 1024)
}

/// The feed was polled, failed with a message containing `expected`, and is scheduled again.
fn failed_and_rescheduled(poll: &Poll, state: &FeedState, expected: &str) {
    assert_eq!(count(&poll.stats.feeds_failed), 1, "the poll failed");
    let error = state.last_error.as_deref().unwrap_or("");
    assert!(
        error.contains(expected),
        "error {error:?} should say {expected:?}"
    );
    assert!(state.disabled.is_none(), "still polled: {state:?}");
    assert!(
        state.next_poll.is_some_and(|t| t > Utc::now()),
        "a next poll is scheduled: {state:?}"
    );
}

async fn poll_one(url: &str, extra: serde_json::Value) -> (Poll, FeedState, u64) {
    let store = Arc::new(MemoryStateStore::default());
    let (poll, growth) = peak_growth_mib(poll_once(
        "feed",
        settings(&[url.to_string()], extra),
        store.clone(),
    ))
    .await;
    let state = feed_state(&store, url).await;
    // Whatever the server does, one poll of one feed stays within this.
    assert!(growth < 256, "{url}: peak grew by {growth} MiB");
    (poll, state, growth)
}

/// A 1 MiB body cap and the given timeout.
fn small_cap(timeout: &str) -> serde_json::Value {
    json!({"http": {"max_body_size": 1 << 20, "timeout": timeout}})
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_the_cap() {
    let _turn = one_at_a_time().await;
    let server = RawServer::start(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n<rss version=\"2.0\"><channel><title>");
        let chunk = vec![b'a'; 64 * 1024];
        let started = Instant::now();
        // Bounded on this side too: 256 MB or 30 s, whichever comes first.
        for _ in 0..4096 {
            if stream.write_all(&chunk).is_err() || started.elapsed() > Duration::from_secs(30) {
                return;
            }
        }
    });
    let url = server.url("/endless");
    let (poll, state, growth) = poll_one(&url, small_cap("20s")).await;
    failed_and_rescheduled(&poll, &state, "limit");
    assert!(growth < 64, "peak grew by {growth} MiB");
}

#[tokio::test]
async fn a_slow_drip_times_out() {
    let _turn = one_at_a_time().await;
    let server = RawServer::start(|mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 1000\r\n\r\n",
        );
        // One byte a second, ten at most.
        for _ in 0..10 {
            if stream.write_all(b"<").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let url = server.url("/drip");
    let started = Instant::now();
    let (poll, state, _) = poll_one(&url, small_cap("2s")).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the timeout held"
    );
    failed_and_rescheduled(&poll, &state, "timed out");
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_a_transient_error() {
    let _turn = one_at_a_time().await;
    let server = RawServer::start(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n<rss version=\"2.0\"><channel>");
        // Closing with unread data and no linger sends a reset.
        let _ = socket_reset(stream);
    });
    let url = server.url("/reset");
    let (poll, state, _) = poll_one(&url, small_cap("10s")).await;
    failed_and_rescheduled(&poll, &state, "body");
    assert_eq!(state.schedule.consecutive_errors, 1, "counted as a failure");
}

/// Drops the connection with a TCP reset rather than an orderly close.
fn socket_reset(stream: std::net::TcpStream) -> std::io::Result<()> {
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}

fn compressed_bomb(encoding: &str) -> Vec<u8> {
    // 32 MB of spaces in a few kilobytes, wrapped in the start of a feed (the cap is 1 MiB).
    let zeros = vec![b' '; 32 << 20];
    let mut plain = b"<rss version=\"2.0\"><channel><title>".to_vec();
    plain.extend_from_slice(&zeros);
    match encoding {
        "gzip" => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = gz.write_all(&plain);
            gz.finish().unwrap_or_default()
        }
        _ => {
            let mut out = Vec::new();
            let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
            let _ = writer.write_all(&plain);
            drop(writer);
            out
        }
    }
}

#[tokio::test]
async fn gzip_and_brotli_bombs_are_refused_after_decompression() {
    let _turn = one_at_a_time().await;
    let gzip = Arc::new(compressed_bomb("gzip"));
    let brotli = Arc::new(compressed_bomb("br"));
    assert!(
        gzip.len() < 1 << 20 && brotli.len() < 1 << 20,
        "small on the wire"
    );
    let server = TestServer::start(move |req| {
        let (body, encoding) = if req.path == "/gzip" {
            (gzip.as_ref().clone(), "gzip")
        } else {
            (brotli.as_ref().clone(), "br")
        };
        Reply::ok("application/rss+xml", body).with_header("Content-Encoding", encoding)
    });
    for path in ["/gzip", "/brotli"] {
        let url = server.url(path);
        let (poll, state, growth) = poll_one(&url, small_cap("20s")).await;
        failed_and_rescheduled(&poll, &state, "limit");
        assert!(growth < 64, "{path}: peak grew by {growth} MiB");
    }
}

#[tokio::test]
async fn a_20_mb_feed_is_refused_at_the_default_cap() {
    let _turn = one_at_a_time().await;
    let big = Arc::new(format!(
        "<rss version=\"2.0\"><channel><title>T</title><description>{}</description></channel></rss>",
        "x".repeat(20 << 20)
    ));
    let server = TestServer::start(move |_| Reply::ok("application/rss+xml", big.as_bytes()));
    let url = server.url("/big");
    let (poll, state, growth) = poll_one(&url, json!({})).await;
    failed_and_rescheduled(&poll, &state, "limit");
    // The 20 MB the server holds are outside this measure's reach only in part: the body
    // read stops at the 16 MB cap.
    assert!(growth < 120, "peak grew by {growth} MiB");
}

#[tokio::test]
async fn redirect_loops_and_redirects_to_local_files_end_with_clear_errors() {
    let _turn = one_at_a_time().await;
    let server = TestServer::start(|req| match req.path.as_str() {
        "/loop-a" => Reply::status(302).with_header("Location", "/loop-b"),
        "/loop-b" => Reply::status(302).with_header("Location", "/loop-a"),
        _ => Reply::status(302).with_header("Location", "file:///etc/passwd"),
    });
    let (poll, state, _) = poll_one(&server.url("/loop-a"), json!({})).await;
    failed_and_rescheduled(&poll, &state, "redirects");
    let (poll, state, _) = poll_one(&server.url("/to-file"), json!({})).await;
    failed_and_rescheduled(&poll, &state, "unsupported scheme");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_also_behind_a_proxy() {
    let _turn = one_at_a_time().await;
    // The proxy (the operator's, on loopback) relays a public address's answer: a redirect
    // into the local network. Nothing leaves this machine: every request goes to the proxy.
    let proxy = TestServer::start(|req| {
        if req.path.contains("93.184.216.34") {
            Reply::status(302).with_header("Location", "http://127.0.0.1:9/admin")
        } else {
            Reply::ok("text/plain", "should never be asked")
        }
    });
    let url = "http://93.184.216.34/feed.xml";
    let store = Arc::new(MemoryStateStore::default());
    let poll = poll_once(
        "feed",
        json!({"urls": [url], "http": {"proxy": proxy.base, "per_host_interval": "0s"}}),
        store.clone(),
    )
    .await;
    let state = feed_state(&store, url).await;
    failed_and_rescheduled(
        &poll,
        &state,
        "127.0.0.1 is a private, loopback or link-local address",
    );
    assert_eq!(
        proxy.hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the redirect target was never asked"
    );
}

#[tokio::test]
async fn retry_after_in_the_far_future_or_the_past_keeps_the_feed_scheduled() {
    let _turn = one_at_a_time().await;
    let server = TestServer::start(|req| match req.path.as_str() {
        "/far" => Reply::status(503).with_header("Retry-After", "10000000000000"),
        "/past" => Reply::status(429).with_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
        "/huge-date" => {
            Reply::status(503).with_header("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")
        }
        _ => Reply::status(410),
    });
    for path in ["/far", "/huge-date"] {
        let (poll, state, _) = poll_one(&server.url(path), json!({})).await;
        failed_and_rescheduled(&poll, &state, "503");
        let not_before = state.retry_not_before.unwrap_or_else(Utc::now);
        assert!(
            not_before <= Utc::now() + chrono::TimeDelta::days(8),
            "{path}: Retry-After is capped: {not_before}"
        );
    }
    let (poll, state, _) = poll_one(&server.url("/past"), json!({})).await;
    failed_and_rescheduled(&poll, &state, "429");
    assert!(state
        .retry_not_before
        .is_none_or(|t| t <= Utc::now() + chrono::TimeDelta::hours(13)));
    // 410 is the one answer that stops polling, and says so.
    let (_, gone, _) = poll_one(&server.url("/gone"), json!({})).await;
    assert!(
        gone.disabled.as_deref().is_some_and(|d| d.contains("410")),
        "{gone:?}"
    );
}

#[tokio::test]
async fn wrong_and_missing_charsets_still_give_arabic() {
    let _turn = one_at_a_time().await;
    let title = "العربي الجديد";
    let xml = format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title><item><title>{title}</title><link>https://ex.org/1</link></item></channel></rss>");
    let (cp1256, _, _) = encoding_rs::WINDOWS_1256.encode(&xml);
    let body = cp1256.into_owned();
    let server = TestServer::start(move |req| {
        let content_type = if req.path == "/wrong" {
            "application/rss+xml; charset=iso-8859-1"
        } else {
            "application/rss+xml"
        };
        Reply::ok(content_type, body.clone())
    });
    for path in ["/wrong", "/missing"] {
        let (poll, _, _) = poll_one(&server.url(path), json!({})).await;
        assert_eq!(poll.articles.len(), 1, "{path}");
        assert_eq!(poll.articles[0].title.as_deref(), Some(title), "{path}");
    }
}

#[tokio::test]
async fn a_10_000_item_feed_is_read_whole_with_bounded_memory() {
    let _turn = one_at_a_time().await;
    let items: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("Story {i}"), format!("https://ex.org/{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = items
        .iter()
        .map(|(t, l)| (t.as_str(), l.as_str()))
        .collect();
    let body = Arc::new(rss(&refs));
    let server = TestServer::start(move |_| Reply::ok("application/rss+xml", body.as_bytes()));
    let url = server.url("/many");
    let (poll, state, growth) = poll_one(&url, json!({})).await;
    assert_eq!(poll.articles.len(), 10_000);
    assert_eq!(state.seen.len(), 10_000, "all delivered and remembered");
    assert!(growth < 200, "peak grew by {growth} MiB");
}

#[tokio::test]
async fn deep_nesting_and_billion_laughs_end_cleanly() {
    let _turn = one_at_a_time().await;
    let deep = format!(
        "<rss version=\"2.0\"><channel><title>T</title><item><title>deep</title><link>https://ex.org/d</link><description>{}{}</description></item></channel></rss>",
        "<div>".repeat(200_000),
        "</div>".repeat(200_000)
    );
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>laughs</title><link>https://ex.org/l</link></item></channel></rss>"#;
    let deep = Arc::new(deep);
    let server = TestServer::start(move |req| {
        let body = if req.path == "/deep" {
            deep.as_bytes().to_vec()
        } else {
            laughs.as_bytes().to_vec()
        };
        Reply::ok("application/rss+xml", body)
    });
    for path in ["/deep", "/laughs"] {
        let url = server.url(path);
        let (poll, state, growth) = poll_one(&url, json!({})).await;
        // Either a correct parse of the item or a clear error; never a crash or a blow-up.
        if count(&poll.stats.feeds_failed) == 0 {
            assert_eq!(poll.articles.len(), 1, "{path}");
            if let Some(title) = &poll.articles[0].feed.title {
                assert!(
                    title.len() < 1 << 20,
                    "{path}: entities were not expanded a billion times"
                );
            }
        } else {
            failed_and_rescheduled(&poll, &state, "");
        }
        assert!(growth < 100, "{path}: peak grew by {growth} MiB");
    }
}

#[tokio::test]
async fn an_odd_rss_version_is_read_not_fatal() {
    let _turn = one_at_a_time().await;
    let server = TestServer::start(|_| {
        Reply::ok(
            "application/rss+xml",
            "<rss version=><channel><title>T</title><item><title>A</title><link>https://ex.org/a</link></item></channel></rss>",
        )
    });
    let (poll, state, _) = poll_one(&server.url("/odd"), json!({})).await;
    assert_eq!(poll.articles.len(), 1);
    assert!(state.next_poll.is_some() && state.last_error.is_none());
}

fn article(url: &str) -> Article {
    Article::new(RecordId::from_url(url), FeedRef::default(), url, Utc::now())
}

#[tokio::test]
async fn links_to_local_files_and_other_schemes_are_never_read() {
    let _turn = one_at_a_time().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret.html");
    std::fs::write(&secret, "<html><body><p>private</p></body></html>").expect("write");
    let ctx = BuildContext::standalone("page", dir.path().to_path_buf(), dir.path().to_path_buf());
    let config: FetchArticleConfig = serde_json::from_value(json!({})).expect("settings");
    let stage = config.build(&ctx).await.expect("build");
    let file_url = url::Url::from_file_path(&secret)
        .expect("a file URL")
        .to_string();
    for link in [
        file_url.as_str(),
        "file:///dev/zero",
        "ftp://ex.org/a.html",
        "data:text/html,<p>hi</p>",
        "javascript:alert(1)",
    ] {
        let mut a = article(link);
        assert_eq!(stage.process(&mut a).await, Ok(Verdict::Keep), "{link}");
        assert!(a.html.is_none(), "{link}: nothing was read");
        assert!(
            a.attrs
                .get("page_skipped")
                .and_then(|v| v.as_str())
                .is_some_and(|r| r.contains("refused")),
            "{link}: {:?}",
            a.attrs
        );
    }
    // Strict: the same links are rejected with a reason.
    let strict: FetchArticleConfig =
        serde_json::from_value(json!({"pass_without_link": false})).expect("settings");
    let strict = strict.build(&ctx).await.expect("build");
    let mut a = article(&file_url);
    assert!(strict
        .process(&mut a)
        .await
        .is_err_and(|e| e.is_permanent()));

    // The operator's `local_pages` folder is readable; `..` out of it and devices are not.
    let allowed: FetchArticleConfig =
        serde_json::from_value(json!({"local_pages": ["."]})).expect("settings");
    let allowed = allowed.build(&ctx).await.expect("build");
    let mut inside = article(&file_url);
    assert_eq!(allowed.process(&mut inside).await, Ok(Verdict::Keep));
    assert!(inside
        .html
        .as_deref()
        .is_some_and(|h| h.contains("private")));
    let escape = format!(
        "{}/../../../etc/passwd",
        url::Url::from_directory_path(dir.path()).expect("dir URL")
    );
    let mut outside = article(&escape);
    assert_eq!(allowed.process(&mut outside).await, Ok(Verdict::Keep));
    assert!(outside.html.is_none(), "outside local_pages");
}

#[tokio::test]
async fn feeds_pages_and_sitemaps_never_follow_file_links() {
    let _turn = one_at_a_time().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let local_feed = dir.path().join("feed.xml");
    std::fs::write(&local_feed, rss(&[("local", "https://ex.org/local")])).expect("write");
    let local = url::Url::from_file_path(&local_feed)
        .expect("file URL")
        .to_string();
    let page = format!("<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"{local}\"></head><body>news</body></html>");
    let index = format!("<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><sitemap><loc>{local}</loc></sitemap></sitemapindex>");
    let server = TestServer::start(move |req| {
        if req.path == "/page" {
            Reply::ok("text/html", page.clone())
        } else {
            Reply::ok("application/xml", index.clone())
        }
    });
    let (poll, state, _) = poll_one(&server.url("/page"), json!({})).await;
    assert!(poll.articles.is_empty(), "the local feed was not read");
    failed_and_rescheduled(&poll, &state, "refused");

    let store = Arc::new(MemoryStateStore::default());
    let sitemap = server.url("/sitemap.xml");
    let poll = poll_once(
        "sitemap",
        settings(std::slice::from_ref(&sitemap), json!({})),
        store.clone(),
    )
    .await;
    assert!(poll.articles.is_empty(), "the local sitemap was not read");
    let state = feed_state(&store, &sitemap).await;
    assert!(state.next_poll.is_some());
}

#[tokio::test]
async fn an_item_that_can_never_be_delivered_goes_to_the_dead_letters_after_its_budget() {
    let _turn = one_at_a_time().await;
    let server = TestServer::start(|_| {
        Reply::ok(
            "application/rss+xml",
            rss(&[("never", "https://ex.org/never")]),
        )
    });
    let url = server.url("/feed");
    let store = Arc::new(MemoryStateStore::default());
    let config = settings(std::slice::from_ref(&url), json!({"max_attempts": 3}));
    // A consumer that always hands the record back for a retry (a page that answers 503).
    for attempt in 1..=3u32 {
        let poll = common::poll_once_with("feed", config.clone(), store.clone(), |record| {
            record.ack.retry("HTTP 503")
        })
        .await;
        let state = feed_state(&store, &url).await;
        if attempt < 3 {
            assert_eq!(poll.articles.len(), 1, "emitted again on poll {attempt}");
            assert_eq!(state.attempts.values().copied().max(), Some(attempt));
            assert!(poll.dead_letters.letters().is_empty());
        } else {
            let letters = poll.dead_letters.letters();
            assert_eq!(letters.len(), 1, "out of attempts");
            assert!(letters[0].1.contains("HTTP 503") && letters[0].1.contains("3 polls"));
            assert!(state.attempts.is_empty());
        }
    }
    let last = common::poll_once_with("feed", config, store.clone(), |r| r.ack.retry("x")).await;
    assert!(last.articles.is_empty(), "not emitted any more");
}

/// A state store whose first `lease` panics: a bug anywhere in a feed's loop.
struct PanicsOnce {
    inner: MemoryStateStore,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl khabar_core_model::StateStore for PanicsOnce {
    async fn get(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, khabar_core_model::StateError> {
        self.inner.get(namespace, key).await
    }
    async fn put(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), khabar_core_model::StateError> {
        self.inner.put(namespace, key, value).await
    }
    async fn delete(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<(), khabar_core_model::StateError> {
        self.inner.delete(namespace, key).await
    }
    async fn keys(&self, namespace: &str) -> Result<Vec<String>, khabar_core_model::StateError> {
        self.inner.keys(namespace).await
    }
    async fn lease(
        &self,
        _namespace: &str,
        _key: &str,
        _holder: &str,
        _ttl: Duration,
    ) -> Result<bool, khabar_core_model::StateError> {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("lease table corrupted");
        }
        Ok(true)
    }
}

#[tokio::test]
async fn a_crashed_feed_loop_is_reported_and_the_feed_polled_again() {
    let _turn = one_at_a_time().await;
    let server =
        TestServer::start(|_| Reply::ok("application/rss+xml", rss(&[("a", "https://ex.org/a")])));
    let url = server.url("/feed");
    let store = Arc::new(PanicsOnce {
        inner: MemoryStateStore::default(),
        armed: std::sync::atomic::AtomicBool::new(true),
    });
    let poll = poll_once(
        "feed",
        settings(std::slice::from_ref(&url), json!({})),
        store.clone(),
    )
    .await;
    assert_eq!(count(&poll.stats.tasks_crashed), 1);
    assert_eq!(count(&poll.stats.feeds_failed), 1);
    let crashed: FeedState = serde_json::from_slice(
        &khabar_core_model::StateStore::get(&store.inner, "src", &url)
            .await
            .ok()
            .flatten()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert!(
        crashed
            .crashed
            .as_deref()
            .is_some_and(|c| c.contains("lease table corrupted")),
        "khabar feeds shows it: {crashed:?}"
    );
    // The next cycle polls the feed as if nothing happened, and clears the mark.
    let again = poll_once(
        "feed",
        settings(std::slice::from_ref(&url), json!({})),
        store.clone(),
    )
    .await;
    assert_eq!(again.articles.len(), 1);
    let state = feed_state(&store.inner, &url).await;
    assert!(state.crashed.is_none());
}
