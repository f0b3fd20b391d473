//! The shipped cluster configs as processes: two fetchers publish to NATS JetStream, two
//! workers store into PostgreSQL; one worker is killed mid-run. Every article lands exactly
//! once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::*;

const ARTICLES: usize = 40;

fn cluster_config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/cluster")
        .join(name)
}

struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    fn command(&self, args: &[&str], config: &Path) -> Command {
        let mut cmd = khabar();
        cmd.args(args).arg("--config").arg(config);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }
}

async fn pg_count(url: &str, table: &str) -> (i64, i64) {
    let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return (0, 0);
    };
    tokio::spawn(connection);
    client
        .query_one(
            &format!("SELECT count(*), count(DISTINCT id) FROM {table}"),
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or((0, 0))
}

fn kill(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fetchers_two_workers_one_killed_every_article_once() {
    let Some(pg) = khabar_testkit::service_url("KHABAR_TEST_POSTGRES_URL") else {
        return;
    };
    let Some(nats) = khabar_testkit::service_url("KHABAR_TEST_NATS_URL") else {
        return;
    };
    let base: Arc<OnceLock<String>> = Arc::default();
    let b = Arc::clone(&base);
    let server = TestServer::start(move |req| {
        let base = b.get().cloned().unwrap_or_default();
        if req.path == "/rss.xml" {
            let items: String = (0..ARTICLES)
                .map(|i| format!("<item><title>Report {i}</title><link>{base}/a/{i}</link></item>"))
                .collect();
            return Reply::ok(
                "application/rss+xml",
                format!("<rss version=\"2.0\"><channel><title>Wire</title>{items}</channel></rss>"),
            );
        }
        if req.path == "/robots.txt" {
            return Reply::status(404);
        }
        let i = req.path.trim_start_matches("/a/");
        Reply::ok(
            "text/html",
            format!("<html lang=\"en\"><body><article><h1>Report {i}</h1><p>Paragraph one of report {i}, long enough to be the article's text for sure.</p><p>Paragraph two of report {i}, with quotes from officials and sources on the ground.</p></article></body></html>"),
        )
    });
    let _ = base.set(server.base.clone());

    let dir = tempfile::tempdir().expect("tempdir");
    let opml = dir.path().join("feeds.opml");
    std::fs::write(&opml, format!("<opml version=\"2.0\"><body><outline type=\"rss\" text=\"wire\" xmlUrl=\"{}\"/></body></opml>", server.url("/rss.xml"))).expect("opml");
    let tag = std::process::id();
    let (stream, subject, table) = (
        format!("KHABAR_CLUSTER_{tag}"),
        format!("khabar.cluster.{tag}"),
        format!("khabar_cluster_{tag}"),
    );
    let common_vars = |data: &str| {
        vec![
            (
                "KHABAR__GLOBAL__DATA_DIR".to_string(),
                dir.path().join(data).display().to_string(),
            ),
            ("RUST_LOG".to_string(), "warn".to_string()),
        ]
    };
    let fetcher_env = |data: &str| Env {
        vars: [
            common_vars(data),
            vec![
                (
                    "KHABAR__SOURCES__NEWS__OPML".into(),
                    opml.display().to_string(),
                ),
                (
                    "KHABAR__SOURCES__NEWS__HTTP__REFUSE_PRIVATE_ADDRESSES".into(),
                    "false".into(),
                ),
                (
                    "KHABAR__SOURCES__NEWS__HTTP__PER_HOST_INTERVAL".into(),
                    "0s".into(),
                ),
                (
                    "KHABAR__TRANSFORMS__PAGE__HTTP__REFUSE_PRIVATE_ADDRESSES".into(),
                    "false".into(),
                ),
                (
                    "KHABAR__TRANSFORMS__PAGE__HTTP__PER_HOST_INTERVAL".into(),
                    "0s".into(),
                ),
                ("KHABAR__SINKS__BUS__URL".into(), nats.clone()),
                ("KHABAR__SINKS__BUS__STREAM".into(), stream.clone()),
                ("KHABAR__SINKS__BUS__SUBJECT".into(), subject.clone()),
            ],
        ]
        .concat(),
    };
    let worker_env = |data: &str| Env {
        vars: [
            common_vars(data),
            vec![
                ("KHABAR__SOURCES__BUS__URL".into(), nats.clone()),
                ("KHABAR__SOURCES__BUS__STREAM".into(), stream.clone()),
                ("KHABAR__SOURCES__BUS__SUBJECT".into(), subject.clone()),
                ("KHABAR__SOURCES__BUS__ACK_WAIT".into(), "2s".into()),
                ("KHABAR__SOURCES__BUS__MAX_ACK_PENDING".into(), "8".into()),
                ("KHABAR__SINKS__PG__URL".into(), pg.clone()),
                ("KHABAR__SINKS__PG__TABLE".into(), table.clone()),
                ("KHABAR__SINKS__PG__BATCH_SIZE".into(), "2".into()),
                ("KHABAR__SINKS__PG__BATCH_TIMEOUT".into(), "50ms".into()),
            ],
        ]
        .concat(),
    };

    // Two fetchers, each polling the same feed: NATS keeps one copy of each record.
    let fetchers: Vec<_> = ["fetcher-1", "fetcher-2"]
        .iter()
        .map(|d| {
            fetcher_env(d)
                .command(&["once"], &cluster_config("fetcher.toml"))
                .output()
                .expect("fetcher")
        })
        .collect();
    for out in &fetchers {
        assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
    }

    let mut first = worker_env("worker-1")
        .command(&["run"], &cluster_config("worker.toml"))
        .spawn()
        .expect("worker 1");
    let mut second = worker_env("worker-2")
        .command(&["run"], &cluster_config("worker.toml"))
        .spawn()
        .expect("worker 2");
    let started = Instant::now();
    while pg_count(&pg, &table).await.0 < 8 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(&mut first, "-KILL");
    while pg_count(&pg, &table).await.0 < ARTICLES as i64
        && started.elapsed() < Duration::from_secs(90)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give late duplicates a chance to show up before looking.
    tokio::time::sleep(Duration::from_secs(3)).await;
    kill(&mut second, "-TERM");

    let (rows, distinct) = pg_count(&pg, &table).await;
    assert_eq!((rows, distinct), (ARTICLES as i64, ARTICLES as i64));

    if let Ok((client, connection)) = tokio_postgres::connect(&pg, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        let _ = client
            .batch_execute(&format!(
                "DROP TABLE {table}; DELETE FROM khabar_schema_migrations WHERE tbl = '{table}'"
            ))
            .await;
    }
    if let Ok(client) = async_nats::connect(&nats).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(&stream)
            .await;
    }
}
