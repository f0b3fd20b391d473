//! robots.txt for article pages: fetched once per host and kept for a day; `Crawl-delay`
//! slows the host's politeness gate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use texting_robots::Robot;

use crate::http::{FailureKind, FetchError, Fetcher};

const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

/// The product token matched against `User-agent` lines.
pub const ROBOTS_AGENT: &str = "Khabar";

/// A host's rules (`None`: it has no robots.txt) and when they were read.
type Cached = (Instant, Option<Arc<Robot>>);

/// Per-pipeline cache of parsed robots.txt files; get it with `BuildContext::resources`.
#[derive(Default)]
pub struct RobotsCache {
    hosts: Mutex<HashMap<String, Cached>>,
}

impl RobotsCache {
    /// Whether `url` may be fetched. A missing robots.txt (4xx) allows everything; a server
    /// that fails to answer (5xx, network) is asked again later.
    pub async fn allowed(&self, fetcher: &Fetcher, url: &url::Url) -> Result<bool, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Ok(true);
        }
        let key = format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let cached = self.hosts.lock().ok().and_then(|h| {
            h.get(&key)
                .filter(|(at, _)| at.elapsed() < KEEP_FOR)
                .map(|(_, r)| r.clone())
        });
        let robot = match cached {
            Some(robot) => robot,
            None => {
                let robots_url = url
                    .join("/robots.txt")
                    .map_err(|e| FetchError::permanent(format!("{url}: {e}")))?;
                let robot = match fetcher.get(&robots_url, None).await {
                    Ok(Some(fetched)) => Robot::new(ROBOTS_AGENT, &fetched.body).ok().map(Arc::new),
                    Ok(None) => None,
                    Err(e) if e.kind == FailureKind::Transient => return Err(e),
                    Err(_) => None,
                };
                if let Some(delay) = robot.as_ref().and_then(|r| r.delay) {
                    let delay = Duration::from_secs_f32(delay.clamp(0.0, 60.0));
                    let host = format!(
                        "{}:{}",
                        url.host_str().unwrap_or(""),
                        url.port_or_known_default().unwrap_or(0)
                    );
                    fetcher.politeness().slow_down(&host, delay);
                }
                if let Ok(mut hosts) = self.hosts.lock() {
                    hosts.insert(key, (Instant::now(), robot.clone()));
                }
                robot
            }
        };
        Ok(robot.is_none_or(|r| r.allowed(url.as_str())))
    }
}
