//! The embedded default `StateStore`: one SQLite file in `data_dir`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use khabar_core_model::{StateContext, StateError, StateStore, StateStoreConfig};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;

/// `[global] state = { type = "sqlite", path = "state.db" }`: the default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteStateConfig {
    /// The database file; relative to `data_dir`.
    #[serde(default = "default_state_file")]
    pub path: PathBuf,
}

fn default_state_file() -> PathBuf {
    PathBuf::from("state.db")
}

#[async_trait]
impl StateStoreConfig for SqliteStateConfig {
    fn validate(&self) -> Vec<String> {
        khabar_core_model::path_problems(&self.path)
    }

    async fn open(&self, ctx: &StateContext) -> Result<Arc<dyn StateStore>, StateError> {
        let path = ctx.resolve_data(&self.path);
        Ok(Arc::new(SqliteStateStore::open(&path)?))
    }
}

type Job = Box<dyn FnOnce(&Connection) + Send>;

/// One thread owns the connection and runs the store's statements in order; async callers
/// wait on a reply channel. Thousands of feed loops asking at once queue here instead of each
/// taking a blocking-pool thread to wait on a lock.
pub struct SqliteStateStore {
    jobs: std::sync::mpsc::Sender<Job>,
}

fn err(e: rusqlite::Error) -> StateError {
    StateError::new("SQLite").with_cause(e)
}

impl SqliteStateStore {
    pub fn open(path: &Path) -> Result<SqliteStateStore, StateError> {
        let at = |e: rusqlite::Error| StateError::new(path.display().to_string()).with_cause(e);
        let conn = Connection::open(path).map_err(at)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS state (
                 namespace  TEXT NOT NULL,
                 key        TEXT NOT NULL,
                 value      BLOB NOT NULL,
                 updated_at TEXT NOT NULL,
                 PRIMARY KEY (namespace, key)
             );
             CREATE TABLE IF NOT EXISTS leases (
                 namespace  TEXT NOT NULL,
                 key        TEXT NOT NULL,
                 holder     TEXT NOT NULL,
                 expires_at INTEGER NOT NULL,
                 PRIMARY KEY (namespace, key)
             );",
        )
        .map_err(at)?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("khabar-state".into())
            .spawn(move || {
                // Ends when the last handle to the store is dropped.
                while let Ok(job) = queue.recv() {
                    job(&conn);
                }
            })
            .map_err(|e| StateError::new("cannot start the state thread").with_cause(e))?;
        Ok(SqliteStateStore { jobs })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, StateError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(f(conn).map_err(err));
        });
        self.jobs
            .send(job)
            .map_err(|_| StateError::new("the state thread has stopped"))?;
        answer
            .await
            .map_err(|_| StateError::new("the state thread has stopped"))?
    }
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let (ns, key) = (namespace.to_string(), key.to_string());
        self.with_conn(move |c| {
            c.query_row(
                "SELECT value FROM state WHERE namespace = ?1 AND key = ?2",
                params![ns, key],
                |row| row.get(0),
            )
            .optional()
        })
        .await
    }

    async fn put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), StateError> {
        let (ns, key, value) = (namespace.to_string(), key.to_string(), value.to_vec());
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO state (namespace, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,
                 updated_at = excluded.updated_at",
                params![ns, key, value, chrono::Utc::now().to_rfc3339()],
            )
            .map(|_| ())
        })
        .await
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<(), StateError> {
        let (ns, key) = (namespace.to_string(), key.to_string());
        self.with_conn(move |c| {
            c.execute(
                "DELETE FROM state WHERE namespace = ?1 AND key = ?2",
                params![ns, key],
            )
            .map(|_| ())
        })
        .await
    }

    async fn lease(
        &self,
        namespace: &str,
        key: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StateError> {
        let (ns, key, holder) = (namespace.to_string(), key.to_string(), holder.to_string());
        let now = chrono::Utc::now().timestamp_millis();
        let until = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        // Several processes may share one data_dir: the claim is one conditional upsert.
        self.with_conn(move |c| {
            let changed = c.execute(
                "INSERT INTO leases (namespace, key, holder, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (namespace, key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE leases.holder = excluded.holder OR leases.expires_at < ?5",
                params![ns, key, holder, until, now],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn release(&self, namespace: &str, key: &str, holder: &str) -> Result<(), StateError> {
        let (ns, key, holder) = (namespace.to_string(), key.to_string(), holder.to_string());
        self.with_conn(move |c| {
            c.execute(
                "DELETE FROM leases WHERE namespace = ?1 AND key = ?2 AND holder = ?3",
                params![ns, key, holder],
            )
            .map(|_| ())
        })
        .await
    }

    async fn keys(&self, namespace: &str) -> Result<Vec<String>, StateError> {
        let ns = namespace.to_string();
        self.with_conn(move |c| {
            let mut stmt = c.prepare("SELECT key FROM state WHERE namespace = ?1 ORDER BY key")?;
            let rows = stmt.query_map(params![ns], |row| row.get::<_, String>(0))?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_survive_reopening() -> Result<(), StateError> {
        let dir = tempfile::tempdir().map_err(|e| StateError::new("tempdir").with_cause(e))?;
        let path = dir.path().join("state.db");
        {
            let store = SqliteStateStore::open(&path)?;
            store.put("feed", "a", b"one").await?;
            store.put("feed", "a", b"two").await?;
            store.put("feed", "b", b"x").await?;
            store.put("other", "c", b"y").await?;
            store.delete("feed", "b").await?;
        }
        let store = SqliteStateStore::open(&path)?;
        assert_eq!(store.get("feed", "a").await?, Some(b"two".to_vec()));
        assert_eq!(store.get("feed", "b").await?, None);
        assert_eq!(store.keys("feed").await?, vec!["a".to_string()]);
        Ok(())
    }

    #[tokio::test]
    async fn leases_exclude_other_holders_until_released_or_expired() -> Result<(), StateError> {
        let dir = tempfile::tempdir().map_err(|e| StateError::new("tempdir").with_cause(e))?;
        let a = SqliteStateStore::open(&dir.path().join("state.db"))?;
        let b = SqliteStateStore::open(&dir.path().join("state.db"))?;
        let long = std::time::Duration::from_secs(60);
        assert!(a.lease("src", "feed", "fetcher-a", long).await?);
        assert!(!b.lease("src", "feed", "fetcher-b", long).await?);
        assert!(a.lease("src", "feed", "fetcher-a", long).await?, "renewal");
        a.release("src", "feed", "fetcher-a").await?;
        assert!(
            b.lease(
                "src",
                "feed",
                "fetcher-b",
                std::time::Duration::from_millis(1)
            )
            .await?
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(
            a.lease("src", "feed", "fetcher-a", long).await?,
            "an expired claim is taken over"
        );
        Ok(())
    }
}
