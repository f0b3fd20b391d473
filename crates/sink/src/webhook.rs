//! The `webhook` sink: POSTs each batch as a JSON array; optionally signed.

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
            .user_agent(concat!("Khabar/", env!("CARGO_PKG_VERSION"), " webhook"))
            .build()
            .map_err(|e| StageError::config(format!("HTTP client: {e}")))?;
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
            Err(e) => return all(Err(StageError::transient(format!("{url}: {e}")))),
        };
        let status = response.status();
        if status.is_success() {
            return all(Ok(()));
        }
        let text = response.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(1000).collect();
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

    #[test]
    fn signature_is_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
