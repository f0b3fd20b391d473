//! At-least-once delivery, in process: a plugin sink (written as a user would) that fails,
//! rejects and recovers, behind a fan-out; and graceful shutdown of the binary.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use khabar_core_model::{Article, BuildContext, RunMode, StageError};
use khabar_runtime::{load_config, validate, Pipeline, Shutdown};
use khabar_sqlite::SqliteStateStore;
use serde::Deserialize;

fn registry() -> khabar_core_model::Registry {
    common::registry_with_flaky()
}

use common::{run_pipeline as run_once, write_titles_feed as write_feed};

fn config(dir: &Path, flaky: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    write_config(
        dir,
        &format!(
            r#"
[global]
data_dir = "data"
shutdown_timeout = "5s"
[sources.f]
type = "feed"
http = {{ refuse_private_addresses = false }}
urls = ["feed.xml"]
[sinks.flaky]
type = "flaky"
inputs = ["f"]
batch_timeout = "20ms"
{flaky}
[sinks.copy]
type = "jsonl"
inputs = ["f"]
path = "copy.jsonl"
batch_timeout = "20ms"
"#
        ),
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn transient_failures_are_retried_and_rejects_go_to_the_dead_letter_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(dir.path(), &["first story", "poison story", "third story"]);
    let cfg = config(
        dir.path(),
        "log = \"flaky.log\"\nfail_first = 2\nreject_title = \"poison\"",
    );

    let summary = run_once(&cfg, None).await;
    assert_eq!(
        (
            summary.new_items,
            summary.delivered,
            summary.rejected,
            summary.retried
        ),
        (3, 2, 1, 0),
        "{summary:?}"
    );
    assert_eq!(lines(&dir.path().join("data/flaky.log")).len(), 2);
    // The fan-out's other branch got all three.
    assert_eq!(lines(&dir.path().join("data/copy.jsonl")).len(), 3);
    let dead = lines(&dir.path().join("data/dead-letter.jsonl"));
    assert_eq!(dead.len(), 1);
    let dead: serde_json::Value = serde_json::from_str(&dead[0]).expect("JSON");
    assert_eq!(dead["stage"], "flaky");
    assert_eq!(dead["reason"], "record violates a constraint");
    assert_eq!(dead["record"]["title"], "poison story");

    // Delivered and rejected items are committed: nothing comes again.
    let again = run_once(&cfg, None).await;
    assert_eq!(again.new_items, 0, "{again:?}");
}

#[tokio::test]
async fn undelivered_items_are_not_committed_and_come_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(dir.path(), &["one", "two", "three"]);
    let cfg = config(dir.path(), "log = \"flaky.log\"\nalways_fail = true");

    // The sink never recovers; shutdown arrives while it is retrying.
    let summary = run_once(&cfg, Some(Duration::from_millis(800))).await;
    assert_eq!(
        (summary.new_items, summary.delivered, summary.retried),
        (3, 0, 3),
        "{summary:?}"
    );
    assert!(lines(&dir.path().join("data/flaky.log")).is_empty());

    // The sink is back: the same three items are emitted again and land.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .expect("cfg")
            .replace("always_fail = true", ""),
    )
    .expect("rewrite");
    let summary = run_once(&cfg, None).await;
    assert_eq!(
        (summary.new_items, summary.delivered),
        (3, 3),
        "{summary:?}"
    );
    assert_eq!(lines(&dir.path().join("data/flaky.log")).len(), 3);
    // The JSONL sink saw all three twice but wrote each once.
    assert_eq!(lines(&dir.path().join("data/copy.jsonl")).len(), 3);
}

#[test]
fn sigterm_drains_and_commits_then_exits() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/rss.xml" => Reply::ok(
            "application/rss+xml",
            seed_feed("https://example.org/story"),
        ),
        _ => Reply::status(404),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[global]\ndata_dir = \"data\"\n[sources.s]\ntype = \"feed\"\nhttp = {{ refuse_private_addresses = false }}\nurls = [\"{}\"]\ninterval = \"1h\"\n[sinks.out]\ntype = \"jsonl\"\ninputs = [\"s\"]\npath = \"out.jsonl\"\n",
            server.url("/rss.xml")
        ),
    );
    let child = khabar()
        .args(["run", "--config"])
        .arg(&cfg)
        .spawn()
        .expect("start");
    let out_file = dir.path().join("data/out.jsonl");
    let started = std::time::Instant::now();
    while lines(&out_file).is_empty() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let output = child.wait_with_output().expect("exit");
    assert!(
        output.status.success(),
        "graceful exit: {}",
        stderr(&output)
    );
    assert_eq!(lines(&out_file).len(), 1);
    // The checkpoint was committed: a further poll finds nothing new.
    let again = run(&["once"], &cfg);
    assert!(
        stdout(&again).contains("new items: 0"),
        "{}",
        stdout(&again)
    );
}

/// Counts how many `process` calls run at once (one gauge per test binary).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GaugeConfig {}

struct Gauge;

static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[async_trait]
impl khabar_core_model::TransformConfig for GaugeConfig {
    async fn build(
        &self,
        _ctx: &BuildContext,
    ) -> Result<Box<dyn khabar_core_model::Transform>, StageError> {
        Ok(Box::new(Gauge))
    }
}

#[async_trait]
impl khabar_core_model::Transform for Gauge {
    async fn process(
        &self,
        _article: &mut Article,
    ) -> Result<khabar_core_model::Verdict, StageError> {
        use std::sync::atomic::Ordering;
        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        Ok(khabar_core_model::Verdict::Keep)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_bounds_concurrency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let titles: Vec<String> = (0..12).map(|i| format!("story {i}")).collect();
    write_feed(
        dir.path(),
        &titles.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [transforms.gauge]\ntype = \"gauge\"\ninputs = [\"f\"]\nmax_in_flight = 3\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"gauge\"]\npath = \"out.jsonl\"\n",
    );
    let raw = load_config(&cfg).expect("config");
    let mut registry = registry();
    registry.add_transform::<GaugeConfig>("gauge", "test transform measuring concurrency");
    let plan = validate(&raw, &registry).unwrap_or_else(|i| panic!("{i:?}"));
    let state = SqliteStateStore::open(&dir.path().join("state.db")).expect("state");
    let pipeline = Pipeline::build(plan, Arc::new(state))
        .await
        .unwrap_or_else(|i| panic!("{i:?}"));
    let summary = pipeline.run(RunMode::Once, Shutdown::new()).await;
    assert_eq!(summary.delivered, 12, "{summary:?}");
    assert_eq!(PEAK.load(std::sync::atomic::Ordering::SeqCst), 3);
}

fn dead_letters(dir: &Path) -> Vec<serde_json::Value> {
    lines(&dir.join("data/dead-letter.jsonl"))
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_transform_dead_letters_its_record_and_goes_on() {
    for cpu_bound in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        write_feed(dir.path(), &["calm one", "boom story", "calm two"]);
        let cfg = write_config(
            dir.path(),
            &format!(
                "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
                 [transforms.p]\ntype = \"panicky\"\ninputs = [\"f\"]\npanic_title = \"boom\"\ncpu_bound = {cpu_bound}\n\
                 [sinks.out]\ntype = \"jsonl\"\ninputs = [\"p\"]\npath = \"out.jsonl\"\nbatch_timeout = \"20ms\"\n"
            ),
        );
        let summary = run_once(&cfg, None).await;
        assert_eq!(
            (
                summary.delivered,
                summary.rejected,
                summary.tasks_crashed,
                summary.retried
            ),
            (2, 1, 1, 0),
            "cpu_bound {cpu_bound}: {summary:?}"
        );
        assert_eq!(lines(&dir.path().join("data/out.jsonl")).len(), 2);
        let dead = dead_letters(dir.path());
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0]["stage"], "p");
        assert_eq!(dead[0]["record"]["title"], "boom story");
        assert!(dead[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("panicked")));
        // Settled for good: the poison record is not emitted again.
        let again = run_once(&cfg, None).await;
        assert_eq!(again.new_items, 0, "{again:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_sink_is_rebuilt_and_only_the_poison_record_is_lost_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(dir.path(), &["calm one", "boom story", "calm two"]);
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [sinks.flaky]\ntype = \"flaky\"\ninputs = [\"f\"]\nlog = \"flaky.log\"\npanic_title = \"boom\"\nbatch_timeout = \"200ms\"\n",
    );
    let summary = run_once(&cfg, None).await;
    assert_eq!((summary.delivered, summary.rejected), (2, 1), "{summary:?}");
    assert!(
        summary.tasks_crashed >= 2,
        "the batch and the record: {summary:?}"
    );
    assert_eq!(lines(&dir.path().join("data/flaky.log")).len(), 2);
    let dead = dead_letters(dir.path());
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["record"]["title"], "boom story");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_source_is_restarted_while_running_and_reported_in_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\n[sources.c]\ntype = \"crashy\"\npanics = 1\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"c\"]\npath = \"out.jsonl\"\nbatch_timeout = \"20ms\"\n",
    );
    let raw = load_config(&cfg).expect("config");
    let plan = validate(&raw, &registry()).unwrap_or_else(|i| panic!("{i:?}"));
    let state = SqliteStateStore::open(&dir.path().join("state.db")).expect("state");
    let pipeline = Pipeline::build(plan, Arc::new(state))
        .await
        .unwrap_or_else(|i| panic!("{i:?}"));
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let out = dir.path().join("data/out.jsonl");
    let watcher = tokio::spawn(async move {
        let started = std::time::Instant::now();
        while lines(&out).is_empty() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.trigger();
    });
    let summary = pipeline.run(RunMode::Continuous, shutdown).await;
    watcher.await.expect("watcher");
    assert_eq!(summary.tasks_crashed, 1, "{summary:?}");
    assert_eq!(
        lines(&dir.path().join("data/out.jsonl")).len(),
        1,
        "the rebuilt source ran: {summary:?}"
    );
    assert!(summary.stage_errors.is_empty(), "{summary:?}");
}

/// The worst lateness of a 10 ms timer on the runtime's worker threads while the pipeline of
/// `cfg` runs: how long feed polling and I/O would have waited.
async fn worst_timer_lateness(cfg: &Path) -> Duration {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let probe = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            let asked = std::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            worst = worst.max(asked.elapsed().saturating_sub(Duration::from_millis(10)));
        }
        worst
    });
    let summary = run_once(cfg, None).await;
    assert_eq!(summary.delivered, 8, "{summary:?}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    probe.await.expect("probe")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_bound_transforms_do_not_stall_the_async_workers() {
    let titles: Vec<String> = (0..8).map(|i| format!("story {i}")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut worst = Vec::new();
    for cpu_bound in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        write_feed(dir.path(), &titles);
        let cfg = write_config(
            dir.path(),
            &format!(
                "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
                 [transforms.spin]\ntype = \"spin\"\ninputs = [\"f\"]\nmillis = 600\ncpu_bound = {cpu_bound}\nmax_in_flight = 4\n\
                 [sinks.out]\ntype = \"jsonl\"\ninputs = [\"spin\"]\npath = \"out.jsonl\"\nbatch_timeout = \"20ms\"\n"
            ),
        );
        worst.push(worst_timer_lateness(&cfg).await);
    }
    // On blocking threads the workers stay free; computing on them (as before) stalls a
    // timer for about a whole record's work, which shows that the probe sees stalls.
    assert!(
        worst[0] < Duration::from_millis(250),
        "cpu_bound: {:?}",
        worst[0]
    );
    assert!(
        worst[1] > Duration::from_millis(400),
        "on the workers: {:?}",
        worst[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_gives_up_after_its_timeout_when_a_sink_keeps_failing() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(dir.path(), &["one", "two"]);
    let cfg = write_config(
        dir.path(),
        "[global]\ndata_dir = \"data\"\nonce_timeout = \"1s\"\nshutdown_timeout = \"2s\"\n\
         [sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [sinks.flaky]\ntype = \"flaky\"\ninputs = [\"f\"]\nlog = \"flaky.log\"\nalways_fail = true\nbatch_timeout = \"20ms\"\n",
    );
    let started = std::time::Instant::now();
    let summary = run_once(&cfg, None).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((summary.delivered, summary.retried), (0, 2), "{summary:?}");
    assert!(
        summary
            .stage_errors
            .iter()
            .any(|e| e.contains("once_timeout")),
        "{summary:?}"
    );
}
