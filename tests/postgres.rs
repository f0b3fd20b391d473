//! The `postgres` sink against the PostgreSQL on this machine (`KHABAR_TEST_POSTGRES_URL`):
//! upserts, JSONB, full-text search, and a database that drops every connection mid-run.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use khabar_core_model::{
    Article, BuildContext, Entity, EntityKind, FeedRef, RecordId, RunMode, SinkConfig,
};
use khabar_postgres::PostgresConfig;
use khabar_runtime::{load_config, validate, Pipeline, Shutdown};
use khabar_sqlite::SqliteStateStore;

fn table_name(test: &str) -> String {
    format!("khabar_test_{test}_{}", std::process::id())
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

async fn count(client: &tokio_postgres::Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

#[tokio::test]
async fn upserts_jsonb_and_full_text() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_POSTGRES_URL") else {
        return;
    };
    let table = table_name("upsert");
    let config: PostgresConfig =
        serde_json::from_value(serde_json::json!({"url": url, "table": table})).expect("config");
    assert!(config.validate().is_empty());
    let ctx = BuildContext::standalone("pg", std::env::temp_dir(), std::env::temp_dir());
    let mut sink = config
        .build(&ctx)
        .await
        .expect("build (creates the schema)");
    // Building again finds the schema in place.
    drop(config.build(&ctx).await.expect("second build"));

    let mut a = Article::new(
        RecordId::from_url("https://x/1"),
        FeedRef {
            source: "s".into(),
            url: "https://x/rss".into(),
            title: None,
        },
        "https://x/1",
        chrono::Utc::now(),
    );
    a.title = Some("التحالف يقصف الباغوز".into());
    a.text_normalized = Some("قصفت قوات التحالف الدولي مواقع في الباغوز".into());
    a.entities.push(Entity {
        surface: "الباغوز".into(),
        canonical: "الباغوز".into(),
        kind: EntityKind::Place,
        start: 0,
        end: 14,
        confidence: 0.9,
        ids: Default::default(),
    });
    let results = sink.write(&[a.clone(), a.clone()]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    a.title = Some("updated".into());
    assert!(sink.write(&[a.clone()]).await.iter().all(Result::is_ok));

    let db = admin(&url).await;
    assert_eq!(count(&db, &table).await, 1);
    let row = db
        .query_one(&format!("SELECT title, entities->0->>'kind', search @@ plainto_tsquery('simple', 'الباغوز') FROM {table}"), &[])
        .await
        .expect("query");
    assert_eq!(row.get::<_, String>(0), "updated");
    assert_eq!(row.get::<_, String>(1), "place");
    assert!(row.get::<_, bool>(2));
    db.batch_execute(&format!(
        "DROP TABLE {table}; DELETE FROM khabar_schema_migrations WHERE tbl = '{table}'"
    ))
    .await
    .expect("cleanup");
}

fn write_feed(dir: &Path, n: usize) {
    let items: String = (0..n).map(|i| format!("<item><title>Story {i}</title><link>https://example.org/{i}</link><description>Body of story {i}</description></item>")).collect();
    std::fs::write(
        dir.join("feed.xml"),
        format!("<rss version=\"2.0\"><channel><title>F</title>{items}</channel></rss>"),
    )
    .expect("feed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_dropping_connections_mid_run_loses_nothing() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_POSTGRES_URL") else {
        return;
    };
    let table = table_name("restart");
    let app = format!("khabar-restart-test-{}", std::process::id());
    let sink_url = if url.contains('?') {
        format!("{url}&application_name={app}")
    } else {
        format!("{url}?application_name={app}")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(dir.path(), 400);
    let config = common::write_config(
        dir.path(),
        &format!(
            "[global]\ndata_dir = \"data\"\nshutdown_timeout = \"60s\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
             [sinks.pg]\ntype = \"postgres\"\ninputs = [\"f\"]\nurl = \"{sink_url}\"\ntable = \"{table}\"\nbatch_size = 2\nbatch_timeout = \"20ms\"\nbuffer = 4\n"
        ),
    );
    let raw = load_config(&config).expect("config");
    let plan = validate(&raw, &khabar::builtin_registry()).unwrap_or_else(|i| panic!("{i:?}"));
    std::fs::create_dir_all(dir.path().join("data")).expect("data");
    let state = SqliteStateStore::open(&dir.path().join("data/state.db")).expect("state");
    let pipeline = Pipeline::build(plan, Arc::new(state))
        .await
        .unwrap_or_else(|i| panic!("{i:?}"));

    // While the pipeline writes, the database keeps killing its connections.
    let killer_url = url.clone();
    let killer_app = app.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = Arc::clone(&done);
    let killer = tokio::spawn(async move {
        let db = admin(&killer_url).await;
        let mut killed = 0i64;
        while !finished.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(15)).await;
            let rows = db
                .query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&killer_app])
                .await
                .expect("terminate");
            killed += rows.len() as i64;
        }
        killed
    });
    let summary = pipeline.run(RunMode::Once, Shutdown::new()).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let killed = killer.await.expect("killer");
    assert!(
        killed > 0,
        "the test must actually have dropped connections"
    );
    assert_eq!(
        (
            summary.new_items,
            summary.delivered,
            summary.retried,
            summary.rejected
        ),
        (400, 400, 0, 0),
        "{summary:?}"
    );

    let db = admin(&url).await;
    assert_eq!(count(&db, &table).await, 400);
    let distinct: i64 = db
        .query_one(&format!("SELECT count(DISTINCT id) FROM {table}"), &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0);
    assert_eq!(distinct, 400);
    db.batch_execute(&format!(
        "DROP TABLE {table}; DELETE FROM khabar_schema_migrations WHERE tbl = '{table}'"
    ))
    .await
    .expect("cleanup");
}

#[tokio::test]
async fn a_database_error_says_its_cause() {
    let Some(url) = khabar_testkit::service_url("KHABAR_TEST_POSTGRES_URL") else {
        return;
    };
    // A role that may connect but not create anything in the schema.
    let role = format!("khabar_noperm_{}", std::process::id());
    let client = admin(&url).await;
    let _ = client
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC"
        ))
        .await;
    let mut limited: tokio_postgres::Config = url.parse().expect("URL");
    limited.user(&role);
    let limited_url = format!(
        "host={} port={} user={role} dbname={}",
        "127.0.0.1",
        limited.get_ports().first().copied().unwrap_or(5432),
        limited.get_dbname().unwrap_or("test")
    );
    let config: PostgresConfig = serde_json::from_value(
        serde_json::json!({"url": limited_url, "table": table_name("noperm")}),
    )
    .expect("config");
    let ctx = BuildContext::standalone("pg", std::env::temp_dir(), std::env::temp_dir());
    let error = config
        .build(&ctx)
        .await
        .err()
        .expect("a role without rights fails");
    let text = error.to_string();
    let _ = client
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await;
    assert!(
        text.contains("permission denied"),
        "the server's reason is in the message: {text}"
    );
}
