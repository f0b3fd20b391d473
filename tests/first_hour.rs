//! What a new user meets in the first hour: pipes, colours, flags, messages that name things
//! once and say what to do.

mod common;

use std::process::Stdio;

use common::*;

/// Runs `khabar args…` with its standard output closed before it writes: every write fails
/// with a broken pipe, as under `khabar … | head -1` once `head` has its line.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = khabar()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait")
}

fn feed_config(dir: &std::path::Path, urls: &[String]) -> std::path::PathBuf {
    let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    write_config(
        dir,
        &format!(
            "[global]\ndata_dir = \"data\"\n[sources.news]\ntype = \"feed\"\nurls = [{}]\nhttp = {{ refuse_private_addresses = false }}\n[sinks.out]\ntype = \"jsonl\"\ninputs = [\"news\"]\npath = \"out.jsonl\"\n",
            urls.join(", ")
        ),
    )
}

#[test]
fn a_closed_pipe_ends_listings_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.xml");
    std::fs::write(&feed, fixture("feed-windows-1256.xml")).expect("feed");
    let cfg = feed_config(dir.path(), &[feed.display().to_string()]);
    let cfg = cfg.display().to_string();
    let feed = feed.display().to_string();
    for args in [
        vec!["plugins"],
        vec!["feeds", "--config", &cfg],
        vec!["feeds", "--config", &cfg, "export"],
        vec!["inspect", "feed", &feed],
        vec!["validate", "--config", &cfg],
    ] {
        let out = with_closed_stdout(&args);
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn logs_have_no_colour_codes_off_a_terminal_or_under_no_color() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = feed_config(dir.path(), &["http://127.0.0.1:9/feed.xml".to_string()]);
    let out = run(&["once"], &cfg);
    assert!(
        stderr(&out).contains("feed poll failed"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));

    // On a terminal (a pseudo-terminal made by `script`), colour unless NO_COLOR is set.
    let on_terminal = |no_color: bool| {
        let command = format!(
            "{} --log-level warn once --config {}",
            env!("CARGO_BIN_EXE_khabar"),
            cfg.display()
        );
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .env_remove("RUST_LOG");
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        let out = script.output().expect("script (util-linux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("feed poll failed") && coloured.contains('\x1b'),
        "{coloured}"
    );
    // On a terminal `once` shows its progress line (redrawn with carriage returns), and off
    // one only its summary.
    assert!(coloured.contains("feeds polled"), "{coloured}");
    assert!(!stderr(&out).contains("feeds polled"), "{}", stderr(&out));
    let plain = on_terminal(true);
    assert!(
        plain.contains("feed poll failed") && !plain.contains('\x1b'),
        "{plain}"
    );
}

#[test]
fn a_misspelt_log_level_is_refused() {
    let out = khabar()
        .args(["--log-level", "bogus", "plugins"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"bogus\" is not a log level"));
    let fine = khabar()
        .args(["--log-level", "info,khabar_fetcher=debug", "plugins"])
        .output()
        .expect("run");
    assert!(fine.status.success(), "{}", stderr(&fine));
}

#[test]
fn feeds_json_lists_without_the_action_word() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = feed_config(dir.path(), &["https://example.org/rss".to_string()]);
    let out = khabar()
        .args(["feeds", "--json", "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let feeds: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(feeds[0]["url"], "https://example.org/rss");
}

#[test]
fn inspect_article_refuses_what_is_no_page_and_names_the_file_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("photo.html");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").expect("png");
    let empty = dir.path().join("empty.html");
    std::fs::write(&empty, b"").expect("empty");
    let missing = dir.path().join("missing.html");
    for (path, says) in [
        (
            binary.display().to_string(),
            "not a web page but a PNG image",
        ),
        (empty.display().to_string(), "the page is empty"),
        ("/dev/null".to_string(), "not a regular file"),
        (missing.display().to_string(), "no such file"),
    ] {
        let out = khabar()
            .args(["inspect", "article", &path])
            .output()
            .expect("run");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(out.stdout.is_empty(), "{path}: no record is printed");
        assert!(err.contains(says), "{path}: {err}");
        let name = std::path::Path::new(&path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(err.matches(name).count(), 1, "{err}");
    }
}

#[test]
fn refusing_a_private_address_names_the_flag_that_allows_it() {
    for what in ["feed", "article"] {
        let out = khabar()
            .args(["inspect", what, "http://127.0.0.1:9/x"])
            .output()
            .expect("run");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("pass --allow-private"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_feed_error_line_names_the_feed_once_and_says_when_a_page_link_was_followed() {
    let server = TestServer::start(|req| {
        match req.path.as_str() {
        "/politics" => Reply::ok(
            "text/html",
            "<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss/politics.xml\"></head><body>news</body></html>",
        ),
        _ => Reply::status(404),
    }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = feed_config(
        dir.path(),
        &[server.url("/politics"), server.url("/missing.xml")],
    );
    let out = run(&["once"], &cfg);
    let err = stderr(&out);
    let line = |url: &str| {
        err.lines()
            .find(|l| l.contains("feed poll failed") && l.contains(url))
            .unwrap_or_default()
            .to_string()
    };
    let missing = line(&server.url("/missing.xml"));
    assert_eq!(
        missing.matches(&server.url("/missing.xml")).count(),
        1,
        "{err}"
    );
    assert!(missing.contains("HTTP 404"), "{missing}");
    let page = line(&server.url("/politics"));
    assert!(
        page.contains("an HTML page; it links to the feed")
            && page.contains(&server.url("/rss/politics.xml"))
            && page.matches(&server.url("/politics\"")).count() == 1,
        "{err}"
    );
}

#[test]
fn feeds_import_resolves_relative_urls_and_lists_the_sources_to_choose_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("khabar.toml"),
        "[global]\ndata_dir = \"data\"\n\
         [sources.wire]\ntype = \"feed\"\nurls = [\"https://example.org/a\"]\n\
         [sources.maps]\ntype = \"sitemap\"\nurls = [\"https://example.org/sitemap.xml\"]\n\
         [sinks.out]\ntype = \"stdout\"\ninputs = [\"wire\", \"maps\"]\n",
    )
    .expect("config");
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).expect("dir");
    std::fs::write(lists.join("local.xml"), fixture("feed-windows-1256.xml")).expect("feed");
    std::fs::write(
        lists.join("feeds.opml"),
        "<opml version=\"2.0\"><body><outline type=\"rss\" xmlUrl=\"local.xml\"/></body></opml>",
    )
    .expect("opml");
    let cfg = dir.path().join("khabar.toml");
    let import = |source: Option<&str>| {
        let mut cmd = khabar();
        cmd.args(["feeds", "--config"]).arg(&cfg);
        if let Some(source) = source {
            cmd.args(["--source", source]);
        }
        cmd.arg("import").arg(lists.join("feeds.opml"));
        cmd.output().expect("run")
    };
    let ambiguous = import(None);
    assert!(!ambiguous.status.success());
    assert!(
        stderr(&ambiguous).contains("several feed sources (wire, maps); name one with --source"),
        "{}",
        stderr(&ambiguous)
    );
    let done = import(Some("wire"));
    assert!(done.status.success(), "{}", stderr(&done));
    let list = khabar()
        .args(["feeds", "--json", "--source", "wire", "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    let feeds: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    let local = std::fs::canonicalize(lists.join("local.xml")).expect("canonical");
    let expected = url_of(&local);
    assert!(
        feeds
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["url"] == expected.as_str())),
        "{feeds}"
    );
}

fn url_of(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn search_limits_and_relative_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("article.html"), fixture("article.html")).expect("page");
    std::fs::write(dir.path().join("feed.xml"), seed_feed("article.html")).expect("feed");
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\n[sources.seed]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [transforms.page]\ntype = \"fetch_article\"\ninputs = [\"seed\"]\nlocal_pages = [\".\"]\n\
         [sinks.db]\ntype = \"sqlite\"\ninputs = [\"page\"]\npath = \"k.db\"\n",
    );
    assert!(run(&["once"], &cfg).status.success());
    let search = |extra: &[&str]| {
        khabar()
            .args(["search", "--json", "--config"])
            .arg(&cfg)
            .args(extra)
            .output()
            .expect("run")
    };
    let zero = search(&["--limit", "0", "الباغوز"]);
    assert_eq!(zero.status.code(), Some(2), "{}", stderr(&zero));
    assert!(stderr(&zero).contains("--limit"), "{}", stderr(&zero));
    let hits = |out: std::process::Output| {
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .expect("JSON")
            .as_array()
            .map(Vec::len)
    };
    // The seed article was published on 2019-03-01.
    assert_eq!(hits(search(&["--since", "yesterday", "الباغوز"])), Some(0));
    assert_eq!(hits(search(&["--until", "yesterday", "الباغوز"])), Some(1));
    assert_eq!(hits(search(&["--until", "3 days ago", "الباغوز"])), Some(1));
    assert_eq!(hits(search(&["--limit", "1", "الباغوز"])), Some(1));
    let bad = search(&["--since", "someday", "الباغوز"]);
    assert!(stderr(&bad).contains("\"someday\" is not a date"));
}
