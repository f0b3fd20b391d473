//! The `webhook` sink: POSTs each batch as a JSON array; optionally signed.
//!
//! Delivery is at least once: a receiver slower than `timeout` may get the same batch again.
//! Every request carries `Idempotency-Key` (also sent as `X-Khabar-Batch-Id`): the same
//! records in the same order always give the same key, and every record carries its stable
//! `id`, so a receiver can drop what it already has. Redirects are not followed: a POST
//! redirected with 301/302/303 becomes a GET without its body, which would report records as
//! delivered that never arrived.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use khabar_core_model::{Article, BuildContext, Sink, SinkConfig, StageError};
use serde::Deserialize;
use sha2::Sha256;

/// `[sinks.<id>] type = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Signs each body with HMAC-SHA256: header `X-Khabar-Signature: sha256=<hex>`.
    #[serde(default)]
    pub secret: Option<String>,
    /// Extra request headers (authorization tokens and the like).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(
        default = "default_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub timeout: Duration,
    #[serde(default)]
    pub include_html: bool,
}

fn default_timeout() -> Duration {
    Duration::from_secs(15)
}

/// The key of a batch: the same records in the same order give the same key.
pub fn batch_id(batch: &[Article]) -> String {
    use sha2::Digest;
    let mut hasher = Sha256::new();
    for article in batch {
        hasher.update(article.id.as_str().as_bytes());
        hasher.update([0u8]);
    }
    khabar_core_model::hex::encode(&hasher.finalize()[..16])
}

/// The most of an error response kept (in logs and the dead-letter file).
const MAX_ERROR_BODY: usize = 4096;

/// Reads at most [`MAX_ERROR_BODY`] bytes of a response: an error page can be any size.
async fn error_excerpt(mut response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY - kept.len();
                kept.extend_from_slice(chunk.get(..room).unwrap_or(&chunk));
            }
            Ok(None) | Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&kept);
    text.chars().take(1000).collect()
}

/// The signature header's value for `body`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", khabar_core_model::hex::encode(&digest))
}

#[async_trait]
impl SinkConfig for WebhookConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match url::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => problems.push(format!(
                "field `url`: scheme {:?} is not http or https",
                u.scheme()
            )),
            Err(e) => problems.push(format!("field `url`: {e}")),
        }
        for name in self.headers.keys() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                problems.push(format!("field `headers`: {name:?} is not a header name"));
            }
        }
        problems
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Khabar/", env!("CARGO_PKG_VERSION"), " webhook"))
            .build()
            .map_err(|e| StageError::config("HTTP client").with_cause(e))?;
        Ok(Box::new(Webhook {
            client,
            config: self.clone(),
        }))
    }
}

struct Webhook {
    client: reqwest::Client,
    config: WebhookConfig,
}

#[async_trait]
impl Sink for Webhook {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        let all = |result: Result<(), StageError>| {
            batch.iter().map(|_| result.clone()).collect::<Vec<_>>()
        };
        let records: Vec<serde_json::Value> = batch
            .iter()
            .map(|a| a.to_json(self.config.include_html))
            .collect();
        let body = match serde_json::to_vec(&records) {
            Ok(b) => b,
            Err(e) => {
                return all(Err(StageError::permanent(format!(
                    "cannot serialize records: {e}"
                ))))
            }
        };
        let mut request = self
            .client
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Khabar-Records", batch.len().to_string());
        let key = batch_id(batch);
        request = request
            .header("Idempotency-Key", key.as_str())
            .header("X-Khabar-Batch-Id", key.as_str());
        for (name, value) in &self.config.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(secret) = &self.config.secret {
            request = request.header("X-Khabar-Signature", signature(secret, &body));
        }
        let url = &self.config.url;
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return all(Err(StageError::transient(format!("{url}: timed out"))))
            }
            Err(e) => return all(Err(StageError::transient(url.to_string()).with_cause(e))),
        };
        let status = response.status();
        if status.is_success() {
            return all(Ok(()));
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere")
                .to_string();
            return all(Err(StageError::permanent(format!(
                "{url}: HTTP {status} redirect to {location}: redirects are not followed (they would turn the POST into a bodyless GET); set `url` to the final address"
            ))));
        }
        let excerpt = error_excerpt(response).await;
        let message = format!("{url}: HTTP {status}: {excerpt}");
        if status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
        {
            all(Err(StageError::transient(message)))
        } else {
            all(Err(StageError::permanent(message)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khabar_core_model::{FeedRef, RecordId};
    use khabar_testkit::{Reply, TestServer};
    use std::sync::{Arc, Mutex};

    fn article(url: &str) -> Article {
        let mut a = Article::new(
            RecordId::from_url(url),
            FeedRef::default(),
            url,
            chrono::Utc::now(),
        );
        a.title = Some("عنوان".into());
        a
    }

    #[tokio::test]
    async fn posts_signed_batches_and_classifies_failures() -> Result<(), StageError> {
        // Each request's body and signature header.
        type Seen = Vec<(Vec<u8>, Option<String>)>;
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let log = Arc::clone(&seen);
        let answers = Arc::new(Mutex::new(vec![200u16, 503, 422]));
        let server = TestServer::start_with_body(move |req, body| {
            log.lock()
                .map(|mut l| {
                    l.push((
                        body.to_vec(),
                        req.header("X-Khabar-Signature").map(str::to_string),
                    ))
                })
                .ok();
            let status = answers
                .lock()
                .ok()
                .and_then(|mut a| (!a.is_empty()).then(|| a.remove(0)))
                .unwrap_or(200);
            let mut reply = Reply::status(status);
            reply.body = br#"{"error": "unknown field"}"#.to_vec();
            reply
        });
        let config: WebhookConfig = serde_json::from_value(
            serde_json::json!({"url": server.url("/hook"), "secret": "s3cret"}),
        )
        .map_err(|e| StageError::config(e.to_string()))?;
        assert!(config.validate().is_empty());
        let mut sink = config
            .build(&BuildContext::standalone("hook", ".".into(), ".".into()))
            .await?;
        let batch = [article("https://x/1"), article("https://x/2")];
        assert!(sink.write(&batch).await.iter().all(Result::is_ok));
        let busy = sink.write(&batch).await;
        assert!(
            busy.iter()
                .all(|r| matches!(r, Err(e) if e.is_transient() && e.to_string().contains("503"))),
            "{busy:?}"
        );
        let refused = sink.write(&batch).await;
        assert!(refused.iter().all(|r| matches!(r, Err(e) if e.is_permanent() && e.to_string().contains("422") && e.to_string().contains("unknown field"))), "{refused:?}");

        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        let (body, signature_header) = &seen[0];
        let records: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        assert_eq!(records.as_array().map(Vec::len), Some(2));
        assert_eq!(records[0]["title"], "عنوان");
        assert_eq!(
            signature_header.as_deref(),
            Some(signature("s3cret", body).as_str())
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_slow_endpoint_is_a_transient_failure() -> Result<(), StageError> {
        let server =
            TestServer::start(|_| Reply::status(200).after(std::time::Duration::from_secs(2)));
        let config: WebhookConfig = serde_json::from_value(
            serde_json::json!({"url": server.url("/hook"), "timeout": "200ms"}),
        )
        .map_err(|e| StageError::config(e.to_string()))?;
        let mut sink = config
            .build(&BuildContext::standalone("hook", ".".into(), ".".into()))
            .await?;
        let results = sink.write(&[article("https://x/1")]).await;
        assert!(
            matches!(&results[0], Err(e) if e.is_transient() && e.to_string().contains("timed out")),
            "{results:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn redirects_are_refused_and_batches_carry_an_idempotency_key() -> Result<(), StageError>
    {
        // (path, idempotency key) of every request that arrives.
        type Requests = Vec<(String, Option<String>)>;
        let seen: Arc<Mutex<Requests>> = Arc::default();
        let log = Arc::clone(&seen);
        let server = TestServer::start(move |req| {
            log.lock()
                .map(|mut l| {
                    l.push((
                        req.path.clone(),
                        req.header("Idempotency-Key").map(str::to_string),
                    ))
                })
                .ok();
            match req.path.as_str() {
                "/moved" => Reply::status(302).with_header("Location", "/elsewhere"),
                // An error page of 8 MB: only a bounded excerpt may be kept.
                "/huge-error" => {
                    let mut reply = Reply::status(400);
                    reply.body = vec![b'x'; 8 << 20];
                    reply
                }
                _ => Reply::status(200),
            }
        });
        let build = |path: &str| {
            serde_json::from_value::<WebhookConfig>(serde_json::json!({"url": server.url(path)}))
                .map_err(|e| StageError::config(e.to_string()))
        };
        let ctx = BuildContext::standalone("hook", ".".into(), ".".into());
        let batch = [article("https://x/1"), article("https://x/2")];

        let mut moved = build("/moved")?.build(&ctx).await?;
        let results = moved.write(&batch).await;
        assert!(
            results.iter().all(
                |r| matches!(r, Err(e) if e.is_permanent() && e.to_string().contains("redirect"))
            ),
            "{results:?}"
        );

        let mut huge = build("/huge-error")?.build(&ctx).await?;
        let results = huge.write(&batch).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(e) if e.to_string().len() < 2000)),
            "the error keeps an excerpt only"
        );

        let mut fine = build("/hook")?.build(&ctx).await?;
        assert!(fine.write(&batch).await.iter().all(Result::is_ok));
        assert!(fine.write(&batch).await.iter().all(Result::is_ok));
        assert!(fine.write(&batch[..1]).await.iter().all(Result::is_ok));

        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(
            !seen.iter().any(|(path, _)| path == "/elsewhere"),
            "the redirect was not followed: {seen:?}"
        );
        let keys: Vec<Option<String>> = seen
            .iter()
            .filter(|(path, _)| path == "/hook")
            .map(|(_, key)| key.clone())
            .collect();
        assert_eq!(keys.len(), 3);
        assert!(keys[0].is_some());
        assert_eq!(
            keys[0], keys[1],
            "the same batch sent again has the same key"
        );
        assert_ne!(keys[0], keys[2], "another batch has another key");
        assert_eq!(keys[0].as_deref(), Some(batch_id(&batch).as_str()));
        Ok(())
    }

    #[test]
    fn signature_is_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
