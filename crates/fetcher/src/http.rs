//! One HTTP (and file) client for feeds and pages: timeouts, a body cap enforced while
//! streaming (after decompression), conditional GET.

use std::time::Duration;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::address::{is_private, PublicOnlyResolver, PRIVATE_ADDRESS_REFUSED};
use crate::politeness::Politeness;

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
    /// Refuse hosts that are (or resolve to) private, loopback or link-local addresses, also
    /// after a redirect. On by default: a feed must not be able to reach the local network.
    #[serde(default = "default_true")]
    pub refuse_private_addresses: bool,
    /// Requests to one host at the same time (shared by every fetching stage).
    #[serde(default = "default_per_host_concurrency")]
    pub per_host_concurrency: usize,
    /// Least time between two requests to one host.
    #[serde(
        default = "default_per_host_interval",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub per_host_interval: Duration,
    /// Requests in flight at once, all hosts together.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_true() -> bool {
    true
}
fn default_per_host_concurrency() -> usize {
    2
}
fn default_per_host_interval() -> Duration {
    Duration::from_millis(500)
}
fn default_max_connections() -> usize {
    64
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
            refuse_private_addresses: true,
            per_host_concurrency: default_per_host_concurrency(),
            per_host_interval: default_per_host_interval(),
            max_connections: default_max_connections(),
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
        if self.max_body_size > 1 << 30 {
            out.push(format!(
                "field `http.max_body_size`: {} bytes is over the 1 GiB allowed",
                self.max_body_size
            ));
        }
        if self.timeout.is_zero() {
            out.push("field `http.timeout`: must be more than zero".to_string());
        }
        let hour = Duration::from_secs(3600);
        for (field, value) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("per_host_interval", self.per_host_interval),
        ] {
            if value > hour {
                out.push(format!(
                    "field `http.{field}`: {value:?} is longer than the 1h allowed"
                ));
            }
        }
        // Semaphores and pools panic or exhaust memory far below 2^62 permits.
        for (field, value, max) in [
            ("per_host_concurrency", self.per_host_concurrency, 1_000),
            ("max_connections", self.max_connections, 100_000),
            ("max_redirects", self.max_redirects.max(1), 30),
        ] {
            if value == 0 || value > max {
                out.push(format!(
                    "field `http.{field}`: {value} is out of range (1 to {max})"
                ));
            }
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
    /// Set when every redirect on the way was permanent (301, 308): the new address.
    pub moved_permanently_to: Option<String>,
    /// How long the server says the document stays fresh (`Cache-Control: max-age`,
    /// `Expires`): polling sooner is pointless.
    pub fresh_for: Option<Duration>,
}

/// Why a fetch failed, which decides what happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Try again later: network trouble, 5xx, 429, timeouts.
    Transient,
    /// Trying again will not help: 404, a body over the cap, a refused address.
    Permanent,
    /// 410: the resource is gone for good.
    Gone,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct FetchError {
    pub kind: FailureKind,
    pub message: String,
    /// The server's `Retry-After`, when it gave one.
    pub retry_after: Option<Duration>,
}

impl FetchError {
    pub fn transient(message: impl Into<String>) -> FetchError {
        FetchError {
            kind: FailureKind::Transient,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> FetchError {
        FetchError {
            kind: FailureKind::Permanent,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<FetchError> for khabar_core_model::StageError {
    fn from(e: FetchError) -> Self {
        let kind = match e.kind {
            FailureKind::Transient => khabar_core_model::ErrorKind::Transient,
            FailureKind::Permanent | FailureKind::Gone => khabar_core_model::ErrorKind::Permanent,
        };
        khabar_core_model::StageError::new(kind, e.message)
    }
}

/// `Retry-After`: seconds or an HTTP date.
///
/// Capped at [`MAX_RETRY_AFTER`]: the value comes from a server we do not control, and a wait
/// of 10^13 seconds would overflow date arithmetic (and silence the feed for good). A date in
/// the past means "now".
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // Digits beyond u64 are still "very long", not "unreadable".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = khabar_text::parse_date(value)?;
        (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The longest a server's `Retry-After` is honoured for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Freshness from `Cache-Control: max-age` (or `s-maxage`), else `Expires`.
fn freshness(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = |name: reqwest::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(cc) = text(reqwest::header::CACHE_CONTROL) {
        let lower = cc.to_ascii_lowercase();
        if lower.contains("no-cache") || lower.contains("no-store") {
            return None;
        }
        for directive in lower.split(',') {
            let directive = directive.trim();
            let value = directive
                .strip_prefix("s-maxage=")
                .or_else(|| directive.strip_prefix("max-age="));
            if let Some(seconds) = value.and_then(|v| v.trim_matches('"').parse::<u64>().ok()) {
                return Some(Duration::from_secs(seconds));
            }
        }
    }
    let expires = khabar_text::parse_date(text(reqwest::header::EXPIRES)?)?;
    let now = text(reqwest::header::DATE)
        .and_then(khabar_text::parse_date)
        .unwrap_or_else(chrono::Utc::now);
    (expires - now).to_std().ok()
}

/// Fetches `http(s)://` and `file://` URLs, politely.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: HttpOptions,
    politeness: Arc<Politeness>,
    /// The stage fetching, for the fetch metrics' `component_id`.
    stage: Arc<str>,
}

/// What one HTTP fetch met on its last hop, for its metrics.
#[derive(Default)]
struct Trace {
    remote: Option<std::net::SocketAddr>,
    status: Option<u16>,
    bytes: usize,
}

impl Fetcher {
    /// A fetcher sharing `politeness` with the pipeline's other fetching stages.
    pub fn new(
        options: HttpOptions,
        politeness: Arc<Politeness>,
    ) -> Result<Fetcher, crate::error::SetupError> {
        use crate::error::SetupError;
        let mut builder = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .pool_max_idle_per_host(options.per_host_concurrency.max(1))
            // Redirects are followed by hand: each hop is checked against the address policy,
            // and permanent moves are reported to the feed's state.
            .redirect(reqwest::redirect::Policy::none());
        if options.refuse_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|source| SetupError::Proxy {
                proxy: proxy.clone(),
                source,
            })?;
            builder = builder.proxy(proxy);
        }
        let client = builder.build().map_err(SetupError::Client)?;
        politeness.declare(
            options.max_connections,
            options.per_host_concurrency,
            options.per_host_interval,
        );
        Ok(Fetcher {
            client,
            options,
            politeness,
            stage: Arc::from(""),
        })
    }

    /// The same fetcher, counting its fetches under stage `id` in the metrics.
    pub fn for_stage(mut self, id: &str) -> Fetcher {
        self.stage = Arc::from(id);
        self
    }

    pub fn politeness(&self) -> &Arc<Politeness> {
        &self.politeness
    }

    pub fn user_agent(&self) -> &str {
        &self.options.user_agent
    }

    /// GETs a URL that came from fetched content (an item's link, a page's feed link, a
    /// sitemap's child, a redirect): only `http(s)`, through the private-address policy. With
    /// `validators`, asks only for a changed document: `Ok(None)` means "not modified".
    pub async fn get(
        &self,
        url: &url::Url,
        validators: Option<&Validators>,
    ) -> Result<Option<Fetched>, FetchError> {
        match url.scheme() {
            "http" | "https" => {
                let started = std::time::Instant::now();
                let mut trace = Trace::default();
                let result = self.get_http(url, validators, &mut trace).await;
                self.count(started, &trace, &result);
                result
            }
            other => Err(FetchError::permanent(format!(
                "{url}: scheme {other:?} refused: a link found in fetched content may only be http or https"
            ))),
        }
    }

    /// GETs a URL the operator wrote (in the config, an OPML file, on the command line):
    /// `file:` too. Nothing derived from fetched content may come here.
    pub async fn get_configured(
        &self,
        url: &url::Url,
        validators: Option<&Validators>,
    ) -> Result<Option<Fetched>, FetchError> {
        match url.scheme() {
            "file" => self.read_file(url).await.map(Some),
            _ => self.get(url, validators).await,
        }
    }

    /// Reads a local file: regular files only (a device such as `/dev/zero` never ends), and
    /// never more than `max_body_size`, whatever size the file claims.
    pub async fn read_file(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        use tokio::io::AsyncReadExt;
        let path = url
            .to_file_path()
            .map_err(|_| FetchError::permanent(format!("{url}: not a usable file path")))?;
        let at = |e: std::io::Error| FetchError::permanent(format!("{}: {e}", path.display()));
        let file = tokio::fs::File::open(&path).await.map_err(at)?;
        let meta = file.metadata().await.map_err(at)?;
        if !meta.is_file() {
            return Err(FetchError::permanent(format!(
                "{}: not a regular file",
                path.display()
            )));
        }
        let limit = self.options.max_body_size;
        let mut body = Vec::new();
        file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut body)
            .await
            .map_err(at)?;
        if body.len() > limit {
            return Err(FetchError::permanent(format!(
                "{}: over the {limit}-byte limit",
                path.display()
            )));
        }
        Ok(Fetched {
            final_url: url.to_string(),
            status: 200,
            content_type: None,
            body,
            validators: Validators::default(),
            moved_permanently_to: None,
            fresh_for: None,
        })
    }

    /// Refuses private, loopback and link-local targets (unless allowed). Without a proxy the
    /// resolver enforces it at connect time (so DNS rebinding cannot slip past); with a proxy
    /// the proxy resolves names, so they are resolved and checked here first.
    async fn check_address(&self, url: &url::Url) -> Result<(), FetchError> {
        if !self.options.refuse_private_addresses {
            return Ok(());
        }
        let refuse = |ip: std::net::IpAddr| {
            FetchError::permanent(format!(
                "{url}: {ip} is a private, loopback or link-local address, {PRIVATE_ADDRESS_REFUSED}"
            ))
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) if is_private(ip.into()) => Err(refuse(ip.into())),
            Some(url::Host::Ipv6(ip)) if is_private(ip.into()) => Err(refuse(ip.into())),
            Some(url::Host::Domain(host)) if self.options.proxy.is_some() => {
                let port = url.port_or_known_default().unwrap_or(80);
                let addresses = tokio::net::lookup_host((host, port)).await.map_err(|e| {
                    FetchError::transient(format!("{url}: cannot resolve {host}: {e}"))
                })?;
                for address in addresses {
                    if is_private(address.ip()) {
                        return Err(refuse(address.ip()));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Adds one fetch to the fetch metrics.
    fn count(
        &self,
        started: std::time::Instant,
        trace: &Trace,
        result: &Result<Option<Fetched>, FetchError>,
    ) {
        use crate::metrics::{host_class, FETCH_BYTES, FETCH_SECONDS};
        let class = host_class(trace.remote, self.options.proxy.is_some());
        let outcome = match (result, trace.status) {
            (Ok(Some(_)), _) => "ok",
            (Ok(None), _) => "not_modified",
            (Err(_), Some(400..=499)) => "http_4xx",
            (Err(_), Some(500..=599)) => "http_5xx",
            (Err(_), _) => "error",
        };
        let stage = self.stage.to_string();
        metrics::histogram!(FETCH_SECONDS, "component_id" => stage.clone(), "host_class" => class, "result" => outcome)
            .record(started.elapsed().as_secs_f64());
        if trace.bytes > 0 {
            metrics::counter!(FETCH_BYTES, "component_id" => stage, "host_class" => class)
                .increment(u64::try_from(trace.bytes).unwrap_or(u64::MAX));
        }
    }

    async fn get_http(
        &self,
        url: &url::Url,
        validators: Option<&Validators>,
        trace: &mut Trace,
    ) -> Result<Option<Fetched>, FetchError> {
        let mut current = url.clone();
        let mut all_permanent = true;
        let mut hops = 0;
        let mut response = loop {
            self.check_address(&current).await?;
            let host_key = format!(
                "{}:{}",
                current.host_str().unwrap_or(""),
                current.port_or_known_default().unwrap_or(0)
            );
            let _permit = self
                .politeness
                .acquire(&host_key)
                .await
                .ok_or_else(|| FetchError::transient("fetcher shutting down"))?;
            let mut request = self.client.get(current.clone());
            if let Some(v) = validators {
                if let Some(etag) = &v.etag {
                    request = request.header(reqwest::header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &v.last_modified {
                    request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
                }
            }
            let response = request
                .send()
                .await
                .map_err(|e| FetchError::transient(format!("{current}: {}", describe(&e))))?;
            let status = response.status();
            trace.remote = response.remote_addr();
            trace.status = Some(status.as_u16());
            if !status.is_redirection() || status == reqwest::StatusCode::NOT_MODIFIED {
                break response;
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::permanent(format!("{current}: HTTP {status} without a Location"))
                })?;
            let next = current.join(location).map_err(|e| {
                FetchError::permanent(format!(
                    "{current}: bad redirect Location {location:?}: {e}"
                ))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::permanent(format!(
                    "{current}: redirect to unsupported scheme {next}"
                )));
            }
            hops += 1;
            if hops > self.options.max_redirects {
                return Err(FetchError::permanent(format!(
                    "{url}: more than {} redirects",
                    self.options.max_redirects
                )));
            }
            all_permanent &= matches!(status.as_u16(), 301 | 308);
            current = next;
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let message = format!("{current}: HTTP {status}");
            let kind = if status == reqwest::StatusCode::GONE {
                FailureKind::Gone
            } else if status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT
            {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            };
            return Err(FetchError {
                kind,
                message,
                retry_after,
            });
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
        let fresh_for = freshness(response.headers());
        let limit = self.options.max_body_size;
        if let Some(len) = response.content_length() {
            if len as usize > limit {
                return Err(FetchError::permanent(format!(
                    "{current}: body of {len} bytes is over the {limit}-byte limit"
                )));
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            FetchError::transient(format!("{current}: reading body: {}", describe(&e)))
        })? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::permanent(format!(
                    "{current}: body is over the {limit}-byte limit (after decompression)"
                )));
            }
            body.extend_from_slice(&chunk);
            trace.bytes = body.len();
        }
        Ok(Some(Fetched {
            final_url: current.to_string(),
            status: status.as_u16(),
            content_type,
            body,
            validators,
            moved_permanently_to: (hops > 0 && all_permanent).then(|| current.to_string()),
            fresh_for,
        }))
    }
}

/// reqwest's Display hides the cause (refused, timed out); the chain says it. The URL is left
/// out: the caller names it once.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else {
        let text = error.to_string();
        match error.url() {
            Some(url) => text.replace(&format!(" for url ({url})"), ""),
            None => text,
        }
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
