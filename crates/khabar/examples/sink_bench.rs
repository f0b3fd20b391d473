//! Records/s into each sink, for `cargo xtask bench sinks`: N realistic records (Arabic and
//! English text, entities) written in batches through the `Sink` trait, as the runtime does.
//!
//! `sink_bench --records 20000 --batch 500 [--postgres URL] [--nats URL]`

use std::time::Instant;

use khabar_core_model::{Article, BuildContext, Entity, EntityKind, FeedRef, RecordId, SinkConfig};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn record(i: usize) -> Article {
    let url = format!("https://news.example/{i}");
    let mut a = Article::new(
        RecordId::from_url(&url),
        FeedRef {
            source: "bench".into(),
            url: "https://news.example/rss".into(),
            title: None,
        },
        url,
        chrono::Utc::now(),
    );
    a.title = Some(format!("التحالف الدولي يقصف مواقع في الباغوز — report {i}"));
    let text = "قصفت قوات التحالف الدولي، ليلة الخميس الجمعة، عدة نقاط ومواقع في المنطقة التي يتمترس بها تنظيم داعش في ناحية الباغوز بريف دير الزور. The coalition struck positions near al-Baghouz overnight, local sources said. ".repeat(8);
    a.text_normalized = Some(khabar_text::normalize_for_search(&text));
    a.text = Some(text);
    a.language = Some("ar".into());
    a.published_at = Some(chrono::Utc::now());
    a.entities = (0..5)
        .map(|k| Entity {
            surface: "الباغوز".into(),
            canonical: "الباغوز".into(),
            kind: EntityKind::Place,
            start: k * 10,
            end: k * 10 + 14,
            confidence: 0.9,
            ids: Default::default(),
        })
        .collect();
    a
}

async fn measure(name: &str, config: Box<dyn SinkConfig>, records: &[Article], batch: usize) {
    let dir = std::env::temp_dir().join(format!("khabar-sink-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let ctx = BuildContext::standalone("bench", dir.clone(), dir.clone());
    let mut sink = match config.build(&ctx).await {
        Ok(s) => s,
        Err(e) => {
            println!("| {name} | unavailable: {e} |");
            return;
        }
    };
    let started = Instant::now();
    let mut failed = 0usize;
    for chunk in records.chunks(batch) {
        failed += sink
            .write(chunk)
            .await
            .iter()
            .filter(|r| r.is_err())
            .count();
    }
    let _ = sink.flush().await;
    let seconds = started.elapsed().as_secs_f64();
    drop(sink);
    // What a store kept on disk (the SQLite file and its WAL; nothing for the servers').
    let stored: u64 = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let size = if stored > 0 {
        format!(
            ", {:.1} MB on disk = {:.2} KB per record",
            stored as f64 / 1e6,
            stored as f64 / 1e3 / records.len().max(1) as f64
        )
    } else {
        String::new()
    };
    println!(
        "| {name} | {:.0} records/s | {} records in {seconds:.2} s, {failed} failed{size} |",
        records.len() as f64 / seconds,
        records.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--records")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let batch: usize = arg(&args, "--batch")
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let pg = arg(&args, "--postgres")
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let nats = arg(&args, "--nats").unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let records: Vec<Article> = (0..n).map(record).collect();
    let tag = std::process::id();
    println!("| sink | throughput | detail |\n|---|---|---|");
    for (synchronous, label) in [
        (
            "full",
            "sqlite (FTS5, WAL, synchronous = FULL: the default)",
        ),
        ("normal", "sqlite (FTS5, WAL, synchronous = NORMAL)"),
    ] {
        let path = format!("bench-{synchronous}.db");
        let sqlite: khabar_sqlite::SqliteConfig =
            serde_json::from_value(serde_json::json!({"path": path, "synchronous": synchronous}))
                .unwrap_or_else(|e| panic!("{e}"));
        measure(label, Box::new(sqlite), &records, batch).await;
    }
    let table = format!("khabar_bench_{tag}");
    let postgres: khabar_postgres::PostgresConfig =
        serde_json::from_value(serde_json::json!({"url": pg, "table": table}))
            .unwrap_or_else(|e| panic!("{e}"));
    measure(
        "postgres (jsonb_to_recordset upsert)",
        Box::new(postgres),
        &records,
        batch,
    )
    .await;
    if let Ok((client, connection)) = tokio_postgres::connect(&pg, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        let _ = client.batch_execute(&format!("DROP TABLE IF EXISTS {table}; DELETE FROM khabar_schema_migrations WHERE tbl = '{table}'")).await;
    }
    let stream = format!("KHABAR_BENCH_{tag}");
    let nats_sink: khabar_nats::NatsSinkConfig = serde_json::from_value(serde_json::json!({"url": nats, "stream": stream, "subject": format!("khabar.bench.{tag}")})).unwrap_or_else(|e| panic!("{e}"));
    measure(
        "nats (JetStream publish, acked)",
        Box::new(nats_sink),
        &records,
        batch,
    )
    .await;
    if let Ok(client) = async_nats::connect(&nats).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(&stream)
            .await;
    }
}
