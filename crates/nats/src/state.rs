//! A `StateStore` on NATS JetStream key-value, for fetchers on several machines: checkpoints,
//! schedules and per-feed leases live in one bucket they all see.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::sync::Arc;

use khabar_core_model::{StateContext, StateError, StateStore, StateStoreConfig};
use serde::{Deserialize, Serialize};

/// NATS keys allow only a few characters; namespaces and keys (feed URLs) are hex-encoded and
/// joined by a dot.
fn encode(part: &str) -> String {
    khabar_core_model::hex::encode(part.as_bytes())
}

fn decode(hex: &str) -> Option<String> {
    String::from_utf8(khabar_core_model::hex::decode(hex)?).ok()
}

fn key(namespace: &str, key: &str) -> String {
    format!("{}.{}", encode(namespace), encode(key))
}

fn err(e: impl std::error::Error + Send + Sync + 'static) -> StateError {
    StateError::new("nats key-value").with_cause(e)
}

/// `[global] state = { type = "nats", url = "nats://…", bucket = "khabar-state" }`: one
/// key-value bucket shared by fetchers on several machines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsStateConfig {
    #[serde(default = "default_url")]
    pub url: String,
    #[serde(default = "default_bucket")]
    pub bucket: String,
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".to_string()
}
fn default_bucket() -> String {
    "khabar-state".to_string()
}

#[async_trait]
impl StateStoreConfig for NatsStateConfig {
    fn validate(&self) -> Vec<String> {
        let valid = !self.bucket.is_empty()
            && self
                .bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if valid {
            Vec::new()
        } else {
            vec![format!(
                "field `bucket`: {:?} may hold only letters, digits, '-' and '_'",
                self.bucket
            )]
        }
    }

    async fn open(&self, _ctx: &StateContext) -> Result<Arc<dyn StateStore>, StateError> {
        Ok(Arc::new(
            NatsStateStore::connect(&self.url, &self.bucket).await?,
        ))
    }
}

#[derive(Serialize, Deserialize)]
struct Lease {
    holder: String,
    expires_at_ms: i64,
}

pub struct NatsStateStore {
    store: kv::Store,
}

impl NatsStateStore {
    /// Connects and opens (creating it if needed) `bucket`.
    pub async fn connect(url: &str, bucket: &str) -> Result<NatsStateStore, StateError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StateError::new(format!("cannot connect to {url}")).with_cause(e))?;
        let js = jetstream::new(client);
        // The bucket's stream is created by hand, with only the settings a key-value bucket
        // needs, so that servers older than the client (2.9) accept it.
        js.get_or_create_stream(jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| StateError::new(format!("cannot create bucket {bucket:?}")).with_cause(e))?;
        let store = js
            .get_key_value(bucket)
            .await
            .map_err(|e| StateError::new(format!("cannot open bucket {bucket:?}")).with_cause(e))?;
        Ok(NatsStateStore { store })
    }
}

#[async_trait]
impl StateStore for NatsStateStore {
    async fn get(&self, namespace: &str, k: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.store
            .get(key(namespace, k))
            .await
            .map(|v| v.map(|b| b.to_vec()))
            .map_err(err)
    }

    async fn put(&self, namespace: &str, k: &str, value: &[u8]) -> Result<(), StateError> {
        self.store
            .put(key(namespace, k), value.to_vec().into())
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn delete(&self, namespace: &str, k: &str) -> Result<(), StateError> {
        self.store.delete(key(namespace, k)).await.map_err(err)
    }

    async fn keys(&self, namespace: &str) -> Result<Vec<String>, StateError> {
        let prefix = format!("{}.", encode(namespace));
        let mut keys = match self.store.keys().await {
            Ok(keys) => keys,
            // An empty bucket has no keys to list.
            Err(e) if e.to_string().contains("no keys") => return Ok(Vec::new()),
            Err(e) => return Err(err(e)),
        };
        let mut out = Vec::new();
        while let Some(k) = keys.next().await {
            let k = k.map_err(err)?;
            if let Some(rest) = k.strip_prefix(&prefix) {
                out.extend(decode(rest));
            }
        }
        out.sort();
        Ok(out)
    }

    async fn lease(
        &self,
        namespace: &str,
        k: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StateError> {
        let lease_key = key(&format!("{namespace}#lease"), k);
        let now = chrono::Utc::now().timestamp_millis();
        let value = serde_json::to_vec(&Lease {
            holder: holder.to_string(),
            expires_at_ms: now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2),
        })
        .map_err(err)?;
        match self.store.entry(&lease_key).await.map_err(err)? {
            // Free (never claimed, or released): whoever creates it first has it.
            None => Ok(self.store.create(&lease_key, value.into()).await.is_ok()),
            Some(entry) if entry.operation != kv::Operation::Put => Ok(self
                .store
                .update(&lease_key, value.into(), entry.revision)
                .await
                .is_ok()),
            Some(entry) => {
                let current: Option<Lease> = serde_json::from_slice(&entry.value).ok();
                let ours_or_expired =
                    current.is_none_or(|l| l.holder == holder || l.expires_at_ms < now);
                // The revision check makes the takeover atomic: of two claimants, one wins.
                Ok(ours_or_expired
                    && self
                        .store
                        .update(&lease_key, value.into(), entry.revision)
                        .await
                        .is_ok())
            }
        }
    }

    async fn release(&self, namespace: &str, k: &str, holder: &str) -> Result<(), StateError> {
        let lease_key = key(&format!("{namespace}#lease"), k);
        if let Some(entry) = self.store.entry(&lease_key).await.map_err(err)? {
            let current: Option<Lease> = serde_json::from_slice(&entry.value).ok();
            if entry.operation == kv::Operation::Put && current.is_some_and(|l| l.holder == holder)
            {
                self.store.delete(&lease_key).await.map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_round_trip() {
        let url = "https://www.alaraby.co.uk/rss?x=1&y=ي";
        assert_eq!(super::decode(&super::encode(url)).as_deref(), Some(url));
        assert!(super::key("src", url)
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '.'));
    }
}
