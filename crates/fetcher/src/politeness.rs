//! Per-host and global request limits, shared by every fetching stage of a pipeline (feed
//! polls and article fetches reach the same servers).
//!
//! Each stage declares its limits when it is built; the most polite wins: the smallest
//! concurrency, the longest interval between requests to one host. A host's robots.txt
//! `Crawl-delay` lengthens its interval further.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Past this many hosts, idle ones are forgotten (see [`Politeness::gate`]).
pub const MAX_IDLE_HOSTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Limits {
    global: usize,
    per_host: usize,
    interval: Duration,
}

/// One pipeline's politeness state; get it with `BuildContext::resources`.
pub struct Politeness {
    limits: Mutex<Option<Limits>>,
    global: OnceLock<Arc<Semaphore>>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            limits: Mutex::new(None),
            global: OnceLock::new(),
            hosts: Mutex::new(HashMap::new()),
        }
    }
}

struct HostGate {
    permits: Arc<Semaphore>,
    schedule: Mutex<(Instant, Duration)>,
}

/// Held while a request runs; dropping it frees the host's and the global slot.
pub struct Permit {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Politeness {
    /// A stage's limits; the most polite of all declared ones apply.
    pub fn declare(&self, global: usize, per_host: usize, interval: Duration) {
        let mut limits = lock(&self.limits);
        *limits = Some(match *limits {
            None => Limits {
                global,
                per_host,
                interval,
            },
            Some(l) => Limits {
                global: l.global.min(global),
                per_host: l.per_host.min(per_host),
                interval: l.interval.max(interval),
            },
        });
    }

    fn limits(&self) -> Limits {
        lock(&self.limits).unwrap_or(Limits {
            global: 64,
            per_host: 2,
            interval: Duration::from_millis(500),
        })
    }

    fn gate(&self, host: &str) -> Arc<HostGate> {
        let limits = self.limits();
        let mut hosts = lock(&self.hosts);
        if hosts.len() >= MAX_IDLE_HOSTS && !hosts.contains_key(host) {
            // Hosts come from the network: forget the ones nobody is using and whose next
            // turn has passed (they start afresh, which is no less polite).
            let now = Instant::now();
            hosts.retain(|_, gate| Arc::strong_count(gate) > 1 || lock(&gate.schedule).0 > now);
        }
        Arc::clone(hosts.entry(host.to_string()).or_insert_with(|| {
            Arc::new(HostGate {
                permits: Arc::new(Semaphore::new(limits.per_host.max(1))),
                schedule: Mutex::new((Instant::now(), limits.interval)),
            })
        }))
    }

    /// Lengthens a host's interval (robots.txt `Crawl-delay`); never shortens it.
    pub fn slow_down(&self, host: &str, interval: Duration) {
        let gate = self.gate(host);
        let mut schedule = lock(&gate.schedule);
        schedule.1 = schedule.1.max(interval);
    }

    /// Waits for a free slot for `host` (key: host and port) and for its next turn.
    pub async fn acquire(&self, host: &str) -> Option<Permit> {
        let global = Arc::clone(
            self.global
                .get_or_init(|| Arc::new(Semaphore::new(self.limits().global.max(1)))),
        );
        let gate = self.gate(host);
        let host_permit = Arc::clone(&gate.permits).acquire_owned().await.ok()?;
        let wait = {
            let mut schedule = lock(&gate.schedule);
            let now = Instant::now();
            let start = schedule.0.max(now);
            schedule.0 = start.checked_add(schedule.1).unwrap_or(start);
            start.saturating_duration_since(now)
        };
        tokio::time::sleep(wait).await;
        let global_permit = global.acquire_owned().await.ok()?;
        Some(Permit {
            _host: host_permit,
            _global: global_permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_hosts_are_forgotten_past_the_bound() {
        let p = Politeness::default();
        p.declare(10, 1, Duration::from_millis(10));
        for i in 0..MAX_IDLE_HOSTS + 100 {
            drop(p.acquire(&format!("h{i}:80")).await);
            tokio::time::advance(Duration::from_millis(20)).await;
        }
        assert!(lock(&p.hosts).len() <= MAX_IDLE_HOSTS);
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_to_one_host_and_caps_concurrency() {
        let p = Arc::new(Politeness::default());
        p.declare(10, 1, Duration::from_secs(1));
        p.declare(10, 2, Duration::from_millis(100));
        let start = Instant::now();
        let a = p.acquire("a:80").await;
        assert!(a.is_some());
        // The second request to the same host waits for the first to finish (concurrency 1)
        // and for its turn (interval 1 s, the more polite of the two declarations).
        let p2 = Arc::clone(&p);
        let waiter = tokio::spawn(async move { p2.acquire("a:80").await.map(|_| Instant::now()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(a);
        let second = waiter.await.ok().flatten();
        assert!(second.is_some_and(|t| t - start >= Duration::from_secs(1)));
        // Another host is not held up.
        let before = Instant::now();
        assert!(p.acquire("b:80").await.is_some());
        assert!(Instant::now() - before < Duration::from_millis(10));
    }
}
