//! `kill -9` of `khabar run` while the sink still holds records: after a restart every item is
//! in the SQLite sink exactly once (at-least-once delivery plus an idempotent sink).

mod common;

use std::time::{Duration, Instant};

use common::*;

const ITEMS: usize = 10;

fn feed(base: &str) -> String {
    let items: String = (0..ITEMS)
        .map(|i| {
            format!(
                "<item><title>Report number {i} on the situation in the region</title><link>{base}/a/{i}</link><guid>item-{i}</guid><pubDate>Fri, 01 Mar 2019 10:{i:02}:00 GMT</pubDate></item>"
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title><link>{base}/</link>{items}</channel></rss>"#
    )
}

fn page(i: usize) -> String {
    format!(
        "<html lang=\"en\"><head><title>Report {i}</title></head><body><article><h1>Report {i}</h1>\
         <p>Paragraph one of report {i}, which describes what happened in some detail for readers.</p>\
         <p>Paragraph two of report {i}, quoting officials and local sources about the events.</p>\
         </article></body></html>"
    )
}

fn row_count(db: &std::path::Path) -> usize {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT count(*) FROM articles", [], |r| r.get::<_, i64>(0)))
        .map(|n| n as usize)
        .unwrap_or(0)
}

#[test]
fn kill_9_then_restart_stores_every_item_exactly_once() {
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let b = std::sync::Arc::clone(&base);
    let server = TestServer::start(move |req| {
        let base = b.get().cloned().unwrap_or_default();
        if req.path == "/rss.xml" {
            return Reply::ok("application/rss+xml", feed(&base));
        }
        match req
            .path
            .strip_prefix("/a/")
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => Reply::ok("text/html", page(i)).after(Duration::from_millis(150)),
            None => Reply::status(404),
        }
    });
    let _ = base.set(server.base.clone());

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let db = data.join("khabar.db");
    // The sink writes batches of 3 and holds a partial batch for a minute: a slow sink.
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"
[global]
data_dir = "{}"
[sources.wire]
type = "feed"
http = {{ refuse_private_addresses = false }}
urls = ["{}"]
interval = "1h"
[transforms.page]
type = "fetch_article"
http = {{ refuse_private_addresses = false }}
inputs = ["wire"]
max_in_flight = 2
[transforms.clean]
type = "normalize"
inputs = ["page"]
[sinks.db]
type = "sqlite"
inputs = ["clean"]
path = "khabar.db"
batch_size = 3
batch_timeout = "60s"
"#,
            data.display(),
            server.url("/rss.xml")
        ),
    );

    let mut child = khabar()
        .args(["run", "--config"])
        .arg(&cfg)
        .spawn()
        .expect("start khabar run");
    let started = Instant::now();
    while row_count(&db) < 6 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the pipeline a moment to fill the sink's partial batch, then kill it hard.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let before = row_count(&db);
    assert!(
        (6..ITEMS).contains(&before),
        "the kill should leave held records unwritten; rows = {before}"
    );

    let out = khabar()
        .args(["once", "--config"])
        .arg(&cfg)
        .env("KHABAR__SINKS__DB__BATCH_TIMEOUT", "100ms")
        .output()
        .expect("restart");
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!("new items: {ITEMS}")),
        "nothing was committed before the kill: {}",
        stdout(&out)
    );

    let rows = stored_articles(&db);
    assert_eq!(rows.len(), ITEMS);
    let mut ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), ITEMS);

    let again = khabar()
        .args(["once", "--config"])
        .arg(&cfg)
        .env("KHABAR__SINKS__DB__BATCH_TIMEOUT", "100ms")
        .output()
        .expect("third run");
    assert!(
        stdout(&again).contains("new items: 0"),
        "{}",
        stdout(&again)
    );
    assert_eq!(row_count(&db), ITEMS);
}

/// A loopback news site: `FEEDS` feeds of `PER_FEED` items each, every item a small page.
const FEEDS: usize = 50;
const PER_FEED: usize = 100;
const ARTICLES: usize = FEEDS * PER_FEED;
/// How many times the daemon is killed with SIGKILL, at random moments.
const KILLS: usize = 20;

fn site() -> TestServer {
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let b = std::sync::Arc::clone(&base);
    let server = TestServer::start(move |req| {
        let base = b.get().cloned().unwrap_or_default();
        if let Some(k) = req
            .path
            .strip_prefix("/feed/")
            .and_then(|k| k.strip_suffix(".xml"))
            .and_then(|k| k.parse::<usize>().ok())
        {
            let items: String = (k * PER_FEED..(k + 1) * PER_FEED)
                .map(|i| format!("<item><title>Story {i}</title><link>{base}/a/{i}</link></item>"))
                .collect();
            return Reply::ok(
                "application/rss+xml",
                format!(
                    "<rss version=\"2.0\"><channel><title>Feed {k}</title>{items}</channel></rss>"
                ),
            );
        }
        match req
            .path
            .strip_prefix("/a/")
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => Reply::ok("text/html", page(i)),
            None => Reply::status(404),
        }
    });
    let _ = base.set(server.base.clone());
    server
}

/// Starts `khabar run`, kills it with SIGKILL at `KILLS` random moments (seeded, so a
/// failure can be replayed), then runs `khabar once` until a cycle finds nothing new, and
/// returns the seed.
fn kill_repeatedly(cfg: &std::path::Path, progress: impl Fn() -> usize) -> u64 {
    let seed = std::env::var("KHABAR_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill moments seeded with {seed} (KHABAR_CRASH_SEED replays them)");
    let mut rng = fastrand::Rng::with_seed(seed);
    for kill in 0..KILLS {
        let mut child = khabar()
            .args(["run", "--config"])
            .arg(cfg)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start khabar run");
        std::thread::sleep(Duration::from_millis(rng.u64(200..2500)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        eprintln!("kill {}: {} stored so far", kill + 1, progress());
    }
    for _ in 0..10 {
        let out = khabar()
            .args(["once", "--config"])
            .arg(cfg)
            .output()
            .expect("khabar once");
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        if stdout(&out).contains("new items: 0") {
            return seed;
        }
    }
    panic!("the store never caught up (seed {seed})");
}

fn crash_config(dir: &std::path::Path, site: &TestServer, sink: &str) -> std::path::PathBuf {
    let urls: Vec<String> = (0..FEEDS)
        .map(|k| format!("\"{}\"", site.url(&format!("/feed/{k}.xml"))))
        .collect();
    write_config(
        dir,
        &format!(
            r#"
[global]
data_dir = "data"
shutdown_timeout = "5s"
[sources.wire]
type = "feed"
urls = [{}]
interval = "1h"
concurrency = 8
http = {{ refuse_private_addresses = false, per_host_interval = "0s", per_host_concurrency = 16 }}
[transforms.page]
type = "fetch_article"
inputs = ["wire"]
max_in_flight = 16
http = {{ refuse_private_addresses = false, per_host_interval = "0s", per_host_concurrency = 16 }}
[transforms.clean]
type = "normalize"
inputs = ["page"]
max_in_flight = 4
{sink}
"#,
            urls.join(", ")
        ),
    )
}

/// Every id of the site's articles, as the stores key them.
fn expected_ids(site: &TestServer) -> std::collections::BTreeSet<String> {
    (0..ARTICLES)
        .map(|i| khabar_core_model::RecordId::from_url(&site.url(&format!("/a/{i}"))).to_string())
        .collect()
}

#[test]
fn kill_9_at_20_random_moments_sqlite_holds_every_article_exactly_once() {
    let site = site();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("data/khabar.db");
    let cfg = crash_config(
        dir.path(),
        &site,
        "[sinks.db]\ntype = \"sqlite\"\ninputs = [\"clean\"]\npath = \"khabar.db\"\nbatch_size = 50\nbatch_timeout = \"100ms\"\n",
    );
    let seed = kill_repeatedly(&cfg, || row_count(&db));
    let rows = stored_articles(&db);
    assert_eq!(rows.len(), ARTICLES, "seed {seed}");
    let stored: std::collections::BTreeSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    assert_eq!(stored, expected_ids(&site), "seed {seed}");
    for row in &rows {
        let text = row.text.as_deref().unwrap_or("");
        let title = row.title.as_deref().unwrap_or("");
        // Each record whole: its own page's text under its own title.
        let n = title
            .trim_start_matches("Report ")
            .trim_start_matches("Story ");
        assert!(
            text.contains(&format!("report {n},")),
            "seed {seed}: {title:?} holds {text:?}"
        );
    }
}

#[test]
fn kill_9_at_20_random_moments_postgres_holds_every_article_exactly_once() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_POSTGRES_URL") else {
        return;
    };
    let table = format!("khabar_crash_{}", std::process::id());
    let site = site();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = crash_config(
        dir.path(),
        &site,
        &format!("[sinks.pg]\ntype = \"postgres\"\ninputs = [\"clean\"]\nurl = \"{url}\"\ntable = \"{table}\"\nbatch_size = 50\nbatch_timeout = \"100ms\"\n"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let query = |sql: String| -> Vec<String> {
        runtime.block_on(async {
            let Ok((client, connection)) =
                tokio_postgres::connect(&url, tokio_postgres::NoTls).await
            else {
                return Vec::new();
            };
            tokio::spawn(connection);
            client
                .query(sql.as_str(), &[])
                .await
                .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
                .unwrap_or_default()
        })
    };
    let seed = kill_repeatedly(&cfg, || query(format!("SELECT id FROM {table}")).len());
    let ids = query(format!("SELECT id FROM {table}"));
    let distinct: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), ARTICLES, "seed {seed}: one row per article");
    assert_eq!(distinct, expected_ids(&site), "seed {seed}");
    let mismatched = query(format!(
        "SELECT id FROM {table} WHERE position('report ' || regexp_replace(title, '\\D', '', 'g') || ',' in text) = 0"
    ));
    assert!(
        mismatched.is_empty(),
        "seed {seed}: records torn: {mismatched:?}"
    );
    let _ = query(format!("DROP TABLE IF EXISTS {table}"));
    let _ = query(format!(
        "DELETE FROM khabar_schema_migrations WHERE tbl = '{table}'"
    ));
}
