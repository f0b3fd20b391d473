//! One HTTP (and file) client for feeds and pages: timeouts, a body cap enforced while
//! streaming (after decompression), conditional GET.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `http = { ... }` in a `feed` or `fetch_article` stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpOptions {
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub connect_timeout: Duration,
    /// Whole request, body included.
    #[serde(
        default = "default_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub timeout: Duration,
    /// Largest body accepted, after decompression.
    #[serde(default = "default_max_body_size")]
    pub max_body_size: usize,
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// `http://host:port` proxy for all requests.
    #[serde(default)]
    pub proxy: Option<String>,
}

fn default_user_agent() -> String {
    format!(
        "Khabar/{} (+https://crates.io/crates/khabar; news feed reader)",
        env!("CARGO_PKG_VERSION")
    )
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_max_body_size() -> usize {
    16 * 1024 * 1024
}
fn default_max_redirects() -> usize {
    5
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            user_agent: default_user_agent(),
            connect_timeout: default_connect_timeout(),
            timeout: default_timeout(),
            max_body_size: default_max_body_size(),
            max_redirects: default_max_redirects(),
            proxy: None,
        }
    }
}

impl HttpOptions {
    /// Pure checks, for `validate()`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_body_size < 1024 {
            out.push(format!(
                "field `http.max_body_size`: {} bytes is too small (at least 1024)",
                self.max_body_size
            ));
        }
        if self.timeout.is_zero() {
            out.push("field `http.timeout`: must be more than zero".to_string());
        }
        if let Some(proxy) = &self.proxy {
            if url::Url::parse(proxy).is_err() {
                out.push(format!("field `http.proxy`: {proxy:?} is not a URL"));
            }
        }
        out
    }
}

/// What a server said about a document's version, for the next conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// A document as fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it ended up after redirects.
    pub final_url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub validators: Validators,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FetchError {
    /// Try again later: network trouble, 5xx, 429, timeouts.
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help: 404, 410, a body over the cap, a missing file.
    #[error("{0}")]
    Permanent(String),
}

impl From<FetchError> for khabar_core_model::StageError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Transient(m) => khabar_core_model::StageError::Transient(m),
            FetchError::Permanent(m) => khabar_core_model::StageError::Permanent(m),
        }
    }
}

/// Fetches `http(s)://` and `file://` URLs.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: HttpOptions,
}

impl Fetcher {
    pub fn new(options: HttpOptions) -> Result<Fetcher, String> {
        let mut builder = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::limited(options.max_redirects));
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|e| format!("proxy {proxy:?}: {e}"))?;
            builder = builder.proxy(proxy);
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Fetcher { client, options })
    }

    /// GETs `url`. With `validators`, asks only for a changed document: `Ok(None)` means
    /// "not modified".
    pub async fn get(
        &self,
        url: &url::Url,
        validators: Option<&Validators>,
    ) -> Result<Option<Fetched>, FetchError> {
        match url.scheme() {
            "file" => self.read_file(url).await.map(Some),
            "http" | "https" => self.get_http(url, validators).await,
            other => Err(FetchError::Permanent(format!(
                "{url}: unsupported scheme {other:?}"
            ))),
        }
    }

    async fn read_file(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        let path = url
            .to_file_path()
            .map_err(|_| FetchError::Permanent(format!("{url}: not a usable file path")))?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| FetchError::Permanent(format!("{}: {e}", path.display())))?;
        if meta.len() as usize > self.options.max_body_size {
            return Err(FetchError::Permanent(format!(
                "{}: {} bytes is over the {}-byte limit",
                path.display(),
                meta.len(),
                self.options.max_body_size
            )));
        }
        let body = tokio::fs::read(&path)
            .await
            .map_err(|e| FetchError::Permanent(format!("{}: {e}", path.display())))?;
        Ok(Fetched {
            final_url: url.to_string(),
            status: 200,
            content_type: None,
            body,
            validators: Validators::default(),
        })
    }

    async fn get_http(
        &self,
        url: &url::Url,
        validators: Option<&Validators>,
    ) -> Result<Option<Fetched>, FetchError> {
        let mut request = self.client.get(url.clone());
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| FetchError::Transient(format!("{url}: {}", describe(&e))))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !status.is_success() {
            let message = format!("{url}: HTTP {status}");
            return Err(
                if status.is_server_error()
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                {
                    FetchError::Transient(message)
                } else {
                    FetchError::Permanent(message)
                },
            );
        }
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let final_url = response.url().to_string();
        let limit = self.options.max_body_size;
        if let Some(len) = response.content_length() {
            if len as usize > limit {
                return Err(FetchError::Permanent(format!(
                    "{url}: body of {len} bytes is over the {limit}-byte limit"
                )));
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Transient(format!("{url}: reading body: {}", describe(&e))))?
        {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::Permanent(format!(
                    "{url}: body is over the {limit}-byte limit (after decompression)"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(Fetched {
            final_url,
            status: status.as_u16(),
            content_type,
            body,
            validators,
        }))
    }
}

/// reqwest's Display hides the cause (refused, timed out); the chain says it.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
