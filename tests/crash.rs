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
