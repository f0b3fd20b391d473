//! The archetypal input end to end: the seed feed and page served from a loopback server,
//! through `khabar once`, into the SQLite sink.

mod common;

use common::*;

fn config(feed_url: &str, data_dir: &std::path::Path) -> String {
    format!(
        r#"
[global]
data_dir = "{data}"

[sources.seed]
type = "feed"
http = {{ refuse_private_addresses = false }}
urls = ["{feed_url}"]

[transforms.page]
type = "fetch_article"
http = {{ refuse_private_addresses = false }}
inputs = ["seed"]

[transforms.clean]
type = "normalize"
inputs = ["page"]

[sinks.db]
type = "sqlite"
inputs = ["clean"]
path = "khabar.db"
"#,
        data = data_dir.display()
    )
}

fn serve_seed(feed_path: &'static str) -> TestServer {
    let server_base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let base = std::sync::Arc::clone(&server_base);
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/rss.xml" => {
            let article = format!(
                "{}/politics/2019/3/1/coalition-strikes-baghouz",
                base.get().map(String::as_str).unwrap_or("")
            );
            match feed_path {
                "feed.xml" => Reply::ok("application/rss+xml", seed_feed(&article)),
                other => Reply::ok("application/rss+xml", fixture(other)),
            }
        }
        "/politics/2019/3/1/coalition-strikes-baghouz" => {
            Reply::ok("text/html; charset=utf-8", fixture("article.html"))
        }
        _ => Reply::status(404),
    });
    let _ = server_base.set(server.base.clone());
    server
}

#[test]
fn once_writes_the_seed_exactly_once() {
    let server = serve_seed("feed.xml");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &config(&server.url("/rss.xml"), &dir.path().join("data")),
    );

    let first = run(&["once"], &cfg);
    assert!(
        first.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(&first),
        stderr(&first)
    );
    assert!(
        stdout(&first).contains("feeds: 1, new items: 1, delivered: 1, failed: 0"),
        "{}",
        stdout(&first)
    );

    let rows = stored_articles(&dir.path().join("data/khabar.db"));
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        row.title.as_deref(),
        Some("التحالف الدولي يقصف المنطقة المحاصرة في الباغوز بعد أسبوعين من الهدوء")
    );
    assert_eq!(row.language.as_deref(), Some("ar"));
    let published = row.published_at.as_deref();
    assert!(
        published.is_some_and(|p| p.starts_with("2019-03-01")),
        "{published:?}"
    );
    let text = row.text.as_deref().unwrap_or_default();
    assert_eq!(text, fixture_text("body.txt").trim_end());
    assert!(!text.contains("+ الخط -") && !text.contains("الخط"));
    assert!(
        !text.contains("خلافات بين مكونات"),
        "the caption leaked into the text"
    );

    let second = run(&["once"], &cfg);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("new items: 0, delivered: 0"),
        "{}",
        stdout(&second)
    );
    assert_eq!(stored_articles(&dir.path().join("data/khabar.db")).len(), 1);
}

#[test]
fn windows_1256_feed_gives_the_same_arabic_item() {
    let server = serve_seed("feed-windows-1256.xml");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"
[global]
data_dir = "{}"
[sources.seed]
type = "feed"
http = {{ refuse_private_addresses = false }}
urls = ["{}"]
[sinks.out]
type = "jsonl"
inputs = ["seed"]
path = "items.jsonl"
"#,
            data.display(),
            server.url("/rss.xml")
        ),
    );
    let out = run(&["once"], &cfg);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = std::fs::read_to_string(data.join("items.jsonl")).expect("jsonl written");
    let record: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON record");
    assert_eq!(
        record["title"],
        "التحالف الدولي يقصف المنطقة المحاصرة في الباغوز بعد أسبوعين من الهدوء"
    );
    assert_eq!(record["language"], "ar");
    assert_eq!(record["published_at"], "2019-03-01T10:12:00Z");
}

#[test]
fn conditional_get_sends_validators_on_the_next_poll() {
    let etag_seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
    let log = std::sync::Arc::clone(&etag_seen);
    let server = TestServer::start(move |req| {
        if req.path == "/rss.xml" {
            log.lock()
                .map(|mut l| l.push(req.header("If-None-Match").map(str::to_string)))
                .ok();
            if req.header("If-None-Match") == Some("\"v1\"") {
                return Reply::status(304);
            }
            return Reply::ok("application/rss+xml", seed_feed("https://example.org/a"))
                .with_header("ETag", "\"v1\"");
        }
        Reply::status(404)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[global]\ndata_dir = \"{}\"\n[sources.s]\ntype = \"feed\"\nhttp = {{ refuse_private_addresses = false }}\nurls = [\"{}\"]\n[sinks.out]\ntype = \"jsonl\"\ninputs = [\"s\"]\npath = \"x.jsonl\"\n",
            dir.path().join("data").display(),
            server.url("/rss.xml")
        ),
    );
    assert!(run(&["once"], &cfg).status.success());
    let second = run(&["once"], &cfg);
    assert!(second.status.success());
    assert!(stdout(&second).contains("new items: 0"));
    let seen = etag_seen.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(seen, vec![None, Some("\"v1\"".to_string())]);
}
