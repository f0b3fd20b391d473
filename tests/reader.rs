//! The reader's pages on the demo pipeline (config/demo.toml: the Arabic seed article and two
//! English ones): their JSON twins, then the pages in a real browser, headless Chromium driven
//! through chromedriver (WebDriver), which checks the DOM as the browser built it and saves
//! screenshots to target/screenshots/.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const SEED_TITLE: &str = "التحالف الدولي يقصف المنطقة المحاصرة في الباغوز بعد أسبوعين من الهدوء";
const ENGLISH_TITLE: &str = "Coalition jets strike the last Islamic State pocket in Baghouz";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `khabar run` on the demo config, its data in `data`, until dropped.
struct Daemon {
    child: Child,
    base: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_daemon(data: &Path) -> Daemon {
    let child = khabar()
        .args(["run", "--config"])
        .arg(repo().join("config/demo.toml"))
        .env("KHABAR__GLOBAL__DATA_DIR", data)
        .stderr(Stdio::null())
        .spawn()
        .expect("khabar run");
    let address = data.join("api.address");
    let started = Instant::now();
    let base = loop {
        if let Ok(text) = std::fs::read_to_string(&address) {
            let text = text.trim().to_string();
            if text.starts_with("http://") {
                break text;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no API address"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let daemon = Daemon { child, base };
    // The three demo articles stored.
    let started = Instant::now();
    loop {
        let stored = get_json(&format!("{}/api/search?limit=50", daemon.base))
            .and_then(|v| v["hits"].as_array().map(Vec::len))
            .unwrap_or(0);
        if stored == 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the demo articles were not stored ({stored})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn request(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    block_on(async {
        let client = reqwest::Client::new();
        let mut request = client.request(method, url).timeout(Duration::from_secs(60));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

fn get_json(url: &str) -> Option<Value> {
    let (status, value) = block_on(async {
        let response = reqwest::get(url).await.ok()?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.ok()?;
        Some((status, serde_json::from_slice(&bytes).ok()?))
    })?;
    (status == 200).then_some(value)
}

#[test]
fn the_json_twins_answer_what_the_pages_show() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = demo_daemon(&dir.path().join("data"));
    let base = &daemon.base;

    let found = get_json(&format!("{base}/api/search?q=الباغوز")).expect("search");
    let hits = found["hits"].as_array().expect("hits");
    let seed = hits
        .iter()
        .find(|h| h["title"] == SEED_TITLE)
        .unwrap_or_else(|| panic!("the seed article among {found}"));
    assert!(seed["snippet"]
        .as_str()
        .is_some_and(|s| s.contains("[الباغوز]")));
    let english = get_json(&format!("{base}/api/search?q=Baghouz&language=en")).expect("search");
    assert!(
        english["hits"]
            .as_array()
            .is_some_and(|h| !h.is_empty() && h.iter().all(|h| h["language"] == "en")),
        "{english}"
    );
    // Filters: an entity, a place, a period that holds nothing.
    let by_entity = get_json(&format!("{base}/api/search?entity=مخيم الهول")).expect("search");
    assert!(
        by_entity["hits"].as_array().is_some_and(|h| h.len() >= 2),
        "{by_entity}"
    );
    let by_place = get_json(&format!("{base}/api/search?place=khabar:baghouz")).expect("search");
    assert_eq!(
        by_place["hits"].as_array().map(Vec::len),
        Some(3),
        "{by_place}"
    );
    let none = get_json(&format!("{base}/api/search?q=الباغوز&since=2020-01-01")).expect("search");
    assert_eq!(none["hits"].as_array().map(Vec::len), Some(0));
    let (status, bad) = request(
        reqwest::Method::GET,
        &format!("{base}/api/search?since=next%20blue%20moon"),
        None,
    );
    assert_eq!(status, 400);
    assert!(
        bad["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("since: ")),
        "{bad}"
    );

    let id = seed["id"].as_str().expect("id");
    let article = get_json(&format!("{base}/api/article/{id}")).expect("article");
    assert_eq!(article["record"]["title"], SEED_TITLE);
    assert!(article["record"]["entities"]
        .as_array()
        .is_some_and(|e| e.len() > 10));
    let (status, _) = request(
        reqwest::Method::GET,
        &format!("{base}/api/article/0000000000000000000000000000dead"),
        None,
    );
    assert_eq!(status, 404);

    let places = get_json(&format!("{base}/api/places")).expect("places");
    let baghouz = places
        .as_array()
        .and_then(|p| p.iter().find(|p| p["id"] == "khabar:baghouz"))
        .unwrap_or_else(|| panic!("al-Baghouz among {places}"));
    assert_eq!(baghouz["articles"], 3);
    assert!((baghouz["lat"].as_f64().unwrap_or(0.0) - 34.47).abs() < 0.1);

    let feeds = get_json(&format!("{base}/api/feeds")).expect("feeds");
    let feeds = feeds.as_array().expect("a list");
    assert_eq!(feeds.len(), 3);
    assert!(feeds.iter().all(|f| f["status"] == "ok"), "{feeds:?}");
}

/// A WebDriver session of headless Chromium, ended on drop.
struct Browser {
    driver: Child,
    url: String,
}

impl Browser {
    fn start() -> Option<Browser> {
        let install = "apt-get install chromium chromium-driver (cargo xtask ci installs them)";
        let chromium = khabar_testkit::program("KHABAR_TEST_CHROMIUM", "chromium", install)?;
        let chromedriver =
            khabar_testkit::program("KHABAR_TEST_CHROMEDRIVER", "chromedriver", install)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = std::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver_url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while get_json(&format!("{driver_url}/status")).is_none_or(|s| s["value"]["ready"] != true)
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver not ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, session) = request(
            reqwest::Method::POST,
            &format!("{driver_url}/session"),
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--disable-background-networking",
                             "--no-first-run", "--window-size=1280,1000", "--lang=en-US"]
                }
            }}})),
        );
        assert_eq!(status, 200, "a browser session: {session}");
        let id = session["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        Some(Browser {
            driver,
            url: format!("{driver_url}/session/{id}"),
        })
    }

    fn open(&self, url: &str) {
        let (status, answer) = request(
            reqwest::Method::POST,
            &format!("{}/url", self.url),
            Some(json!({ "url": url })),
        );
        assert_eq!(status, 200, "{url}: {answer}");
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    fn eval(&self, script: &str) -> Value {
        let (status, answer) = request(
            reqwest::Method::POST,
            &format!("{}/execute/sync", self.url),
            Some(json!({ "script": script, "args": [] })),
        );
        assert_eq!(status, 200, "{script}: {answer}");
        answer["value"].clone()
    }

    fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let (status, answer) = request(
            reqwest::Method::GET,
            &format!("{}/screenshot", self.url),
            None,
        );
        assert_eq!(status, 200);
        let png = base64::engine::general_purpose::STANDARD
            .decode(answer["value"].as_str().expect("base64"))
            .expect("a PNG");
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("target"))
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("screenshots folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(reqwest::Method::DELETE, &self.url, None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn the_pages_work_in_headless_chromium_in_arabic_and_english() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = demo_daemon(&dir.path().join("data"));
    let base = &daemon.base;

    // Search, in Arabic: the seed article is found, its result laid out right to left, the
    // matched word marked.
    browser.open(&format!("{base}/?q=الباغوز"));
    let results = browser.eval(
        "return [...document.querySelectorAll('ol.hits li')].map(li => ({
            title: li.querySelector('a.hit-title').textContent,
            href: li.querySelector('a.hit-title').getAttribute('href'),
            direction: getComputedStyle(li).direction,
            marked: [...li.querySelectorAll('.snippet b')].map(b => b.textContent)
        }));",
    );
    let seed = results
        .as_array()
        .and_then(|r| r.iter().find(|h| h["title"] == SEED_TITLE))
        .unwrap_or_else(|| panic!("the seed article among {results}"))
        .clone();
    assert_eq!(seed["direction"], "rtl");
    assert!(
        seed["marked"]
            .as_array()
            .is_some_and(|m| m.iter().any(|w| w == "الباغوز")),
        "{seed}"
    );
    browser.screenshot("search-ar");

    // Its page: the entities highlighted by kind, the text right to left.
    let href = seed["href"].as_str().expect("a link");
    browser.open(&format!("{base}{href}"));
    let page = browser.eval(
        "const marks = [...document.querySelectorAll('article.text mark.ent')];
         const baghouz = marks.find(m => m.dataset.canonical === 'الباغوز');
         return {
            title: document.querySelector('h1').textContent,
            direction: getComputedStyle(document.querySelector('article.text')).direction,
            marks: marks.length,
            kinds: [...new Set(marks.map(m => m.dataset.kind))].sort(),
            backgrounds: [...new Set(marks.map(m => m.dataset.kind + ' ' + getComputedStyle(m).backgroundColor))].sort(),
            baghouz_background: baghouz && getComputedStyle(baghouz).backgroundColor,
            baghouz_visible: baghouz && baghouz.getBoundingClientRect().width > 0,
            isolated: marks.every(m => getComputedStyle(m).unicodeBidi === 'isolate'),
            events: document.querySelectorAll('aside .events li').length,
            places: document.querySelectorAll('aside .places li').length
         };",
    );
    assert_eq!(page["title"], SEED_TITLE);
    assert_eq!(page["direction"], "rtl");
    assert!(page["marks"].as_u64().is_some_and(|n| n > 20), "{page}");
    let kinds: Vec<&str> = page["kinds"]
        .as_array()
        .map(|k| k.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        kinds.contains(&"organization") && kinds.contains(&"place"),
        "{page}"
    );
    // One colour per kind.
    assert_eq!(
        page["backgrounds"].as_array().map(Vec::len),
        Some(kinds.len()),
        "{page}"
    );
    assert_eq!(page["baghouz_visible"], true, "{page}");
    let background = page["baghouz_background"].as_str().unwrap_or("");
    assert!(
        background.starts_with("rgb") && background != "rgba(0, 0, 0, 0)",
        "a place is highlighted: {page}"
    );
    assert_eq!(page["isolated"], true);
    assert!(page["events"].as_u64().is_some_and(|n| n > 0), "{page}");
    assert!(page["places"].as_u64().is_some_and(|n| n > 0), "{page}");
    browser.screenshot("article-ar");

    // In English: left to right, with the Arabic names in an English line kept whole.
    browser.open(&format!("{base}/?q=Baghouz&language=en"));
    let english = browser.eval(
        "return [...document.querySelectorAll('ol.hits li a.hit-title')].map(a => ({
            title: a.textContent, href: a.getAttribute('href'),
            direction: getComputedStyle(a.closest('li')).direction }));",
    );
    let hit = english
        .as_array()
        .and_then(|r| r.iter().find(|h| h["title"] == ENGLISH_TITLE))
        .unwrap_or_else(|| panic!("the English article among {english}"))
        .clone();
    assert_eq!(hit["direction"], "ltr");
    browser.screenshot("search-en");
    browser.open(&format!("{base}{}", hit["href"].as_str().expect("link")));
    let mixed = browser.eval(
        "const p = [...document.querySelectorAll('article.text p')].find(p => p.textContent.includes('قسد'));
         return {
            direction: getComputedStyle(document.querySelector('article.text')).direction,
            paragraph: p && getComputedStyle(p).direction,
            marks: document.querySelectorAll('article.text mark.ent').length
         };",
    );
    assert_eq!(mixed["direction"], "ltr", "{mixed}");
    assert_eq!(
        mixed["paragraph"], "ltr",
        "an English line with Arabic in it: {mixed}"
    );
    assert!(mixed["marks"].as_u64().is_some_and(|n| n >= 5), "{mixed}");
    browser.screenshot("article-en");

    // The map: a dot at al-Baghouz, drawn inside Syria's outline, linking to its articles.
    browser.open(&format!("{base}/map"));
    let map = browser.eval(
        "const dot = document.querySelector('circle.dot[data-id=\"khabar:baghouz\"]');
         if (!dot) return { dot: false };
         const syria = [...document.querySelectorAll('path.country')]
            .find(p => p.querySelector('title').textContent === 'Syria');
         const point = dot.ownerSVGElement.createSVGPoint();
         point.x = dot.cx.baseVal.value; point.y = dot.cy.baseVal.value;
         const box = dot.getBoundingClientRect();
         const frame = dot.ownerSVGElement.getBoundingClientRect();
         return {
            dot: true,
            in_syria: syria.isPointInFill(point),
            on_screen: box.width > 0 && box.left >= frame.left && box.right <= frame.right
                && box.top >= frame.top && box.bottom <= frame.bottom,
            link: dot.closest('a').getAttribute('href'),
            countries: document.querySelectorAll('path.country').length
         };",
    );
    assert_eq!(map["dot"], true, "{map}");
    assert_eq!(map["in_syria"], true, "{map}");
    assert_eq!(map["on_screen"], true, "{map}");
    assert_eq!(map["link"], "/?place=khabar%3Abaghouz");
    assert!(map["countries"].as_u64().is_some_and(|n| n > 150));
    browser.screenshot("map");

    // Feed health.
    browser.open(&format!("{base}/feeds"));
    let feeds = browser
        .eval("return [...document.querySelectorAll('tr.feed')].map(tr => tr.dataset.status);");
    assert_eq!(feeds, json!(["ok", "ok", "ok"]));
    browser.screenshot("feeds");
}

#[test]
fn a_tap_opened_before_the_daemon_prints_three_records_of_the_demo_pipeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let tap = khabar()
        .args([
            "tap",
            "clean",
            "--limit",
            "3",
            "--fields",
            "title,language",
            "--config",
        ])
        .arg(repo().join("config/demo.toml"))
        .env("KHABAR__GLOBAL__DATA_DIR", &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("khabar tap");
    std::thread::sleep(Duration::from_millis(500));
    let _daemon = demo_daemon(&data);
    let started = Instant::now();
    let mut tap = tap;
    while tap.try_wait().expect("tap status").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the tap did not end after three records"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = tap.wait_with_output().expect("tap output");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("waiting for the daemon"),
        "{}",
        stderr(&out)
    );
    let records: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(records.len(), 3, "{}", stdout(&out));
    let titles: Vec<&str> = records.iter().filter_map(|r| r["title"].as_str()).collect();
    assert_eq!(titles.len(), 3);
    assert!(
        titles
            .iter()
            .any(|t| *t == SEED_TITLE || *t == ENGLISH_TITLE),
        "{titles:?}"
    );
}
