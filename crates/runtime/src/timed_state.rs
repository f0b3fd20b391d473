//! The state store as the pipeline sees it: every call timed into
//! `khabar_state_operation_duration_seconds`, so a slow store shows before it stalls polls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use khabar_core_model::{async_trait, StateError, StateStore};

use crate::metrics::names;

pub(crate) struct TimedStateStore {
    inner: Arc<dyn StateStore>,
}

impl TimedStateStore {
    pub(crate) fn wrap(inner: Arc<dyn StateStore>) -> Arc<dyn StateStore> {
        Arc::new(TimedStateStore { inner })
    }
}

fn record<T>(operation: &'static str, started: Instant, result: &Result<T, StateError>) {
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::histogram!(names::STATE_SECONDS, "operation" => operation, "result" => outcome)
        .record(started.elapsed().as_secs_f64());
}

#[async_trait]
impl StateStore for TimedStateStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let started = Instant::now();
        let result = self.inner.get(namespace, key).await;
        record("get", started, &result);
        result
    }

    async fn put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), StateError> {
        let started = Instant::now();
        let result = self.inner.put(namespace, key, value).await;
        record("put", started, &result);
        result
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<(), StateError> {
        let started = Instant::now();
        let result = self.inner.delete(namespace, key).await;
        record("delete", started, &result);
        result
    }

    async fn keys(&self, namespace: &str) -> Result<Vec<String>, StateError> {
        let started = Instant::now();
        let result = self.inner.keys(namespace).await;
        record("keys", started, &result);
        result
    }

    async fn lease(
        &self,
        namespace: &str,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StateError> {
        let started = Instant::now();
        let result = self.inner.lease(namespace, key, holder, ttl).await;
        record("lease", started, &result);
        result
    }

    async fn release(&self, namespace: &str, key: &str, holder: &str) -> Result<(), StateError> {
        let started = Instant::now();
        let result = self.inner.release(namespace, key, holder).await;
        record("release", started, &result);
        result
    }
}
