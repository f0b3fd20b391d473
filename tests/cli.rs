//! The command line: plugins, inspect, search, config formats, signals.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn plugins_lists_types_by_kind_with_descriptions() {
    let out = khabar().arg("plugins").output().expect("run");
    assert!(out.status.success());
    let text = stdout(&out);
    let sources = text.find("sources:").expect("sources section");
    let transforms = text.find("transforms:").expect("transforms section");
    let sinks = text.find("sinks:").expect("sinks section");
    assert!(sources < transforms && transforms < sinks);
    assert!(text[sources..transforms].contains("feed"));
    for t in ["fetch_article", "normalize", "rules"] {
        assert!(text[transforms..sinks].contains(t), "{t}");
    }
    for t in ["stdout", "jsonl", "sqlite"] {
        assert!(text[sinks..].contains(t), "{t}");
    }
    assert!(text.contains("FTS5"), "descriptions are shown: {text}");
}

#[test]
fn inspect_feed_prints_feed_and_items() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.xml");
    std::fs::write(&feed, fixture("feed-windows-1256.xml")).expect("write");
    let out = khabar()
        .args(["inspect", "feed"])
        .arg(&feed)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(value["feed"]["title"], "العربي الجديد - سياسة");
    assert_eq!(value["feed"]["language"], "ar");
    let item = &value["items"][0];
    assert_eq!(item["guid"], "alaraby-2019-03-01-baghouz");
    assert_eq!(
        item["url"],
        "https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz"
    );
    assert_eq!(item["published_at"], "2019-03-01T10:12:00Z");
    assert_eq!(item["authors"][0], "العربي الجديد");
    assert!(item["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("قصفت قوات التحالف")));
}

#[test]
fn inspect_feed_on_a_page_fails_clearly() {
    let server = TestServer::start(|_| {
        Reply::ok("text/html", "<html><body><p>not a feed</p></body></html>")
    });
    let out = khabar()
        .args(["inspect", "feed", "--allow-private", &server.url("/page")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&server.url("/page")) && err.contains("not a readable feed"),
        "{err}"
    );

    let missing = khabar()
        .args(["inspect", "feed", "/no/such/feed.xml"])
        .output()
        .expect("run");
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("/no/such/feed.xml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn inspect_article_runs_the_per_article_chain() {
    let server =
        TestServer::start(|_| Reply::ok("text/html; charset=utf-8", fixture("article.html")));
    let out = khabar()
        .args([
            "inspect",
            "article",
            "--allow-private",
            &server.url("/politics/story"),
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        record["title"],
        "التحالف الدولي يقصف المنطقة المحاصرة في الباغوز بعد أسبوعين من الهدوء"
    );
    assert_eq!(record["language"], "ar");
    assert_eq!(record["site_name"], "العربي الجديد");
    assert_eq!(record["text"], fixture_text("body.txt").trim_end());
    assert!(record.get("html").is_none());
    // The chain ends with `entities`: the seed's places come with coordinates.
    let places: Vec<&str> = record["places"]
        .as_array()
        .map(|p| p.iter().filter_map(|p| p["canonical"].as_str()).collect())
        .unwrap_or_default();
    for place in ["الباغوز", "مخيم الهول", "حقل الجفرة"] {
        assert!(places.contains(&place), "{place} missing from {places:?}");
    }
    assert!(record["entities"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["canonical"] == "قوات سورية الديمقراطية")));
    assert!(record["events"].as_array().is_some_and(|e| e
        .iter()
        .any(|e| e["sub_type"] == "Evacuation" && e["place"] == "الباغوز")));
}

#[test]
fn search_finds_folded_forms_with_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("article.html"), fixture("article.html")).expect("page");
    std::fs::write(dir.path().join("feed.xml"), seed_feed("article.html")).expect("feed");
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\n[sources.seed]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [transforms.page]\ntype = \"fetch_article\"\ninputs = [\"seed\"]\nlocal_pages = [\".\"]\n\
         [transforms.clean]\ntype = \"normalize\"\ninputs = [\"page\"]\n\
         [sinks.db]\ntype = \"sqlite\"\ninputs = [\"clean\"]\npath = \"k.db\"\n",
    );
    assert!(run(&["once"], &cfg).status.success());

    // Written with hamza and taa marbuta; found through the folded forms.
    let search = |extra: &[&str]| {
        let mut cmd = khabar();
        cmd.args(["search", "--json", "--config"])
            .arg(&cfg)
            .args(extra);
        let out = cmd.output().expect("run");
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let hits = search(&["أنفاقا", "وملاجئ"]);
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    assert!(hits[0]["snippet"].as_str().is_some_and(|s| s.contains('[')));
    assert_eq!(
        search(&["قوات", "سوريه", "الديمقراطيه"])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        search(&["--language", "en", "الباغوز"])
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        search(&["--since", "2019-03-02", "الباغوز"])
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        search(&["--until", "2019-03-02", "--source", "seed", "الباغوز"])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn yaml_and_json_configs_work_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("feed.xml"),
        seed_feed("https://example.org/a"),
    )
    .expect("feed");
    let yaml = dir.path().join("khabar.yaml");
    std::fs::write(
        &yaml,
        "global:\n  data_dir: data\nsources:\n  s:\n    type: feed\n    urls: [feed.xml]\nsinks:\n  out:\n    type: jsonl\n    inputs: [s]\n    path: out.jsonl\n",
    )
    .expect("yaml");
    let out = run(&["once"], &yaml);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("new items: 1"));

    let json = dir.path().join("khabar.json");
    std::fs::write(
        &json,
        r#"{"sources": {"s": {"type": "feed", "urls": ["feed.xml"]}}, "sinks": {"out": {"type": "stdout", "inputs": ["s"], "colour": true}}}"#,
    )
    .expect("json");
    let out = run(&["validate"], &json);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("sinks.out: unknown field `colour`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_second_signal_exits_at_once() {
    // A page that takes 30 s keeps the pipeline busy; the shutdown deadline is longer still.
    let dir = tempfile::tempdir().expect("tempdir");
    let slow =
        TestServer::start(|_| Reply::ok("text/html", "<p>late</p>").after(Duration::from_secs(30)));
    let feed = String::from_utf8(seed_feed(&slow.url("/story"))).expect("utf-8");
    std::fs::write(dir.path().join("feed.xml"), feed).expect("feed");
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\nshutdown_timeout = \"60s\"\n[sources.s]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [transforms.page]\ntype = \"fetch_article\"\ninputs = [\"s\"]\nhttp = { refuse_private_addresses = false }\n[sinks.out]\ntype = \"stdout\"\ninputs = [\"page\"]\n",
    );
    let child = khabar()
        .args(["run", "--config"])
        .arg(&cfg)
        .spawn()
        .expect("start");
    let pid = child.id().to_string();
    let started = Instant::now();
    while slow.hits.load(std::sync::atomic::Ordering::SeqCst) == 0
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let signal = |name: &str| {
        std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill")
    };
    signal("-INT");
    std::thread::sleep(Duration::from_millis(300));
    let sent_second = Instant::now();
    signal("-TERM");
    let output = child.wait_with_output().expect("exit");
    assert!(
        sent_second.elapsed() < Duration::from_secs(5),
        "exited at once"
    );
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
}

#[test]
fn feeds_import_list_and_export() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/a.xml" => Reply::ok("application/rss+xml", seed_feed("https://example.org/a")),
        "/gone.xml" => Reply::status(410),
        _ => Reply::status(404),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[global]\ndata_dir = \"data\"\n[sources.news]\ntype = \"feed\"\nurls = [\"{}\"]\nhttp = {{ refuse_private_addresses = false }}\n[sinks.out]\ntype = \"jsonl\"\ninputs = [\"news\"]\npath = \"out.jsonl\"\n",
            server.url("/a.xml")
        ),
    );
    let opml = dir.path().join("more.opml");
    std::fs::write(
        &opml,
        format!(
            "<opml version=\"2.0\"><body><outline text=\"Wire\"><outline type=\"rss\" text=\"Gone &amp; away\" xmlUrl=\"{}\" interval=\"30m\"/></outline></body></opml>",
            server.url("/gone.xml")
        ),
    )
    .expect("opml");
    let import = khabar()
        .args(["feeds", "--config"])
        .arg(&cfg)
        .arg("import")
        .arg(&opml)
        .output()
        .expect("run");
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(stdout(&import).contains("imported 1 feeds into source \"news\""));

    let once = run(&["once"], &cfg);
    assert!(
        stdout(&once).contains("feeds: 2, new items: 1"),
        "{}",
        stdout(&once)
    );

    let list = khabar()
        .args(["feeds", "--config"])
        .arg(&cfg)
        .args(["list", "--json"])
        .output()
        .expect("run");
    assert!(list.status.success(), "{}", stderr(&list));
    let feeds: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    assert_eq!(feeds.as_array().map(Vec::len), Some(2));
    assert_eq!(feeds[0]["items_seen"], 1);
    assert!(feeds[0]["next_poll"].is_string() && feeds[0]["last_success"].is_string());
    assert!(
        feeds[1]["disabled"]
            .as_str()
            .is_some_and(|d| d.contains("410")),
        "{}",
        feeds[1]
    );
    assert_eq!(feeds[1]["interval"], "30m");

    let table = khabar()
        .args(["feeds", "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    let text = stdout(&table);
    assert!(
        text.contains("LAST SUCCESS")
            && text.contains("disabled")
            && text.contains(&server.url("/a.xml")),
        "{text}"
    );

    let export = khabar()
        .args(["feeds", "--config"])
        .arg(&cfg)
        .arg("export")
        .output()
        .expect("run");
    let exported = stdout(&export);
    assert!(
        exported.contains(&server.url("/gone.xml"))
            && exported.contains("interval=\"30m\"")
            && exported.contains("enabled=\"false\""),
        "{exported}"
    );
    assert!(
        exported.contains("Gone &amp; away") && exported.contains("<outline text=\"Wire\">"),
        "{exported}"
    );
}
