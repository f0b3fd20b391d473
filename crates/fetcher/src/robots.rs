//! robots.txt for article pages: fetched once per host and kept for a day; `Crawl-delay`
//! slows the host's politeness gate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use texting_robots::Robot;

use crate::http::{FailureKind, FetchError, Fetcher};

const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Hosts whose rules are kept at once. Hosts come from the network (every link of every
/// feed), so the cache is bounded: past this, expired rules go first, then the oldest.
pub const MAX_ROBOTS_HOSTS: usize = 10_000;

/// A `Crawl-delay` as a wait: the value is the server's (NaN, negative, "inf" all parse as
/// numbers), so anything but a finite delay up to a minute is read as at most a minute.
pub fn crawl_delay(seconds: f32) -> Duration {
    if seconds.is_finite() && seconds > 0.0 {
        Duration::from_secs_f32(seconds.min(60.0))
    } else if seconds == f32::INFINITY {
        Duration::from_secs(60)
    } else {
        Duration::ZERO
    }
}

/// Makes room for one more host: drops expired rules, then (still full) the oldest.
fn make_room(hosts: &mut HashMap<String, Cached>) {
    if hosts.len() < MAX_ROBOTS_HOSTS {
        return;
    }
    hosts.retain(|_, (at, _)| at.elapsed() < KEEP_FOR);
    while hosts.len() >= MAX_ROBOTS_HOSTS {
        let oldest = hosts
            .iter()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => {
                hosts.remove(&key);
            }
            None => break,
        }
    }
}

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
                    let delay = crawl_delay(delay);
                    let host = format!(
                        "{}:{}",
                        url.host_str().unwrap_or(""),
                        url.port_or_known_default().unwrap_or(0)
                    );
                    fetcher.politeness().slow_down(&host, delay);
                }
                if let Ok(mut hosts) = self.hosts.lock() {
                    make_room(&mut hosts);
                    hosts.insert(key, (Instant::now(), robot.clone()));
                }
                robot
            }
        };
        Ok(robot.is_none_or(|r| r.allowed(url.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawl_delays_from_servers_never_panic() {
        assert_eq!(crawl_delay(f32::NAN), Duration::ZERO);
        assert_eq!(crawl_delay(-5.0), Duration::ZERO);
        assert_eq!(crawl_delay(f32::INFINITY), Duration::from_secs(60));
        assert_eq!(crawl_delay(1e30), Duration::from_secs(60));
        assert_eq!(crawl_delay(2.5), Duration::from_millis(2500));
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound() {
        let mut hosts: HashMap<String, Cached> = HashMap::new();
        for i in 0..MAX_ROBOTS_HOSTS + 50 {
            make_room(&mut hosts);
            hosts.insert(format!("https://h{i}:443"), (Instant::now(), None));
        }
        assert_eq!(hosts.len(), MAX_ROBOTS_HOSTS);
        assert!(hosts.contains_key(&format!("https://h{}:443", MAX_ROBOTS_HOSTS + 49)));
        assert!(
            !hosts.contains_key("https://h0:443"),
            "the oldest went first"
        );
    }
}
