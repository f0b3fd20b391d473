//! The daemon's HTTP API as an operator meets it: `/metrics` scraped with a Prometheus text
//! parser while records flow, `/health`, `/ready` (and what it says when a sink fails),
//! `khabar tap` and `khabar top` against a running `khabar run`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// A feed of `count` items, each linking to a page of this server, with no caching hints (so
/// a daemon polling every second sees new items at once).
fn feed(base: &str, count: usize) -> String {
    let items: String = (0..count)
        .map(|i| {
            format!(
                "<item><title>Story {i}</title><link>{base}/story/{i}</link><guid>story-{i}</guid><pubDate>Fri, 01 Mar 2019 10:{i:02}:00 GMT</pubDate></item>"
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>{base}/</link>{items}</channel></rss>")
}

fn page(i: &str) -> String {
    let paragraph = format!(
        "<p>Story {i} tells how the river flooded the lower town on Friday, how the council \
         opened two schools as shelters, and how volunteers carried food to the families who \
         stayed. Officials said the water would fall within days.</p>"
    );
    format!(
        "<html><head><title>Story {i}</title></head><body><nav>Home | World</nav><article><h1>Story {i}</h1>{}</article></body></html>",
        paragraph.repeat(4)
    )
}

struct Wire {
    server: TestServer,
    items: Arc<AtomicUsize>,
}

fn wire(initial: usize) -> Wire {
    let items = Arc::new(AtomicUsize::new(initial));
    let count = Arc::clone(&items);
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let base_in = Arc::clone(&base);
    let server = TestServer::start(move |req| {
        let base = base_in.get().cloned().unwrap_or_default();
        if req.path == "/feed.xml" {
            Reply::ok(
                "application/rss+xml",
                feed(&base, count.load(Ordering::SeqCst)),
            )
        } else if let Some(i) = req.path.strip_prefix("/story/") {
            Reply::ok("text/html; charset=utf-8", page(i))
        } else {
            Reply::status(404)
        }
    });
    let _ = base.set(server.url("").trim_end_matches('/').to_string());
    Wire { server, items }
}

fn daemon_config(dir: &Path, feed_url: &str) -> PathBuf {
    write_config(
        dir,
        &format!(
            r#"
[global]
data_dir = "data"
metrics_interval = "1h"

[api]
address = "127.0.0.1:0"

[sources.wire]
type = "feed"
urls = ["{feed_url}"]
interval = "1s"
min_interval = "1s"
max_interval = "2s"
adaptive = false
http = {{ refuse_private_addresses = false }}

[transforms.page]
type = "fetch_article"
inputs = ["wire"]
http = {{ refuse_private_addresses = false, per_host_interval = "0s" }}
respect_robots = false

[transforms.clean]
type = "normalize"
inputs = ["page"]

[sinks.out]
type = "jsonl"
inputs = ["clean"]
path = "out.jsonl"
batch_timeout = "50ms"
"#
        ),
    )
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get(url: &str) -> Option<(u16, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    })
}

/// Every sample of a scrape, by metric name and sorted labels.
fn scrape(base: &str) -> HashMap<String, f64> {
    let (status, text) = get(&format!("{base}/metrics")).expect("/metrics answers");
    assert_eq!(status, 200);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let mut samples = HashMap::new();
    for sample in parsed.samples {
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.iter().map(|b| b.count).fold(0.0, f64::max)
            }
            prometheus_parse::Value::Summary(_) => continue,
        };
        samples.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), value);
    }
    samples
}

fn stage_labels(id: &str, kind: &str, type_name: &str) -> String {
    format!("component_id={id},component_kind={kind},component_type={type_name}")
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key}; have: {:#?}", samples.keys()))
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_running_daemon_shows_metrics_that_move_with_the_records_and_taps_and_tops() {
    let wire = wire(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = daemon_config(dir.path(), &wire.server.url("/feed.xml"));
    let mut daemon = khabar()
        .args(["run", "--config"])
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .expect("khabar run");
    let address_file = dir.path().join("data/api.address");
    let base = wait_for("the API's address", Duration::from_secs(60), || {
        std::fs::read_to_string(&address_file)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| t.starts_with("http://127.0.0.1:"))
    });

    let (status, body) = get(&format!("{base}/health")).expect("/health answers");
    assert_eq!(status, 200);
    assert!(body.contains("\"alive\""), "{body}");
    wait_for("/ready", Duration::from_secs(60), || {
        get(&format!("{base}/ready")).filter(|(status, _)| *status == 200)
    });
    let out = dir.path().join("data/out.jsonl");
    wait_for("the first two records", Duration::from_secs(60), || {
        (lines(&out) == 2).then_some(())
    });

    let first = scrape(&base);
    let clean = stage_labels("clean", "transform", "normalize");
    let sink = stage_labels("out", "sink", "jsonl");
    assert_eq!(
        value(
            &first,
            &format!("khabar_component_sent_records_total{{{clean}}}")
        ),
        2.0
    );
    assert_eq!(
        value(
            &first,
            &format!("khabar_component_received_records_total{{{sink}}}")
        ),
        2.0
    );
    assert_eq!(value(&first, "khabar_acks_total{outcome=delivered}"), 2.0);
    assert_eq!(
        value(&first, "khabar_feeds{component_id=wire,status=ok}"),
        1.0
    );
    assert!(
        value(
            &first,
            "khabar_feed_polls_total{component_id=wire,result=new_items}"
        ) >= 1.0
    );
    assert!(
        value(
            &first,
            "khabar_fetch_duration_seconds{component_id=page,host_class=private,result=ok}"
        ) >= 2.0,
        "two pages fetched from a loopback server"
    );
    assert!(value(&first, "process_resident_memory_bytes{}") > 1e6);
    assert!(value(&first, "khabar_uptime_seconds{}") > 0.0);
    assert!(
        value(
            &first,
            "khabar_sink_write_duration_seconds{component_id=out}"
        ) >= 1.0,
        "the sink's write latency is a histogram with at least one write"
    );

    // A tap on `clean` prints the next three records, with the fields asked for.
    let tap = khabar()
        .args([
            "tap",
            "clean",
            "--limit",
            "3",
            "--fields",
            "title,url",
            "--config",
        ])
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("khabar tap");
    wait_for("the tap to be watching", Duration::from_secs(30), || {
        let (_, stats) = get(&format!("{base}/api/stats"))?;
        let stats: serde_json::Value = serde_json::from_str(&stats).ok()?;
        stats["stages"]
            .as_array()?
            .iter()
            .any(|s| s["stage"] == "clean" && s["tap_watchers"] == 1)
            .then_some(())
    });
    wire.items.store(5, Ordering::SeqCst);
    let tapped = tap
        .wait_with_output()
        .expect("tap ends after three records");
    assert!(tapped.status.success(), "{}", stderr(&tapped));
    let records: Vec<serde_json::Value> = stdout(&tapped)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(records.len(), 3, "{}", stdout(&tapped));
    for record in &records {
        let keys: Vec<&String> = record.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["title", "url"], "{record}");
        assert!(record["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Story ")));
    }

    wait_for("all five records", Duration::from_secs(60), || {
        (lines(&out) == 5).then_some(())
    });
    let second = scrape(&base);
    assert_eq!(
        value(
            &second,
            &format!("khabar_component_sent_records_total{{{clean}}}")
        ),
        5.0
    );
    assert_eq!(value(&second, "khabar_acks_total{outcome=delivered}"), 5.0);

    // `top` shows every stage with its rates.
    let top = khabar()
        .args([
            "top",
            "--iterations",
            "2",
            "--interval",
            "200ms",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .expect("khabar top");
    assert!(top.status.success(), "{}", stderr(&top));
    let screen = stdout(&top);
    for needle in [
        "IN/S",
        "OUT/S",
        "QUEUE",
        "clean",
        "normalize",
        "delivered 5",
    ] {
        assert!(screen.contains(needle), "{needle} missing from:\n{screen}");
    }
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("clean") && l.contains("0.0")),
        "a rate on the second screen: {screen}"
    );

    // An unknown stage is named, with the stages there are.
    let wrong = khabar()
        .args(["tap", "cleen", "--no-wait", "--config"])
        .arg(&cfg)
        .output()
        .expect("khabar tap");
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("no stage \"cleen\"") && stderr(&wrong).contains("clean"),
        "{}",
        stderr(&wrong)
    );

    std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .expect("kill -TERM");
    let status = daemon.wait().expect("daemon exits");
    assert!(status.success());
    assert!(
        !address_file.exists(),
        "the address file goes with the daemon"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_says_which_sink_cannot_write_and_health_stays_alive() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_titles_feed(dir.path(), &["one", "two"]);
    std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\ninterval = \"1h\"\n\
         [sinks.archive]\ntype = \"flaky\"\ninputs = [\"f\"]\nlog = \"flaky.log\"\nfail_first = 1000000\nbatch_timeout = \"20ms\"\n",
    );
    let raw = khabar_runtime::load_config(&cfg).expect("config");
    let plan = khabar_runtime::validate(&raw, &registry_with_flaky()).expect("valid");
    let state =
        khabar_sqlite::SqliteStateStore::open(&dir.path().join("data/state.db")).expect("state");
    let monitor = khabar_runtime::Monitor::new();
    let server = khabar_api::Server::start(
        "127.0.0.1:0".parse().expect("address"),
        monitor.clone(),
        khabar_api::Reader::default(),
    )
    .await
    .expect("API");
    let base = format!("http://{}", server.address());
    let client = reqwest::Client::new();
    let ready = |client: reqwest::Client, base: String| async move {
        let response = client
            .get(format!("{base}/ready"))
            .send()
            .await
            .expect("/ready");
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
        (status, body)
    };
    let (status, body) = ready(client.clone(), base.clone()).await;
    assert_eq!(status, 503, "nothing built yet: {body}");
    assert_eq!(body["phase"], "building");

    let pipeline = khabar_runtime::Pipeline::build_watched(plan, Arc::new(state), monitor)
        .await
        .expect("built");
    let shutdown = khabar_runtime::Shutdown::new();
    let watch_until_the_sink_is_down = async {
        let started = Instant::now();
        let body = loop {
            let (status, body) = ready(client.clone(), base.clone()).await;
            let sink_down = body["checks"].as_array().is_some_and(|checks| {
                checks
                    .iter()
                    .any(|c| c["name"] == "sinks.archive reachable" && c["ok"] == false)
            });
            if status == 503 && sink_down {
                break body;
            }
            if started.elapsed() > Duration::from_secs(30) {
                break serde_json::json!({ "timed out": body });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let health = client
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("/health");
        assert_eq!(health.status().as_u16(), 200, "alive even when not ready");
        shutdown.trigger();
        body
    };
    let (summary, body) = tokio::join!(
        pipeline.run(khabar_core_model::RunMode::Continuous, shutdown.clone()),
        watch_until_the_sink_is_down
    );
    assert_eq!(summary.delivered, 0);
    let checks = body["checks"].as_array().expect("checks");
    let check = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))
    };
    assert_eq!(check("stages built")["ok"], true);
    assert_eq!(check("state store writable")["ok"], true);
    let problem = check("sinks.archive reachable")["problem"]
        .as_str()
        .expect("a problem");
    assert!(problem.contains("the last write failed"), "{problem}");

    server.stop().await;
}
