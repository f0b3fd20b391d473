//! The `postgres` sink: upsert by record id, one statement per batch, a versioned schema, a
//! full-text column, and nothing lost when the database restarts (failed writes are transient:
//! the runtime retries them with backoff until they land).

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use khabar_core_model::{Article, BuildContext, ErrorKind, Sink, SinkConfig, StageError};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// `[sinks.<id>] type = "postgres"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user@host:5432/database` (libpq URL or key=value form).
    pub url: String,
    /// The table records go to (created on start).
    #[serde(default = "default_table")]
    pub table: String,
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub connect_timeout: Duration,
    /// Keep the raw page too (large).
    #[serde(default)]
    pub store_html: bool,
}

fn default_table() -> String {
    "articles".to_string()
}
fn default_pool_size() -> usize {
    4
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}

fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 48
}

/// The schema, one numbered step at a time. Applied under an advisory lock, so several
/// workers starting together migrate once.
fn migrations(table: &str) -> Vec<(i32, String)> {
    vec![(
        1,
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                id             text PRIMARY KEY,
                source         text NOT NULL,
                feed_url       text NOT NULL,
                url            text NOT NULL,
                canonical_url  text,
                title          text,
                summary        text,
                authors        jsonb NOT NULL DEFAULT '[]',
                published_at   timestamptz,
                updated_at     timestamptz,
                fetched_at     timestamptz NOT NULL,
                language       text,
                site_name      text,
                tags           jsonb NOT NULL DEFAULT '[]',
                text           text,
                text_normalized text,
                content_hash   text,
                simhash        text,
                duplicate_of   text,
                cluster_id     text,
                entities       jsonb NOT NULL DEFAULT '[]',
                places         jsonb NOT NULL DEFAULT '[]',
                events         jsonb NOT NULL DEFAULT '[]',
                keyphrases     jsonb NOT NULL DEFAULT '[]',
                attrs          jsonb NOT NULL DEFAULT '{{}}',
                html           text,
                record         jsonb NOT NULL,
                search         tsvector GENERATED ALWAYS AS (
                    to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(text_normalized, ''))
                ) STORED,
                stored_at      timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX IF NOT EXISTS {table}_search_idx ON {table} USING gin (search);
            CREATE INDEX IF NOT EXISTS {table}_published_idx ON {table} (published_at);
            CREATE INDEX IF NOT EXISTS {table}_cluster_idx ON {table} (cluster_id);"
        ),
    )]
}

fn classify(context: &str, e: tokio_postgres::Error) -> StageError {
    let code = e.code();
    // Data and integrity errors are this record's fault; everything else (connection lost,
    // server shutting down, too many clients) passes.
    let permanent = code.is_some_and(|c| {
        let class = c.code().get(..2);
        class == Some("22") || class == Some("23") || c == &SqlState::UNDEFINED_COLUMN
    });
    // tokio-postgres says only "db error" until its cause (the server's message: permission
    // denied, …) is read; the cause is kept so that the log says it.
    let kind = if permanent {
        ErrorKind::Permanent
    } else {
        ErrorKind::Transient
    };
    StageError::new(kind, context.to_string()).with_cause(e)
}

#[async_trait]
impl SinkConfig for PostgresConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.url.parse::<tokio_postgres::Config>() {
            problems.push(format!("field `url`: {e}"));
        }
        if !valid_identifier(&self.table) {
            problems.push(format!(
                "field `table`: {:?} must be lower-case letters, digits and _",
                self.table
            ));
        }
        if self.pool_size == 0 {
            problems.push("field `pool_size`: at least 1".to_string());
        }
        problems
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let mut pg: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| StageError::config("field `url`").with_cause(e))?;
        pg.connect_timeout(self.connect_timeout);
        if pg.get_application_name().is_none() {
            pg.application_name("khabar");
        }
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .build()
            .map_err(|e| StageError::config("connection pool").with_cause(e))?;
        let sink = PostgresSink {
            pool,
            table: self.table.clone(),
            store_html: self.store_html,
        };
        sink.migrate().await.map_err(|e| {
            StageError::config("cannot prepare the table (is the database reachable?)")
                .with_cause(e)
        })?;
        Ok(Box::new(sink))
    }
}

/// Adds the `postgres` sink to `registry`.
pub fn register(registry: &mut khabar_core_model::Registry) {
    registry.add_sink::<PostgresConfig>(
        "postgres",
        "PostgreSQL: upsert by id in batches, versioned schema, JSONB entities, places and events, a full-text column",
    );
}

struct PostgresSink {
    pool: Pool,
    table: String,
    store_html: bool,
}

impl PostgresSink {
    async fn client(&self) -> Result<deadpool_postgres::Client, StageError> {
        self.pool
            .get()
            .await
            .map_err(|e| StageError::transient("postgres: connection").with_cause(e))
    }

    async fn migrate(&self) -> Result<(), StageError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| classify("postgres", e))?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7275829184);
             CREATE TABLE IF NOT EXISTS khabar_schema_migrations (
                 tbl text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
                 PRIMARY KEY (tbl, version))",
        )
        .await
        .map_err(|e| classify("postgres migration", e))?;
        for (version, sql) in migrations(&self.table) {
            let done = tx
                .query_opt(
                    "SELECT 1 FROM khabar_schema_migrations WHERE tbl = $1 AND version = $2",
                    &[&self.table, &version],
                )
                .await
                .map_err(|e| classify("postgres migration", e))?;
            if done.is_some() {
                continue;
            }
            tx.batch_execute(&sql)
                .await
                .map_err(|e| classify(&format!("postgres migration {version}"), e))?;
            tx.execute(
                "INSERT INTO khabar_schema_migrations (tbl, version) VALUES ($1, $2)",
                &[&self.table, &version],
            )
            .await
            .map_err(|e| classify("postgres migration", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| classify("postgres migration", e))
    }

    fn row(&self, a: &Article) -> Value {
        json!({
            "id": a.id, "source": a.feed.source, "feed_url": a.feed.url, "url": a.url,
            "canonical_url": a.canonical_url, "title": a.title, "summary": a.summary,
            "authors": a.authors, "published_at": a.published_at, "updated_at": a.updated_at,
            "fetched_at": a.fetched_at, "language": a.language, "site_name": a.site_name,
            "tags": a.tags, "text": a.text, "text_normalized": a.text_normalized,
            "content_hash": a.content_hash, "simhash": a.simhash, "duplicate_of": a.duplicate_of,
            "cluster_id": a.cluster_id, "entities": a.entities, "places": a.places, "events": a.events,
            "keyphrases": a.keyphrases, "attrs": a.attrs,
            "html": if self.store_html { a.html.clone() } else { None },
            "record": a.to_json_without_html(),
        })
    }

    /// One statement for the whole batch: the rows travel as one JSON array.
    fn upsert_sql(&self) -> String {
        let t = &self.table;
        format!(
            "INSERT INTO {t} (id, source, feed_url, url, canonical_url, title, summary, authors, published_at,
                 updated_at, fetched_at, language, site_name, tags, text, text_normalized, content_hash, simhash,
                 duplicate_of, cluster_id, entities, places, events, keyphrases, attrs, html, record)
             SELECT r.id, r.source, r.feed_url, r.url, r.canonical_url, r.title, r.summary, coalesce(r.authors, '[]'),
                 r.published_at, r.updated_at, r.fetched_at, r.language, r.site_name, coalesce(r.tags, '[]'), r.text,
                 r.text_normalized, r.content_hash, r.simhash, r.duplicate_of, r.cluster_id, coalesce(r.entities, '[]'),
                 coalesce(r.places, '[]'), coalesce(r.events, '[]'), coalesce(r.keyphrases, '[]'), coalesce(r.attrs, '{{}}'),
                 r.html, r.record
             FROM jsonb_to_recordset($1::jsonb) AS r(id text, source text, feed_url text, url text, canonical_url text,
                 title text, summary text, authors jsonb, published_at timestamptz, updated_at timestamptz,
                 fetched_at timestamptz, language text, site_name text, tags jsonb, text text, text_normalized text,
                 content_hash text, simhash text, duplicate_of text, cluster_id text, entities jsonb, places jsonb,
                 events jsonb, keyphrases jsonb, attrs jsonb, html text, record jsonb)
             ON CONFLICT (id) DO UPDATE SET
                 source = excluded.source, feed_url = excluded.feed_url, url = excluded.url,
                 canonical_url = excluded.canonical_url, title = excluded.title, summary = excluded.summary,
                 authors = excluded.authors, published_at = excluded.published_at, updated_at = excluded.updated_at,
                 fetched_at = excluded.fetched_at, language = excluded.language, site_name = excluded.site_name,
                 tags = excluded.tags, text = excluded.text, text_normalized = excluded.text_normalized,
                 content_hash = excluded.content_hash, simhash = excluded.simhash, duplicate_of = excluded.duplicate_of,
                 cluster_id = excluded.cluster_id, entities = excluded.entities, places = excluded.places,
                 events = excluded.events, keyphrases = excluded.keyphrases, attrs = excluded.attrs,
                 html = coalesce(excluded.html, {t}.html), record = excluded.record, stored_at = now()"
        )
    }

    async fn write_rows(&self, rows: &[Value]) -> Result<(), StageError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.upsert_sql())
            .await
            .map_err(|e| classify("postgres", e))?;
        let payload = Value::Array(rows.to_vec());
        client
            .execute(&statement, &[&payload])
            .await
            .map(|_| ())
            .map_err(|e| classify("postgres", e))
    }
}

#[async_trait]
impl Sink for PostgresSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        // Rows with the same id in one batch would make the upsert fail; the last one wins.
        let mut rows: Vec<Value> = Vec::with_capacity(batch.len());
        let mut seen = std::collections::HashMap::new();
        for article in batch {
            let row = self.row(article);
            match seen.get(article.id.as_str()) {
                Some(&i) => rows[i] = row,
                None => {
                    seen.insert(article.id.as_str(), rows.len());
                    rows.push(row);
                }
            }
        }
        match self.write_rows(&rows).await {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            Err(e) if e.is_permanent() && batch.len() > 1 => {
                // One bad record must not hold back the others: write them one by one.
                let mut results = Vec::with_capacity(batch.len());
                for article in batch {
                    results.push(self.write_rows(&[self.row(article)]).await);
                }
                results
            }
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}
