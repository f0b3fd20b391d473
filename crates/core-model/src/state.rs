//! Where sources keep checkpoints and schedules between runs.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

/// A state store that cannot answer: what it was doing, and why (the store's own error).
#[derive(Debug, Clone)]
pub struct StateError {
    message: String,
    cause: Option<crate::error::Cause>,
}

impl StateError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> StateError {
        StateError {
            message: message.into(),
            cause: None,
        }
    }

    /// Keeps `cause` behind this error; its chain is printed with it.
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(std::sync::Arc::new(cause));
        self
    }

    /// What went wrong, without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "state store: {}", self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {}", crate::error::error_chain(cause.as_ref()))?;
        }
        Ok(())
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// A small key-value store, namespaced per stage. Values are opaque bytes (sources store JSON).
///
/// How it is driven: sources call it from their own task, between polls; a `put` must be
/// durable when it returns, because a source calls it only after the records it covers were
/// delivered.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The value at `key` in `namespace`, if any.
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StateError>;
    /// Sets `key` in `namespace` to `value`, durably once this returns.
    async fn put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), StateError>;
    /// Removes `key` from `namespace` (no error when absent).
    async fn delete(&self, namespace: &str, key: &str) -> Result<(), StateError>;
    /// All keys of a namespace, sorted.
    async fn keys(&self, namespace: &str) -> Result<Vec<String>, StateError>;

    /// Claims `key` for `holder` for `ttl` (or renews the holder's own claim); false while
    /// another holder's claim is live. Stores that several processes share implement it, so
    /// that two fetchers never poll the same feed at once; a store only one process uses has
    /// nobody to exclude, hence the default.
    async fn lease(
        &self,
        namespace: &str,
        key: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StateError> {
        let _ = (namespace, key, holder, ttl);
        Ok(true)
    }

    /// Gives a claim up before it expires.
    async fn release(&self, namespace: &str, key: &str, holder: &str) -> Result<(), StateError> {
        let _ = (namespace, key, holder);
        Ok(())
    }
}

type Entries = BTreeMap<(String, String), Vec<u8>>;

/// Keeps state in memory only: for tests and one-off commands.
#[derive(Default)]
pub struct MemoryStateStore {
    map: Mutex<Entries>,
}

impl MemoryStateStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries>, StateError> {
        self.map
            .lock()
            .map_err(|_| StateError::new("memory store poisoned"))
    }
}

#[async_trait]
impl StateStore for MemoryStateStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .lock()?
            .get(&(namespace.to_string(), key.to_string()))
            .cloned())
    }

    async fn put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), StateError> {
        self.lock()?
            .insert((namespace.to_string(), key.to_string()), value.to_vec());
        Ok(())
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<(), StateError> {
        self.lock()?
            .remove(&(namespace.to_string(), key.to_string()));
        Ok(())
    }

    async fn keys(&self, namespace: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .lock()?
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, k)| k.clone())
            .collect())
    }
}
