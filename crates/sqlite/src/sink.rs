//! The embedded default store: one SQLite file, upsert by id, an FTS5 index over the search
//! form of title and text.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, ErrorKind, Sink, SinkConfig, StageError};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

/// `[sinks.<id>] type = "sqlite"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteConfig {
    /// The database file; relative to `data_dir`.
    pub path: PathBuf,
    /// Store the raw page too (large).
    #[serde(default)]
    pub store_html: bool,
    /// `full` (the default): a batch is on disk before it is acknowledged, so a power cut
    /// loses nothing acknowledged. `normal`: faster (see BENCHMARKS.md), but a power cut may
    /// lose the last batches after their checkpoint was committed; their feeds then do not
    /// list them again. A crash of the process loses nothing either way.
    #[serde(default)]
    pub synchronous: Synchronous,
}

/// SQLite's `synchronous` setting for the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

#[async_trait]
impl SinkConfig for SqliteConfig {
    fn validate(&self) -> Vec<String> {
        khabar_core_model::path_problems(&self.path)
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let path = ctx.resolve_data(&self.path);
        let conn = open_with(&path, self.synchronous)
            .map_err(|e| StageError::config("field `path`").with_cause(e))?;
        Ok(Box::new(SqliteSink {
            conn: Arc::new(Mutex::new(conn)),
            store_html: self.store_html,
        }))
    }
}

/// Why a store could not be opened or searched.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: no such database; run the pipeline first")]
    Missing { path: PathBuf },
    #[error("the query has no words to search for")]
    EmptyQuery,
    #[error("{path}: article {id}: unreadable record: {message}")]
    Record {
        path: PathBuf,
        id: String,
        message: String,
    },
}

/// Opens (creating or migrating) a Khabar SQLite store.
///
/// `synchronous = FULL`: a committed batch survives a power cut, so a source's checkpoint
/// (committed only after this sink acknowledged the records) can never be ahead of the
/// records it covers.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, Synchronous::Full)
}

/// Opens a store with the given `synchronous` setting.
pub fn open_with(path: &Path, synchronous: Synchronous) -> Result<Connection, StoreError> {
    let describe = |source: rusqlite::Error| StoreError::Database {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let conn = Connection::open(path).map_err(describe)?;
    let pragmas = match synchronous {
        Synchronous::Full => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;"
        }
        Synchronous::Normal => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;"
        }
    };
    conn.execute_batch(pragmas).map_err(describe)?;
    migrate(&conn).map_err(describe)?;
    Ok(conn)
}

/// Brings a store up to the current schema, one numbered step at a time (`user_version`).
fn migrate(conn: &Connection) -> Result<(), rusqlite::Error> {
    let version = schema_version(conn)?;
    if version < 1 {
        conn.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS articles (
                 id             TEXT PRIMARY KEY,
                 source         TEXT NOT NULL,
                 feed_url       TEXT NOT NULL,
                 url            TEXT NOT NULL,
                 canonical_url  TEXT,
                 title          TEXT,
                 summary        TEXT,
                 published_at   TEXT,
                 updated_at     TEXT,
                 fetched_at     TEXT NOT NULL,
                 language       TEXT,
                 site_name      TEXT,
                 text           TEXT,
                 content_hash   TEXT,
                 record         TEXT NOT NULL,
                 html           TEXT,
                 stored_at      TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS articles_published ON articles (published_at);
             CREATE INDEX IF NOT EXISTS articles_source ON articles (source);
             CREATE INDEX IF NOT EXISTS articles_language ON articles (language);
             CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5 (
                 id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2'
             );
             PRAGMA user_version = 1;
             COMMIT;",
        )?;
    }
    if version < 2 {
        // The index row of an article is the article's rowid: replacing it is a lookup, not a
        // scan of the whole index (which made large stores crawl).
        conn.execute_batch(
            "BEGIN;
             DELETE FROM articles_fts;
             INSERT INTO articles_fts (rowid, id, title, body)
                 SELECT rowid, id,
                        coalesce(json_extract(record, '$.attrs.title_normalized'), lower(coalesce(title, ''))),
                        coalesce(json_extract(record, '$.text_normalized'), text, summary, '')
                 FROM articles;
             PRAGMA user_version = 2;
             COMMIT;",
        )?;
    }
    if version < 3 {
        // The article page lists the other records of a story's cluster.
        conn.execute_batch(
            "BEGIN;
             CREATE INDEX IF NOT EXISTS articles_cluster
                 ON articles (json_extract(record, '$.cluster_id'));
             PRAGMA user_version = 3;
             COMMIT;",
        )?;
    }
    if version < 4 {
        // The text was stored four times: the `text` column, `text` and `text_normalized` in
        // the record, and the search form again as the index's own copy. Now once as written
        // (the column) and once searchable (a contentless index, which keeps no copy); the
        // record keeps the rest. A third less to store, and to keep in the page cache.
        conn.execute_batch(
            "BEGIN;
             DROP TABLE IF EXISTS articles_fts;
             CREATE VIRTUAL TABLE articles_fts USING fts5 (
                 title, body, content = '', contentless_delete = 1,
                 tokenize = 'unicode61 remove_diacritics 2'
             );
             INSERT INTO articles_fts (rowid, title, body)
                 SELECT rowid,
                        coalesce(json_extract(record, '$.attrs.title_normalized'), lower(coalesce(title, ''))),
                        coalesce(json_extract(record, '$.text_normalized'), text, summary, '')
                 FROM articles;
             UPDATE articles SET record = json_remove(record, '$.text', '$.text_normalized');
             PRAGMA user_version = 4;
             COMMIT;",
        )?;
    }
    if version < 5 {
        // The story's id in a column of its own: indexed through the record, every insert
        // parsed the whole record (18 KB on a typical article, most of it the entities) to
        // find it.
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE articles ADD COLUMN cluster_id TEXT;
             UPDATE articles SET cluster_id = json_extract(record, '$.cluster_id');
             DROP INDEX IF EXISTS articles_cluster;
             CREATE INDEX articles_cluster ON articles (cluster_id);
             PRAGMA user_version = 5;
             COMMIT;",
        )?;
    }
    Ok(())
}

/// The schema a store is at (`PRAGMA user_version`): readers of a store that no pipeline has
/// opened since an upgrade use the older layout.
pub(crate) fn schema_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// One article, ready for the blocking thread.
struct Row {
    id: String,
    source: String,
    feed_url: String,
    url: String,
    canonical_url: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    published_at: Option<String>,
    updated_at: Option<String>,
    fetched_at: String,
    language: Option<String>,
    site_name: Option<String>,
    text: Option<String>,
    content_hash: Option<String>,
    cluster_id: Option<String>,
    record: String,
    html: Option<String>,
    fts_title: String,
    fts_body: String,
}

fn to_row(article: &Article, store_html: bool) -> Result<Row, StageError> {
    // The text goes in its own column and, in search form, into the index only.
    let record = article
        .to_json_string_without_html_or_text()
        .map_err(|e| StageError::permanent(format!("cannot serialize record: {e}")))?;
    // `normalize` leaves the title's search form in attrs; without it, lower case will do.
    let fts_title = article
        .attrs
        .get("title_normalized")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| article.title.clone().unwrap_or_default().to_lowercase());
    Ok(Row {
        id: article.id.to_string(),
        source: article.feed.source.clone(),
        feed_url: article.feed.url.clone(),
        url: article.url.clone(),
        canonical_url: article.canonical_url.clone(),
        title: article.title.clone(),
        summary: article.summary.clone(),
        published_at: article.published_at.map(|d| d.to_rfc3339()),
        updated_at: article.updated_at.map(|d| d.to_rfc3339()),
        fetched_at: article.fetched_at.to_rfc3339(),
        language: article.language.clone(),
        site_name: article.site_name.clone(),
        text: article.text.clone(),
        content_hash: article.content_hash.clone(),
        cluster_id: article.cluster_id.as_ref().map(|c| c.as_str().to_string()),
        record,
        html: if store_html {
            article.html.clone()
        } else {
            None
        },
        fts_title,
        fts_body: article
            .text_normalized
            .clone()
            .or_else(|| article.text.clone())
            .or_else(|| article.summary.clone())
            .unwrap_or_default(),
    })
}

/// Writes an article's row; returns its rowid and whether the store held it already (its
/// entry in the search index then has to be replaced).
fn upsert(conn: &Connection, row: &Row) -> Result<(i64, bool), rusqlite::Error> {
    let existed = conn
        .prepare_cached("SELECT 1 FROM articles WHERE id = ?1")?
        .exists(params![row.id])?;
    // Cached: the statements are the same for every record, and preparing this one cost about
    // as much as running it.
    let rowid: i64 = conn.prepare_cached(
        "INSERT INTO articles (id, source, feed_url, url, canonical_url, title, summary, published_at,
             updated_at, fetched_at, language, site_name, text, content_hash, record, html, stored_at,
             cluster_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT (id) DO UPDATE SET
             source = excluded.source, feed_url = excluded.feed_url, url = excluded.url,
             canonical_url = excluded.canonical_url, title = excluded.title,
             summary = excluded.summary, published_at = excluded.published_at,
             updated_at = excluded.updated_at, fetched_at = excluded.fetched_at,
             language = excluded.language, site_name = excluded.site_name, text = excluded.text,
             content_hash = excluded.content_hash, record = excluded.record,
             html = COALESCE(excluded.html, articles.html), stored_at = excluded.stored_at,
             cluster_id = excluded.cluster_id
         RETURNING rowid",
    )?.query_row(
        params![
            row.id, row.source, row.feed_url, row.url, row.canonical_url, row.title, row.summary,
            row.published_at, row.updated_at, row.fetched_at, row.language, row.site_name, row.text,
            row.content_hash, row.record, row.html, chrono::Utc::now().to_rfc3339(), row.cluster_id
        ],
        |r| r.get(0),
    )?;
    Ok((rowid, existed))
}

/// Rows of the search index per statement: three parameters each, far below SQLite's limit.
const INDEX_ROWS_PER_STATEMENT: usize = 100;

/// An article's entry in the search index, waiting for the batch's rows to be written.
struct IndexEntry<'a> {
    /// Where in the batch the article came (more than one place when a batch holds a record
    /// twice: the index gets the last, as the table does).
    at: Vec<usize>,
    rowid: i64,
    /// The store held the article before this batch: its old entry goes first.
    replaces: bool,
    title: &'a str,
    body: &'a str,
}

/// Gathers the entries of one batch, one per rowid.
#[derive(Default)]
struct PendingIndex<'a> {
    entries: Vec<IndexEntry<'a>>,
    by_rowid: std::collections::HashMap<i64, usize>,
}

impl<'a> PendingIndex<'a> {
    fn add(&mut self, at: usize, rowid: i64, existed: bool, row: &'a Row) {
        if let Some(&i) = self.by_rowid.get(&rowid) {
            if let Some(entry) = self.entries.get_mut(i) {
                entry.at.push(at);
                entry.title = &row.fts_title;
                entry.body = &row.fts_body;
            }
            return;
        }
        self.by_rowid.insert(rowid, self.entries.len());
        self.entries.push(IndexEntry {
            at: vec![at],
            rowid,
            replaces: existed,
            title: &row.fts_title,
            body: &row.fts_body,
        });
    }

    /// Puts the batch's articles into the search index, after their rows are written.
    ///
    /// Why batched and last: FTS5 writes out what it holds in memory at the start of every
    /// statement of the transaction that could be rolled back alone, and each article's insert
    /// is one. Indexed row by row, every article became a segment of its own, to be merged
    /// again later; indexed by one statement after the batch's rows, the batch is one segment.
    /// A failing statement is tried again row by row, so only the entries that fail are
    /// reported.
    fn write(&self, conn: &Connection, results: &mut [Result<(), StageError>]) {
        for entry in self.entries.iter().filter(|e| e.replaces) {
            let deleted = conn
                .prepare_cached("DELETE FROM articles_fts WHERE rowid = ?1")
                .and_then(|mut s| s.execute(params![entry.rowid]));
            if let Err(e) = deleted {
                fail(results, entry, &e);
            }
        }
        for chunk in self.entries.chunks(INDEX_ROWS_PER_STATEMENT) {
            if insert_index_rows(conn, chunk).is_ok() {
                continue;
            }
            for entry in chunk {
                if let Err(e) = insert_index_rows(conn, std::slice::from_ref(entry)) {
                    fail(results, entry, &e);
                }
            }
        }
    }
}

fn insert_index_rows(conn: &Connection, entries: &[IndexEntry<'_>]) -> Result<(), rusqlite::Error> {
    let values = vec!["(?, ?, ?)"; entries.len()].join(", ");
    let mut statement = conn.prepare_cached(&format!(
        "INSERT INTO articles_fts (rowid, title, body) VALUES {values}"
    ))?;
    let mut parameters: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(entries.len() * 3);
    for entry in entries {
        parameters.push(&entry.rowid);
        parameters.push(&entry.title);
        parameters.push(&entry.body);
    }
    statement.execute(parameters.as_slice())?;
    Ok(())
}

/// Reports an entry's failure for every place its article came in the batch.
fn fail(results: &mut [Result<(), StageError>], entry: &IndexEntry<'_>, e: &rusqlite::Error) {
    for &at in &entry.at {
        if let Some(slot @ Ok(())) = results.get_mut(at) {
            *slot = Err(StageError::new(
                error_kind(e),
                format!("sqlite: search index: {e}"),
            ));
        }
    }
}

/// Busy, locked and I/O failures pass; anything else fails the same way every time, and
/// retrying it would stall the sink.
fn error_kind(e: &rusqlite::Error) -> ErrorKind {
    if is_transient(e) {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    }
}

fn is_transient(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::CannotOpen
        )
    )
}

struct SqliteSink {
    conn: Arc<Mutex<Connection>>,
    store_html: bool,
}

#[async_trait]
impl Sink for SqliteSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        let rows: Vec<Result<Row, StageError>> =
            batch.iter().map(|a| to_row(a, self.store_html)).collect();
        let conn = Arc::clone(&self.conn);
        let outcome = tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StageError::transient("sqlite connection poisoned"))?;
            let tx = guard
                .transaction()
                .map_err(|e| StageError::transient("sqlite: begin").with_cause(e))?;
            let mut results = Vec::with_capacity(rows.len());
            let mut index = PendingIndex::default();
            for (at, row) in rows.iter().enumerate() {
                results.push(match row {
                    Ok(row) => match upsert(&tx, row) {
                        Ok((rowid, existed)) => {
                            index.add(at, rowid, existed, row);
                            Ok(())
                        }
                        Err(e) => {
                            Err(StageError::new(error_kind(&e), "sqlite: upsert").with_cause(e))
                        }
                    },
                    Err(e) => Err(e.clone()),
                });
            }
            index.write(&tx, &mut results);
            tx.commit()
                .map_err(|e| StageError::transient("sqlite: commit").with_cause(e))?;
            Ok::<_, StageError>(results)
        })
        .await
        .map_err(|e| StageError::transient("sqlite writer").with_cause(e))
        .and_then(|r| r);
        match outcome {
            Ok(results) => results,
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub title: Option<String>,
    pub url: String,
    pub published_at: Option<String>,
    pub language: Option<String>,
    pub source: String,
    pub snippet: String,
    pub rank: f64,
}

/// A hit from a row whose first columns are id, title, url, published_at, language, source.
pub(crate) fn search_hit(
    r: &rusqlite::Row<'_>,
    snippet: String,
    rank: f64,
) -> rusqlite::Result<SearchHit> {
    Ok(SearchHit {
        id: r.get(0)?,
        title: r.get(1)?,
        url: r.get(2)?,
        published_at: r.get(3)?,
        language: r.get(4)?,
        source: r.get(5)?,
        snippet,
        rank,
    })
}

/// Filters for [`search`] and [`crate::reader::browse`].
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub since: Option<String>,
    pub until: Option<String>,
    pub source: Option<String>,
    pub language: Option<String>,
    /// Only articles that mention this entity (its canonical name).
    pub entity: Option<String>,
    /// Only articles about this place (its canonical name or gazetteer id).
    pub place: Option<String>,
    pub limit: usize,
}

impl SearchFilter {
    /// The filters as SQL conditions on `articles a`, numbered from `?{first}`, with their
    /// values in order.
    pub(crate) fn conditions(&self, first: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values: Vec<String> = Vec::new();
        let mut add = |clause: &str, value: &Option<String>| {
            if let Some(v) = value {
                values.push(v.clone());
                let n = first + values.len() - 1;
                sql.push_str(&format!(" AND {}", clause.replace("?N", &format!("?{n}"))));
            }
        };
        add("a.published_at >= ?N", &self.since);
        add("a.published_at < ?N", &self.until);
        add("a.source = ?N", &self.source);
        add("a.language = ?N", &self.language);
        add(
            "EXISTS (SELECT 1 FROM json_each(a.record, '$.entities') e \
             WHERE json_extract(e.value, '$.canonical') = ?N)",
            &self.entity,
        );
        add(
            "EXISTS (SELECT 1 FROM json_each(a.record, '$.places') p \
             WHERE json_extract(p.value, '$.canonical') = ?N OR json_extract(p.value, '$.id') = ?N)",
            &self.place,
        );
        (sql, values)
    }
}

/// A passage of `text` around the first whole-word match of any of `terms` (in search form),
/// each match in brackets, quoted as written (with its hamza and diacritics).
pub fn highlight(text: &str, terms: &[String], context: usize) -> Option<String> {
    highlight_marked(text, terms, context, Marks::BRACKETS)
}

/// What [`search`] puts around each match in a snippet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub open: char,
    pub close: char,
}

impl Marks {
    /// `[match]`, for a terminal.
    pub const BRACKETS: Marks = Marks {
        open: '[',
        close: ']',
    };
    /// Two Unicode noncharacters (U+FDD0, U+FDD1), which no text carries: a page escapes the
    /// snippet and then turns them into tags.
    pub const NONCHARACTERS: Marks = Marks {
        open: '\u{FDD0}',
        close: '\u{FDD1}',
    };
}

/// [`highlight`] with the given marks around each match.
pub fn highlight_marked(
    text: &str,
    terms: &[String],
    context: usize,
    marks: Marks,
) -> Option<String> {
    let (folded, offsets) = khabar_text::normalize_with_offsets(text);
    let folded_chars: Vec<char> = folded.chars().collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let length = term.chars().count();
        for (byte, _) in folded.match_indices(term.as_str()).take(50) {
            let start = folded[..byte].chars().count();
            let end = start + length;
            let boundary_before = start == 0 || !folded_chars[start - 1].is_alphanumeric();
            let boundary_after = end >= folded_chars.len() || !folded_chars[end].is_alphanumeric();
            if boundary_before && boundary_after {
                let from = offsets[start];
                let last = offsets[end - 1];
                let to = last + text[last..].chars().next().map_or(0, char::len_utf8);
                spans.push((from, to));
            }
        }
    }
    spans.sort();
    spans.dedup_by(|b, a| b.0 < a.1);
    let first = *spans.first()?;
    let start = text[..first.0]
        .char_indices()
        .rev()
        .nth(context)
        .map_or(0, |(i, _)| i);
    let end = text[first.1..]
        .char_indices()
        .nth(context * 2)
        .map_or(text.len(), |(i, _)| first.1 + i);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(from, to) in spans.iter().filter(|(f, t)| *f >= start && *t <= end) {
        out.push_str(&text[at..from]);
        out.push(marks.open);
        out.push_str(&text[from..to]);
        out.push(marks.close);
        at = to;
    }
    out.push_str(&text[at..end]);
    if end < text.len() {
        out.push('…');
    }
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Full-text search. `normalized_query` must be in the same search form as the indexed text
/// (the binary applies the normalizer's folding); every word must match.
pub fn search(
    db: &Path,
    normalized_query: &str,
    filter: &SearchFilter,
) -> Result<Vec<SearchHit>, StoreError> {
    search_marked(db, normalized_query, filter, Marks::BRACKETS)
}

/// [`search`] with the given marks around each match of a snippet.
pub fn search_marked(
    db: &Path,
    normalized_query: &str,
    filter: &SearchFilter,
    marks: Marks,
) -> Result<Vec<SearchHit>, StoreError> {
    let conn = crate::reader::open_read_only(db)?;
    let words: Vec<String> = normalized_query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        return Err(StoreError::EmptyQuery);
    }
    let fts_query = words
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut sql = String::from(
        "SELECT a.id, a.title, a.url, a.published_at, a.language, a.source,
                coalesce(a.summary, ''), bm25(articles_fts, 2.0, 1.0), a.text
         FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid
         WHERE articles_fts MATCH ?1",
    );
    let mut values: Vec<String> = vec![fts_query];
    let (conditions, filter_values) = filter.conditions(2);
    sql.push_str(&conditions);
    values.extend(filter_values);
    sql.push_str(&format!(
        " ORDER BY bm25(articles_fts, 2.0, 1.0) LIMIT {}",
        filter.limit.max(1)
    ));
    let describe = |source: rusqlite::Error| StoreError::Database {
        path: db.to_path_buf(),
        source,
    };
    let mut stmt = conn.prepare(&sql).map_err(describe)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(values.iter()), |r| {
            // Quoted from the text as written; the summary when the words are only in the
            // title (or the article has no text).
            let snippet = r
                .get::<_, Option<String>>(8)?
                .and_then(|text| highlight_marked(&text, &words, 60, marks))
                .map_or_else(|| r.get(6), Ok)?;
            search_hit(r, snippet, r.get(7)?)
        })
        .map_err(describe)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store as schema 3 left it: the text in the column, in the record twice, and in the
    /// index's own copy.
    fn schema_3_store(path: &Path) {
        let conn = Connection::open(path).expect("open");
        let record = serde_json::json!({
            "schema_version": 1, "id": "a1", "url": "https://example.org/a1",
            "feed": {"source": "wire", "url": "https://example.org/feed"},
            "title": "Floods", "fetched_at": "2019-03-01T10:00:00Z",
            "text": "The river flooded the lower town.",
            "text_normalized": "the river flooded the lower town.",
            "entities": [], "places": [], "events": [], "keyphrases": [], "attrs": {}
        });
        conn.execute_batch(
            "CREATE TABLE articles (
                 id TEXT PRIMARY KEY, source TEXT NOT NULL, feed_url TEXT NOT NULL,
                 url TEXT NOT NULL, canonical_url TEXT, title TEXT, summary TEXT,
                 published_at TEXT, updated_at TEXT, fetched_at TEXT NOT NULL, language TEXT,
                 site_name TEXT, text TEXT, content_hash TEXT, record TEXT NOT NULL, html TEXT,
                 stored_at TEXT NOT NULL);
             CREATE VIRTUAL TABLE articles_fts USING fts5 (
                 id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2');
             CREATE INDEX articles_cluster ON articles (json_extract(record, '$.cluster_id'));
             PRAGMA user_version = 3;",
        )
        .expect("schema 3");
        conn.execute(
            "INSERT INTO articles (id, source, feed_url, url, title, fetched_at, text, record, stored_at)
             VALUES ('a1', 'wire', 'https://example.org/feed', 'https://example.org/a1', 'Floods',
                     '2019-03-01T10:00:00Z', 'The river flooded the lower town.', ?1, 'now')",
            [record.to_string()],
        )
        .expect("row");
        conn.execute(
            "INSERT INTO articles_fts (rowid, id, title, body) VALUES (1, 'a1', 'floods', 'the river flooded the lower town.')",
            [],
        )
        .expect("index row");
    }

    #[test]
    fn schema_4_keeps_the_text_once_and_the_store_still_searches_and_reads_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("k.db");
        schema_3_store(&db);
        let conn = open(&db).expect("migrated");
        let (version, record): (i64, String) = conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), record FROM articles",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row");
        assert_eq!(version, 5);
        let record: serde_json::Value = serde_json::from_str(&record).expect("JSON");
        assert!(record.get("text").is_none() && record.get("text_normalized").is_none());
        assert_eq!(record["title"], "Floods");
        drop(conn);

        let filter = SearchFilter {
            limit: 5,
            ..SearchFilter::default()
        };
        let hits = search(&db, "flooded town", &filter).expect("search");
        assert_eq!(hits.len(), 1);
        assert!(hits[0].snippet.contains("[flooded]"), "{:?}", hits[0]);
        let stored = crate::reader::article(&db, "a1")
            .expect("read")
            .expect("stored");
        assert_eq!(
            stored.record.text.as_deref(),
            Some("The river flooded the lower town.")
        );
    }

    #[test]
    fn schema_5_moves_the_story_id_into_a_column_and_a_story_reads_alike_before_and_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("k.db");
        schema_3_store(&db);
        {
            // A second record of a1's story, as schema 3 kept it: the story's id in the
            // record only.
            let conn = Connection::open(&db).expect("open");
            conn.execute_batch(
                "UPDATE articles SET record = json_set(record, '$.cluster_id', 'a1');
                 INSERT INTO articles (id, source, feed_url, url, title, fetched_at, text, record, stored_at)
                     SELECT 'a2', source, feed_url, 'https://example.org/a2', 'Floods again',
                            fetched_at, text,
                            json_set(record, '$.id', 'a2', '$.url', 'https://example.org/a2'),
                            stored_at
                     FROM articles WHERE id = 'a1';",
            )
            .expect("second record");
        }
        let story_of = |id: &str| -> Vec<String> {
            let stored = crate::reader::article(&db, id)
                .expect("read")
                .expect("stored");
            stored.cluster.into_iter().map(|b| b.id).collect()
        };
        // Read before any pipeline has opened (and migrated) the store.
        assert_eq!(story_of("a2"), ["a1"]);

        let conn = open(&db).expect("migrated");
        let columns: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, cluster_id FROM articles ORDER BY id")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()
            })
            .expect("rows");
        assert_eq!(
            columns,
            [
                ("a1".to_string(), Some("a1".to_string())),
                ("a2".to_string(), Some("a1".to_string()))
            ]
        );
        let index: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'articles_cluster'",
                [],
                |r| r.get(0),
            )
            .expect("index");
        assert!(!index.contains("json_extract"), "{index}");
        drop(conn);
        assert_eq!(story_of("a2"), ["a1"]);
        assert_eq!(story_of("a1"), ["a2"]);
    }

    #[tokio::test]
    async fn a_record_written_again_is_found_by_its_new_words_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("k.db");
        let conn = Arc::new(Mutex::new(open(&db).expect("store")));
        let mut sink = SqliteSink {
            conn,
            store_html: false,
        };
        let url = "https://example.org/story";
        let mut article = Article::new(
            khabar_core_model::RecordId::from_url(url),
            khabar_core_model::FeedRef::default(),
            url,
            chrono::Utc::now(),
        );
        article.title = Some("Story".into());
        article.text = Some("First the dam broke.".into());
        article.text_normalized = Some("first the dam broke.".into());
        assert!(sink.write(std::slice::from_ref(&article)).await[0].is_ok());
        article.text = Some("Then the bridge held.".into());
        article.text_normalized = Some("then the bridge held.".into());
        assert!(sink.write(std::slice::from_ref(&article)).await[0].is_ok());
        let filter = SearchFilter {
            limit: 5,
            ..SearchFilter::default()
        };
        assert_eq!(search(&db, "bridge", &filter).expect("search").len(), 1);
        assert!(search(&db, "dam", &filter).expect("search").is_empty());
        let (stored_text, record): (String, String) = open(&db)
            .expect("store")
            .query_row("SELECT text, record FROM articles", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("row");
        assert_eq!(stored_text, "Then the bridge held.");
        assert!(
            !record.contains("bridge"),
            "the text is stored once: {record}"
        );
    }

    #[test]
    fn highlights_quote_the_text_as_written() {
        let text = "وقالت مصادر محلية لـ\"العربي الجديد\" إن الطائرات الحربية التابعة للتحالف الدولي حلقت فوق المنطقة. ويستعد التحالف الدولي ومليشيا \"قوات سورية الديمقراطية\" (قسد) لإعلان القضاء على تنظيم \"داعش\".";
        let terms = vec!["سوريه".to_string(), "لاعلان".to_string()];
        let snippet = highlight(text, &terms, 20).unwrap_or_default();
        assert!(
            snippet.contains("[سورية]") && snippet.contains("[لإعلان]"),
            "{snippet}"
        );
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        assert_eq!(
            highlight(text, &["سوري".to_string()], 20),
            None,
            "whole words only"
        );
    }
    use khabar_core_model::{FeedRef, RecordId};

    /// A sink writing `k.db` in `dir`.
    async fn sink_in(
        dir: &tempfile::TempDir,
        synchronous: Synchronous,
    ) -> Result<Box<dyn Sink>, Box<dyn std::error::Error>> {
        let ctx =
            BuildContext::standalone("db", dir.path().to_path_buf(), dir.path().to_path_buf());
        let config = SqliteConfig {
            path: "k.db".into(),
            store_html: false,
            synchronous,
        };
        Ok(config.build(&ctx).await?)
    }

    #[tokio::test]
    async fn upserts_by_id_and_searches() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut sink = sink_in(&dir, Synchronous::Full).await?;
        let mut a = Article::new(
            RecordId::from_url("https://x/1"),
            FeedRef::default(),
            "https://x/1",
            chrono::Utc::now(),
        );
        a.title = Some("Coalition strikes".into());
        a.text = Some("The coalition struck Baghouz.".into());
        a.text_normalized = Some("the coalition struck baghouz".into());
        let results = sink.write(&[a.clone(), a.clone()]).await;
        assert!(results.iter().all(Result::is_ok));
        a.text = Some("The coalition struck Baghouz again.".into());
        a.text_normalized = Some("the coalition struck baghouz again".into());
        assert!(sink.write(&[a]).await.iter().all(Result::is_ok));
        let db = dir.path().join("k.db");
        let conn = open(&db)?;
        let count: i64 = conn.query_row("SELECT count(*) FROM articles", [], |r| r.get(0))?;
        let fts: i64 = conn.query_row("SELECT count(*) FROM articles_fts", [], |r| r.get(0))?;
        assert_eq!((count, fts), (1, 1));
        let filter = SearchFilter {
            limit: 10,
            ..Default::default()
        };
        let hits = search(&db, "baghouz again", &filter)?;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].snippet, "The coalition struck [Baghouz] [again].");
        assert!(search(&db, "nothing", &filter)?.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn indexes_a_large_batch_and_keeps_the_last_of_a_repeated_record(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut sink = sink_in(&dir, Synchronous::Normal).await?;
        let article = |n: usize, word: &str| {
            let url = format!("https://x/{n}");
            let mut a = Article::new(
                RecordId::from_url(&url),
                FeedRef::default(),
                url,
                chrono::Utc::now(),
            );
            a.title = Some(format!("story {n}"));
            a.text = Some(format!("Story number w{n} says {word}."));
            a
        };
        // More than one statement's worth of index rows, and one record twice with different
        // text (a replay): the index keeps the later text only.
        let mut batch: Vec<Article> = (0..250).map(|n| article(n, "first")).collect();
        batch.push(article(7, "second"));
        assert!(sink.write(&batch).await.iter().all(Result::is_ok));
        // Written again in a later batch: its old entry is replaced.
        assert!(sink
            .write(&[article(9, "third")])
            .await
            .iter()
            .all(Result::is_ok));
        let db = dir.path().join("k.db");
        let filter = SearchFilter {
            limit: 300,
            ..Default::default()
        };
        for n in [0, 99, 100, 101, 249] {
            assert_eq!(search(&db, &format!("w{n}"), &filter)?.len(), 1, "w{n}");
        }
        assert_eq!(search(&db, "first", &filter)?.len(), 248);
        assert_eq!(search(&db, "second", &filter)?.len(), 1);
        assert_eq!(search(&db, "third", &filter)?.len(), 1);
        assert_eq!(search(&db, "w7 first", &filter)?.len(), 0);
        assert_eq!(search(&db, "w9 first", &filter)?.len(), 0);
        let conn = open(&db)?;
        let rows: i64 = conn.query_row("SELECT count(*) FROM articles", [], |r| r.get(0))?;
        assert_eq!(rows, 250);
        Ok(())
    }
}

#[cfg(test)]
mod classification {
    #[test]
    fn an_error_without_a_code_is_not_retried_for_ever() {
        let conversion = rusqlite::Error::ToSqlConversionFailure("not a value".into());
        assert!(!super::is_transient(&conversion));
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(super::is_transient(&busy));
    }
}
