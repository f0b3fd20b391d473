//! The feed and sitemap sources and `fetch_article` against loopback servers: conditional
//! GET, Retry-After, backoff, 410, moved feeds, body caps, decompression bombs, charsets,
//! repairs, autodiscovery, sitemaps, robots.txt and the private-address guard.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use khabar_core_model::{
    Article, BuildContext, FeedRef, MemoryStateStore, RecordId, TransformConfig,
};
use khabar_fetcher::FetchArticleConfig;
use khabar_testkit::{Reply, TestServer};
use serde_json::{json, Value};

mod common;

use common::{count, feed_state, poll_once, rss, settings};

#[tokio::test]
async fn conditional_get_and_unchanged_bodies_deliver_nothing_new() {
    let body = rss(&[("a", "https://ex.org/a"), ("b", "https://ex.org/b")]);
    let with_etag = TestServer::start({
        let body = body.clone();
        move |req| {
            if req.header("If-None-Match") == Some("\"v1\"") {
                Reply::status(304)
            } else {
                Reply::ok("application/rss+xml", body.clone()).with_header("ETag", "\"v1\"")
            }
        }
    });
    let without = TestServer::start(move |_| Reply::ok("application/rss+xml", body.clone()));
    let urls = vec![with_etag.url("/rss"), without.url("/rss")];
    let state = Arc::new(MemoryStateStore::default());
    let first = poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    assert_eq!(first.articles.len(), 4);
    let second = poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    assert_eq!(second.articles.len(), 0);
    assert_eq!(count(&second.stats.feeds_failed), 0);
    // Both servers were asked again; one said 304, the other sent the same body.
    assert_eq!(with_etag.hits.load(Ordering::SeqCst), 2);
    assert_eq!(without.hits.load(Ordering::SeqCst), 2);
    let s = feed_state(&state, &urls[0]).await;
    assert_eq!(s.validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(s.items_seen, 2);
}

#[tokio::test]
async fn retry_after_is_honoured_and_failures_back_off() {
    let limited = TestServer::start(|_| Reply::status(429).with_header("Retry-After", "3600"));
    let broken = TestServer::start(|_| Reply::status(500));
    let urls = vec![limited.url("/rss"), broken.url("/rss")];
    let state = Arc::new(MemoryStateStore::default());
    for _ in 0..3 {
        let poll = poll_once("feed", settings(&urls, json!({})), state.clone()).await;
        assert!(poll.articles.is_empty());
    }
    // The rate-limited feed was asked once: the next two cycles respected Retry-After.
    assert_eq!(limited.hits.load(Ordering::SeqCst), 1);
    let s = feed_state(&state, &urls[0]).await;
    let wait = s
        .retry_not_before
        .map(|t| (t - Utc::now()).num_seconds())
        .unwrap_or(0);
    assert!((3500..=3600).contains(&wait), "{wait}");
    assert!(s.last_error.as_deref().is_some_and(|e| e.contains("429")));
    // The failing feed was asked every time, and its backoff doubled: 60 s, 120 s, 240 s.
    assert_eq!(broken.hits.load(Ordering::SeqCst), 3);
    let s = feed_state(&state, &urls[1]).await;
    assert_eq!(s.schedule.consecutive_errors, 3);
    let backoff = (s.next_poll.expect("next poll") - s.last_poll.expect("last poll")).num_seconds();
    assert!((192..=288).contains(&backoff), "{backoff}");
}

#[tokio::test]
async fn gone_feeds_are_disabled_and_reimport_enables_them() {
    let server = TestServer::start(|_| Reply::status(410));
    let urls = vec![server.url("/rss")];
    let state = Arc::new(MemoryStateStore::default());
    poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert!(feed_state(&state, &urls[0])
        .await
        .disabled
        .is_some_and(|d| d.contains("410")));
    let feed = khabar_fetcher::OpmlFeed {
        url: urls[0].clone(),
        title: None,
        category: None,
        interval: None,
        enabled: true,
    };
    khabar_fetcher::import_feeds(state.as_ref(), "src", &[feed])
        .await
        .expect("import");
    assert!(feed_state(&state, &urls[0]).await.disabled.is_none());
}

#[tokio::test]
async fn a_feed_moved_permanently_twice_in_a_row_is_polled_at_its_new_address() {
    let base = Arc::new(Mutex::new(String::new()));
    let b = Arc::clone(&base);
    let paths = Arc::new(Mutex::new(Vec::<String>::new()));
    let p = Arc::clone(&paths);
    let server = TestServer::start(move |req| {
        p.lock().map(|mut v| v.push(req.path.clone())).ok();
        match req.path.as_str() {
            "/old" => Reply::status(301).with_header(
                "Location",
                &format!("{}/new", b.lock().map(|s| s.clone()).unwrap_or_default()),
            ),
            "/new" => Reply::ok("application/rss+xml", rss(&[("a", "https://ex.org/a")])),
            _ => Reply::status(404),
        }
    });
    *base.lock().expect("lock") = server.base.clone();
    let urls = vec![server.url("/old")];
    let state = Arc::new(MemoryStateStore::default());
    for _ in 0..3 {
        poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    }
    assert_eq!(
        paths.lock().map(|v| v.clone()).unwrap_or_default(),
        vec!["/old", "/new", "/old", "/new", "/new"]
    );
    assert_eq!(
        feed_state(&state, &urls[0]).await.current_url,
        Some(server.url("/new"))
    );
}

#[tokio::test]
async fn oversized_bodies_and_decompression_bombs_are_refused() {
    use std::io::Write;
    let big = format!(
        "<rss version=\"2.0\"><channel><title>{}</title></channel></rss>",
        "x".repeat(100_000)
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 5_000_000]).expect("gzip");
    let bomb = gz.finish().expect("gzip");
    assert!(bomb.len() < 20_000);
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/big" => Reply::ok("application/rss+xml", big.clone()),
        _ => Reply::ok("application/rss+xml", bomb.clone()).with_header("Content-Encoding", "gzip"),
    });
    let urls = vec![server.url("/big"), server.url("/bomb")];
    let state = Arc::new(MemoryStateStore::default());
    let poll = poll_once(
        "feed",
        settings(&urls, json!({"http": {"max_body_size": 65536}})),
        state.clone(),
    )
    .await;
    assert_eq!(count(&poll.stats.feeds_failed), 2);
    let big_err = feed_state(&state, &urls[0])
        .await
        .last_error
        .unwrap_or_default();
    assert!(big_err.contains("over the 65536-byte limit"), "{big_err}");
    let bomb_err = feed_state(&state, &urls[1])
        .await
        .last_error
        .unwrap_or_default();
    assert!(bomb_err.contains("after decompression"), "{bomb_err}");
}

#[tokio::test]
async fn charsets_over_http_come_out_as_arabic() {
    let title = "التحالف الدولي يقصف المنطقة المحاصرة في الباغوز";
    let xml = |declared: &str| {
        format!("<?xml version=\"1.0\" encoding=\"{declared}\"?><rss version=\"2.0\"><channel><title>x</title><item><title>{title}</title><link>https://ex.org/{declared}</link><description>{title} {title}</description></item></channel></rss>")
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "/1256",
            encoding_rs::WINDOWS_1256
                .encode(&xml("windows-1256"))
                .0
                .into_owned(),
            "text/xml",
        ),
        (
            "/1256-latin1-header",
            encoding_rs::WINDOWS_1256
                .encode(&xml("windows-1256"))
                .0
                .into_owned(),
            "text/xml; charset=ISO-8859-1",
        ),
        (
            "/1256-ascii-prolog",
            encoding_rs::WINDOWS_1256
                .encode(&xml("us-ascii"))
                .0
                .into_owned(),
            "text/xml",
        ),
        (
            "/8859-6",
            encoding_rs::ISO_8859_6
                .encode(&xml("iso-8859-6"))
                .0
                .into_owned(),
            "application/rss+xml",
        ),
        (
            "/utf16le",
            xml("utf-16")
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect(),
            "text/xml",
        ),
        (
            "/utf16be",
            [0xFE, 0xFF]
                .into_iter()
                .chain(xml("utf-16").encode_utf16().flat_map(|u| u.to_be_bytes()))
                .collect(),
            "text/xml",
        ),
    ];
    let served: Vec<(String, Vec<u8>, String)> = cases
        .iter()
        .map(|(p, b, c)| (p.to_string(), b.clone(), c.to_string()))
        .collect();
    let server =
        TestServer::start(
            move |req| match served.iter().find(|(p, _, _)| *p == req.path) {
                Some((_, body, ct)) => Reply::ok(ct, body.clone()),
                None => Reply::status(404),
            },
        );
    let urls: Vec<String> = cases.iter().map(|(p, _, _)| server.url(p)).collect();
    let poll = poll_once(
        "feed",
        settings(&urls, json!({})),
        Arc::new(MemoryStateStore::default()),
    )
    .await;
    assert_eq!(count(&poll.stats.feeds_failed), 0);
    assert_eq!(poll.articles.len(), cases.len());
    for article in &poll.articles {
        assert_eq!(
            article.title.as_deref(),
            Some(title),
            "{}",
            article.feed.url
        );
    }
}

#[tokio::test]
async fn broken_feeds_are_repaired_and_say_so() {
    let server = TestServer::start(|_| {
        Reply::ok("application/rss+xml", "<rss><channel><title>Tom & Jerry &mdash; news</title><item><title>One &amp; only</title><link>https://ex.org/1</link><description>a<br>b</description></item><item><title>cut")
    });
    let poll = poll_once(
        "feed",
        settings(&[server.url("/rss")], json!({})),
        Arc::new(MemoryStateStore::default()),
    )
    .await;
    assert_eq!(poll.articles.len(), 1);
    let a = &poll.articles[0];
    assert_eq!(a.title.as_deref(), Some("One & only"));
    assert_eq!(a.feed.title.as_deref(), Some("Tom & Jerry — news"));
    let repairs: Vec<&str> = a.attrs["feed_repairs"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        repairs.contains(&"RSS version set to 2.0")
            && repairs.contains(&"truncated document closed"),
        "{repairs:?}"
    );
    // An item without a date gets the fetch time, flagged.
    assert_eq!(a.attrs["published_at_estimated"], "fetch_time");
}

#[tokio::test]
async fn an_html_page_leads_to_the_feed_it_links_to() {
    let server = TestServer::start(|req| {
        match req.path.as_str() {
        "/" => Reply::ok("text/html", "<!DOCTYPE html><html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss.xml\"></head><body>news</body></html>"),
        "/rss.xml" => Reply::ok("application/rss+xml", rss(&[("a", "https://ex.org/a")])),
        _ => Reply::status(404),
    }
    });
    let urls = vec![server.url("/")];
    let state = Arc::new(MemoryStateStore::default());
    let poll = poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    assert_eq!(poll.articles.len(), 1);
    assert_eq!(
        feed_state(&state, &urls[0]).await.current_url,
        Some(server.url("/rss.xml"))
    );
}

#[tokio::test]
async fn news_sitemaps_through_an_index() {
    let base = Arc::new(Mutex::new(String::new()));
    let b = Arc::clone(&base);
    let server = TestServer::start(move |req| {
        let base = b.lock().map(|s| s.clone()).unwrap_or_default();
        let urlset = |n: u32, lang: &str| {
            format!(
                r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://ex.org/{n}</loc><news:news><news:publication><news:name>Ex</news:name><news:language>{lang}</news:language></news:publication><news:publication_date>2024-03-0{n}T08:00:00Z</news:publication_date><news:title>Story {n}</news:title></news:news></url></urlset>"#
            )
        };
        match req.path.as_str() {
            "/index.xml" => Reply::ok(
                "application/xml",
                format!(
                    r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}/s1.xml</loc></sitemap><sitemap><loc>{base}/s2.xml</loc></sitemap></sitemapindex>"#
                ),
            ),
            "/s1.xml" => Reply::ok("application/xml", urlset(1, "ar")),
            "/s2.xml" => Reply::ok("application/xml", urlset(2, "en")),
            _ => Reply::status(404),
        }
    });
    *base.lock().expect("lock") = server.base.clone();
    let poll = poll_once(
        "sitemap",
        settings(&[server.url("/index.xml")], json!({})),
        Arc::new(MemoryStateStore::default()),
    )
    .await;
    let mut got: Vec<(String, String, String)> = poll
        .articles
        .iter()
        .map(|a| {
            (
                a.title.clone().unwrap_or_default(),
                a.language.clone().unwrap_or_default(),
                a.published_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "Story 1".to_string(),
                "ar".to_string(),
                "2024-03-01T08:00:00+00:00".to_string()
            ),
            (
                "Story 2".to_string(),
                "en".to_string(),
                "2024-03-02T08:00:00+00:00".to_string()
            )
        ]
    );
}

#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let server =
        TestServer::start(|_| Reply::ok("application/rss+xml", rss(&[("a", "https://ex.org/a")])));
    let port = server.base.rsplit(':').next().unwrap_or("0").to_string();
    let urls = vec![server.url("/rss"), format!("http://localhost:{port}/rss")];
    let state = Arc::new(MemoryStateStore::default());
    let poll = poll_once("feed", json!({ "urls": urls }), state.clone()).await;
    assert!(poll.articles.is_empty());
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "the server was never reached"
    );
    for url in &urls {
        let error = feed_state(&state, url).await.last_error.unwrap_or_default();
        assert!(error.contains("private, loopback or link-local"), "{error}");
    }
}

/// A `fetch_article` stage allowed to reach loopback servers, without per-host spacing.
async fn loopback_fetch_article() -> Box<dyn khabar_core_model::Transform> {
    let config: FetchArticleConfig = serde_json::from_value(
        json!({"http": {"refuse_private_addresses": false, "per_host_interval": "0s"}}),
    )
    .expect("config");
    config
        .build(&BuildContext::standalone(
            "page",
            std::env::temp_dir(),
            std::env::temp_dir(),
        ))
        .await
        .expect("build")
}

fn article(url: &str) -> Article {
    Article::new(RecordId::from_url(url), FeedRef::default(), url, Utc::now())
}

#[tokio::test]
async fn fetch_article_minds_robots_txt_once_per_host() {
    let robots_hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = Arc::clone(&robots_hits);
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/robots.txt" => {
            r.fetch_add(1, Ordering::SeqCst);
            Reply::ok(
                "text/plain",
                "User-agent: *\nDisallow: /private/\n\nUser-agent: Khabar\nDisallow: /no-khabar/\n",
            )
        }
        _ => Reply::ok(
            "text/html; charset=utf-8",
            "<html><body><p>A page.</p></body></html>",
        ),
    });
    let stage = loopback_fetch_article().await;
    let mut open = article(&server.url("/news/1"));
    let mut banned = article(&server.url("/no-khabar/2"));
    let mut public = article(&server.url("/private/3"));
    for a in [&mut open, &mut banned, &mut public] {
        stage.process(a).await.expect("process");
    }
    assert!(open.html.is_some());
    assert!(banned.html.is_none() && banned.attrs["page_skipped"] == "robots.txt");
    // Our own group replaces the `*` group, as the robots.txt standard says.
    assert!(public.html.is_some());
    assert_eq!(robots_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fetch_article_classifies_failures() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/gone" => Reply::status(404),
        "/busy" => Reply::status(503).with_header("Retry-After", "5"),
        _ => Reply::status(200),
    });
    let stage = loopback_fetch_article().await;
    let gone = stage.process(&mut article(&server.url("/gone"))).await;
    assert!(
        matches!(&gone, Err(e) if e.is_permanent() && e.to_string().contains("404")),
        "{gone:?}"
    );
    let busy = stage.process(&mut article(&server.url("/busy"))).await;
    assert!(
        matches!(&busy, Err(e) if e.is_transient() && e.to_string().contains("503")),
        "{busy:?}"
    );
}

#[tokio::test]
async fn server_freshness_and_ttl_are_floors_of_the_schedule() {
    let max_age = TestServer::start(|_| {
        Reply::ok("application/rss+xml", rss(&[("a", "https://ex.org/a")]))
            .with_header("Cache-Control", "public, max-age=7200")
    });
    let ttl = TestServer::start(|_| {
        Reply::ok("application/rss+xml", "<rss version=\"2.0\"><channel><title>t</title><ttl>180</ttl><item><title>a</title><link>https://ex.org/t</link></item></channel></rss>")
    });
    let urls = vec![max_age.url("/rss"), ttl.url("/rss")];
    let state = Arc::new(MemoryStateStore::default());
    poll_once(
        "feed",
        settings(&urls, json!({"interval": "5m"})),
        state.clone(),
    )
    .await;
    for (url, floor) in [(&urls[0], 7200), (&urls[1], 3 * 3600)] {
        let s = feed_state(&state, url).await;
        let wait = (s.next_poll.expect("next") - s.last_poll.expect("last")).num_seconds();
        assert!(
            wait >= floor * 9 / 10 && wait <= floor * 11 / 10,
            "{url}: {wait}"
        );
    }
}

#[tokio::test]
async fn redirect_loops_stop_at_the_limit_and_article_redirects_are_followed() {
    let base = Arc::new(Mutex::new(String::new()));
    let b = Arc::clone(&base);
    let server = TestServer::start(move |req| {
        let base = b.lock().map(|s| s.clone()).unwrap_or_default();
        match req.path.as_str() {
            "/loop" => Reply::status(302).with_header("Location", &format!("{base}/loop")),
            "/short" => Reply::status(302).with_header("Location", "/story?id=1"),
            "/robots.txt" => Reply::status(404),
            _ => Reply::ok("text/html", "<html><body><p>Story</p></body></html>"),
        }
    });
    *base.lock().expect("lock") = server.base.clone();
    let state = Arc::new(MemoryStateStore::default());
    poll_once(
        "feed",
        settings(
            &[server.url("/loop")],
            json!({"http": {"max_redirects": 3}}),
        ),
        state.clone(),
    )
    .await;
    let error = feed_state(&state, &server.url("/loop"))
        .await
        .last_error
        .unwrap_or_default();
    assert!(error.contains("more than 3 redirects"), "{error}");

    let stage = loopback_fetch_article().await;
    let mut a = article(&server.url("/short"));
    stage.process(&mut a).await.expect("process");
    assert_eq!(a.attrs["fetched_url"], server.url("/story?id=1"));
    assert!(a.html.as_deref().is_some_and(|h| h.contains("Story")));
}

#[tokio::test]
async fn a_feed_remembers_what_it_shows_and_a_window_of_the_rest_not_its_whole_history() {
    // Ten items a poll: a pinned story that never leaves, and nine that roll on by nine.
    let round = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = TestServer::start({
        let round = Arc::clone(&round);
        move |_| {
            let r = round.load(Ordering::SeqCst);
            let mut items: Vec<(String, String)> =
                vec![("pinned".into(), "https://ex.org/pinned".into())];
            items.extend((0..9).map(|k| {
                let n = r * 9 + k;
                (format!("story {n}"), format!("https://ex.org/{n}"))
            }));
            let items: Vec<(&str, &str)> = items
                .iter()
                .map(|(t, l)| (t.as_str(), l.as_str()))
                .collect();
            Reply::ok("application/rss+xml", rss(&items))
        }
    });
    let urls = vec![server.url("/rss")];
    let state = Arc::new(MemoryStateStore::default());
    let mut delivered = Vec::new();
    for r in 0..30 {
        round.store(r, Ordering::SeqCst);
        let polled = poll_once("feed", settings(&urls, json!({})), state.clone()).await;
        delivered.extend(polled.articles.into_iter().map(|a| a.url));
    }
    // Every story once, the pinned one included, though 270 came after it.
    assert_eq!(delivered.len(), 1 + 30 * 9, "{delivered:?}");
    assert_eq!(
        delivered.iter().filter(|u| u.ends_with("/pinned")).count(),
        1
    );
    // Five times the feed's ten items is below the floor of 100 ids.
    let s = feed_state(&state, &urls[0]).await;
    assert_eq!(s.seen.len(), 100);
    assert_eq!(s.items_seen, 271);
    // A story that fell out of the window and comes back is new again (sinks keep one
    // record per id).
    round.store(0, Ordering::SeqCst);
    let again = poll_once("feed", settings(&urls, json!({})), state.clone()).await;
    assert_eq!(again.articles.len(), 9);
}
