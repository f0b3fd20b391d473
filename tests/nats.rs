//! NATS JetStream against the server on this machine (`KHABAR_TEST_NATS_URL`): the sink's
//! server-side dedup, the source's durable consumer, ack on delivery, term on reject, nak and
//! redelivery on retry.

mod common;

use std::path::Path;
use std::time::Duration;

use khabar_runtime::RunSummary;

fn names(test: &str) -> (String, String, String) {
    let tag = format!("{}_{}", test, std::process::id());
    (
        format!("KHABAR_TEST_{}", tag.to_uppercase()),
        format!("khabar.test.{tag}"),
        format!("workers_{tag}"),
    )
}

fn write_feed(dir: &Path, titles: &[&str]) {
    common::write_titles_feed(dir, titles);
}

async fn run(dir: &Path, config: &str, shutdown_after: Option<Duration>) -> RunSummary {
    common::run_pipeline(&common::write_config(dir, config), shutdown_after).await
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

async fn cleanup(url: &str, stream: &str) {
    if let Ok(client) = async_nats::connect(url).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(stream)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_dedup_consume_ack_and_term() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_NATS_URL") else {
        return;
    };
    let (stream, subject, consumer) = names("flow");
    let fetcher = tempfile::tempdir().expect("tempdir");
    write_feed(fetcher.path(), &["one", "two", "poison three", "four"]);
    let publish = format!(
        "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [sinks.bus]\ntype = \"nats\"\ninputs = [\"f\"]\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\n"
    );
    let first = run(fetcher.path(), &publish, None).await;
    assert_eq!(first.delivered, 4, "{first:?}");
    // A second fetcher with no memory of the first publishes the same records: the server
    // drops them as duplicates (Nats-Msg-Id = record id).
    let twin = tempfile::tempdir().expect("tempdir");
    write_feed(twin.path(), &["one", "two", "poison three", "four"]);
    assert_eq!(run(twin.path(), &publish, None).await.delivered, 4);
    let client = async_nats::connect(&url).await.expect("connect");
    let mut info = async_nats::jetstream::new(client)
        .get_stream(&stream)
        .await
        .expect("stream");
    assert_eq!(info.info().await.expect("info").state.messages, 4);

    let worker = tempfile::tempdir().expect("tempdir");
    let consume = format!(
        "[global]\ndata_dir = \"data\"\n[sources.bus]\ntype = \"nats\"\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\nconsumer = \"{consumer}\"\nidle_timeout = \"500ms\"\n\
         [sinks.flaky]\ntype = \"flaky\"\ninputs = [\"bus\"]\nlog = \"got.log\"\nreject_title = \"poison\"\nbatch_timeout = \"20ms\"\n"
    );
    let summary = run(worker.path(), &consume, None).await;
    assert_eq!(lines(&worker.path().join("data/got.log")), 3, "{summary:?}");
    assert_eq!(lines(&worker.path().join("data/dead-letter.jsonl")), 1);
    // Acked and terminated messages are not handed out again.
    run(worker.path(), &consume, None).await;
    assert_eq!(lines(&worker.path().join("data/got.log")), 3);
    assert_eq!(lines(&worker.path().join("data/dead-letter.jsonl")), 1);
    cleanup(&url, &stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_to_retry_is_naked_and_delivered_again() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_NATS_URL") else {
        return;
    };
    let (stream, subject, consumer) = names("retry");
    let fetcher = tempfile::tempdir().expect("tempdir");
    write_feed(fetcher.path(), &["alpha", "beta"]);
    let publish = format!(
        "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [sinks.bus]\ntype = \"nats\"\ninputs = [\"f\"]\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\n"
    );
    assert_eq!(run(fetcher.path(), &publish, None).await.delivered, 2);

    let worker = tempfile::tempdir().expect("tempdir");
    // The server's redelivery timer is coarse: the second worker waits a while for them.
    let consume = |sink: &str, idle: &str| {
        format!(
            "[global]\ndata_dir = \"data\"\nshutdown_timeout = \"5s\"\n[sources.bus]\ntype = \"nats\"\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\nconsumer = \"{consumer}\"\nidle_timeout = \"{idle}\"\nretry_delay = \"200ms\"\n\
             [sinks.flaky]\ntype = \"flaky\"\ninputs = [\"bus\"]\nlog = \"got.log\"\nbatch_timeout = \"20ms\"\n{sink}\n"
        )
    };
    // The sink is down until shutdown: both records go back to the server as "retry".
    let down = run(
        worker.path(),
        &consume("always_fail = true", "500ms"),
        Some(Duration::from_millis(800)),
    )
    .await;
    assert_eq!(lines(&worker.path().join("data/got.log")), 0, "{down:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The sink is back: the server hands both out again.
    run(worker.path(), &consume("", "2s"), None).await;
    assert_eq!(lines(&worker.path().join("data/got.log")), 2);
    cleanup(&url, &stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_state_and_leases_on_nats_key_value() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_NATS_URL") else {
        return;
    };
    let bucket = format!("khabar-test-state-{}", std::process::id());
    let a = khabar_nats::NatsStateStore::connect(&url, &bucket)
        .await
        .expect("store a");
    let b = khabar_nats::NatsStateStore::connect(&url, &bucket)
        .await
        .expect("store b");
    use khabar_core_model::StateStore;
    let long = Duration::from_secs(60);
    let feed = "https://www.alaraby.co.uk/rss?x=1";
    assert!(a
        .lease("news", feed, "fetcher-a", long)
        .await
        .expect("lease"));
    assert!(
        !b.lease("news", feed, "fetcher-b", long)
            .await
            .expect("lease"),
        "two fetchers never hold one feed"
    );
    assert!(a
        .lease("news", feed, "fetcher-a", long)
        .await
        .expect("renew"));
    a.release("news", feed, "fetcher-a").await.expect("release");
    assert!(b
        .lease("news", feed, "fetcher-b", Duration::from_millis(1))
        .await
        .expect("lease"));
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(
        a.lease("news", feed, "fetcher-a", long)
            .await
            .expect("takeover"),
        "an expired claim is taken over"
    );

    // A pipeline keeping its checkpoints there: the second run finds nothing new.
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(dir.path(), &["one", "two"]);
    let config = format!(
        "[global]\ndata_dir = \"data\"\nstate = {{ type = \"nats\", url = \"{url}\", bucket = \"{bucket}\" }}\n\
         [sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n[sinks.out]\ntype = \"jsonl\"\ninputs = [\"f\"]\npath = \"out.jsonl\"\n"
    );
    let path = common::write_config(dir.path(), &config);
    let first = common::run(&["once"], &path);
    assert!(
        common::stdout(&first).contains("new items: 2"),
        "{}{}",
        common::stdout(&first),
        common::stderr(&first)
    );
    let second = common::run(&["once"], &path);
    assert!(
        common::stdout(&second).contains("new items: 0"),
        "{}",
        common::stdout(&second)
    );
    let feeds = khabar_nats::NatsStateStore::connect(&url, &bucket)
        .await
        .expect("store");
    assert_eq!(feeds.keys("f").await.expect("keys").len(), 1);
    if let Ok(client) = async_nats::connect(&url).await {
        let _ = async_nats::jetstream::new(client)
            .delete_key_value(&bucket)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fetchers_sharing_nats_state_never_poll_one_feed_at_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_NATS_URL") else {
        return;
    };
    let bucket = format!("khabar-test-lease-{}", std::process::id());
    let in_flight = std::sync::Arc::new(AtomicUsize::new(0));
    let peak = std::sync::Arc::new(AtomicUsize::new(0));
    let (now, top) = (
        std::sync::Arc::clone(&in_flight),
        std::sync::Arc::clone(&peak),
    );
    let server = common::TestServer::start(move |_| {
        let current = now.fetch_add(1, Ordering::SeqCst) + 1;
        top.fetch_max(current, Ordering::SeqCst);
        // A slow feed: both fetchers would be inside this request together without leases.
        std::thread::sleep(Duration::from_millis(1500));
        now.fetch_sub(1, Ordering::SeqCst);
        common::Reply::ok("application/rss+xml", "<rss version=\"2.0\"><channel><title>T</title><item><title>a</title><link>https://example.org/a</link></item></channel></rss>")
    });
    let fetcher = |name: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = format!(
            "[global]\ndata_dir = \"data\"\nstate = {{ type = \"nats\", url = \"{url}\", bucket = \"{bucket}\" }}\n\
             [sources.news]\ntype = \"feed\"\nurls = [\"{}\"]\nhttp = {{ refuse_private_addresses = false }}\n\
             [sinks.out]\ntype = \"jsonl\"\ninputs = [\"news\"]\npath = \"{name}.jsonl\"\n",
            server.url("/rss.xml")
        );
        let path = common::write_config(dir.path(), &config);
        (dir, path)
    };
    let (_a_dir, a) = fetcher("a");
    let (_b_dir, b) = fetcher("b");
    let first = common::khabar()
        .args(["once", "--config"])
        .arg(&a)
        .spawn()
        .expect("fetcher a");
    let second = common::khabar()
        .args(["once", "--config"])
        .arg(&b)
        .spawn()
        .expect("fetcher b");
    let (first, second) = (
        first.wait_with_output().expect("a"),
        second.wait_with_output().expect("b"),
    );
    assert!(first.status.success() && second.status.success());
    assert_eq!(
        peak.load(Ordering::SeqCst),
        1,
        "the feed was polled by both fetchers at once"
    );
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "the fetcher without the lease skipped the feed"
    );
    if let Ok(client) = async_nats::connect(&url).await {
        let _ = async_nats::jetstream::new(client)
            .delete_key_value(&bucket)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_keeps_failing_is_dead_lettered_after_its_deliveries_and_the_stream_is_bounded(
) {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_NATS_URL") else {
        return;
    };
    let (stream, subject, consumer) = names("poison");
    // Every page answers 503: fetch_article hands each record back for a retry.
    let site = khabar_testkit::TestServer::start(|_| khabar_testkit::Reply::status(503));
    let fetcher = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        fetcher.path().join("feed.xml"),
        format!(
            "<rss version=\"2.0\"><channel><title>F</title><item><title>never</title><link>{}</link></item></channel></rss>",
            site.url("/a/1")
        ),
    )
    .expect("feed");
    let publish = format!(
        "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [sinks.bus]\ntype = \"nats\"\ninputs = [\"f\"]\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\nmax_age = \"2d\"\nmax_bytes = 104857600\n"
    );
    assert_eq!(run(fetcher.path(), &publish, None).await.delivered, 1);
    let client = async_nats::connect(&url).await.expect("connect");
    let mut info = async_nats::jetstream::new(client)
        .get_stream(&stream)
        .await
        .expect("stream");
    let config = info.info().await.expect("info").config.clone();
    assert_eq!(config.max_age, Duration::from_secs(2 * 24 * 3600));
    assert_eq!(config.max_bytes, 104_857_600);

    let worker = tempfile::tempdir().expect("tempdir");
    let consume = format!(
        "[global]\ndata_dir = \"data\"\n[sources.bus]\ntype = \"nats\"\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\nconsumer = \"{consumer}\"\nidle_timeout = \"3s\"\nretry_delay = \"100ms\"\nmax_attempts = 3\n\
         [transforms.page]\ntype = \"fetch_article\"\ninputs = [\"bus\"]\nretries = 0\nhttp = {{ refuse_private_addresses = false, per_host_interval = \"0s\" }}\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"page\"]\npath = \"out.jsonl\"\nbatch_timeout = \"20ms\"\n"
    );
    let summary = run(worker.path(), &consume, None).await;
    let dead =
        std::fs::read_to_string(worker.path().join("data/dead-letter.jsonl")).unwrap_or_default();
    assert_eq!(dead.lines().count(), 1, "{summary:?}");
    assert!(
        dead.contains("3 deliveries") && dead.contains("503"),
        "{dead}"
    );
    assert_eq!(site.hits.load(std::sync::atomic::Ordering::SeqCst), 3);
    // Terminated: no worker gets it again.
    run(worker.path(), &consume, None).await;
    assert_eq!(site.hits.load(std::sync::atomic::Ordering::SeqCst), 3);
    cleanup(&url, &stream).await;
}
