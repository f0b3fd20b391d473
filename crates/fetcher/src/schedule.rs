//! When to poll a feed next: adaptive to how often it publishes, never sooner than the
//! server asks, backing off on failure.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A source's scheduling settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The starting interval, and the fixed one when not adaptive.
    pub interval: Duration,
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// Longest wait after repeated failures.
    pub max_backoff: Duration,
    pub adaptive: bool,
}

/// What the schedule remembers of a feed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// Current interval in seconds (adaptive); 0 until the first success.
    #[serde(default)]
    pub interval_secs: f64,
    /// New items per hour, smoothed.
    #[serde(default)]
    pub rate_per_hour: f64,
    #[serde(default)]
    pub consecutive_errors: u32,
}

/// The most a server's freshness hints may stretch an interval.
const MAX_SERVER_FLOOR: Duration = Duration::from_secs(24 * 3600);
/// First wait after a failure; doubles with each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(60);

fn jitter(d: Duration, spread: f64) -> Duration {
    seconds(d.as_secs_f64() * (1.0 - spread + fastrand::f64() * 2.0 * spread))
}

/// Seconds as a duration, for values computed from persisted or observed numbers: NaN and
/// negatives are zero, and anything past a year is a year (`Duration::from_secs_f64` panics
/// on what it cannot hold; a feed's rate decays towards zero over weeks of empty polls, and
/// 3600 / rate grows without bound).
fn seconds(value: f64) -> Duration {
    const YEAR: f64 = 366.0 * 24.0 * 3600.0;
    if value.is_nan() || value <= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(value.min(YEAR))
    }
}

impl Policy {
    /// After a successful poll that found `new_items` in `elapsed` since the previous one
    /// (`None` on a feed's first poll, whose items say nothing of its rate). `floor` is the
    /// server's hint (`<ttl>`, `max-age`, `Expires`).
    pub fn after_success(
        &self,
        state: &mut ScheduleState,
        new_items: usize,
        elapsed: Option<Duration>,
        floor: Option<Duration>,
    ) -> Duration {
        state.consecutive_errors = 0;
        let base = if state.interval_secs > 0.0 {
            seconds(state.interval_secs)
        } else {
            self.interval
        };
        let mut next = if self.adaptive {
            if let Some(elapsed) = elapsed.filter(|e| !e.is_zero()) {
                let observed = new_items as f64 / (elapsed.as_secs_f64() / 3600.0);
                state.rate_per_hour = if state.rate_per_hour > 0.0 {
                    0.3 * observed + 0.7 * state.rate_per_hour
                } else {
                    observed
                };
            }
            if !state.rate_per_hour.is_finite() || state.rate_per_hour < 0.0 {
                state.rate_per_hour = 0.0;
            }
            if state.rate_per_hour > 0.0 && elapsed.is_some() {
                // Aim at about one new item per poll.
                seconds(3600.0 / state.rate_per_hour)
            } else if elapsed.is_some() && new_items == 0 {
                seconds(base.as_secs_f64() * 1.5)
            } else {
                base
            }
        } else {
            self.interval
        };
        next = next.clamp(self.min_interval, self.max_interval.max(self.min_interval));
        state.interval_secs = next.as_secs_f64();
        if let Some(floor) = floor {
            next = next.max(floor.min(MAX_SERVER_FLOOR));
        }
        jitter(next, 0.1)
    }

    /// After a failed poll: exponential backoff with jitter, capped, and never sooner than
    /// the server's `Retry-After`.
    pub fn after_failure(
        &self,
        state: &mut ScheduleState,
        retry_after: Option<Duration>,
    ) -> Duration {
        state.consecutive_errors = state.consecutive_errors.saturating_add(1);
        let exponent = state.consecutive_errors.saturating_sub(1).min(20);
        // The settings are validated, but a schedule must never be the thing that panics.
        let backoff = FIRST_BACKOFF
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let backoff = jitter(backoff, 0.2).min(self.max_backoff);
        match retry_after {
            Some(wait) => backoff.max(wait.min(MAX_SERVER_FLOOR)),
            None => backoff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        interval: Duration::from_secs(600),
        min_interval: Duration::from_secs(120),
        max_interval: Duration::from_secs(6 * 3600),
        max_backoff: Duration::from_secs(12 * 3600),
        adaptive: true,
    };

    fn within(d: Duration, expected: f64, spread: f64) -> bool {
        let s = d.as_secs_f64();
        s >= expected * (1.0 - spread) - 0.001 && s <= expected * (1.0 + spread) + 0.001
    }

    #[test]
    fn busy_feeds_speed_up_and_quiet_ones_slow_down() {
        let mut s = ScheduleState::default();
        assert!(
            within(POLICY.after_success(&mut s, 30, None, None), 600.0, 0.1),
            "first poll keeps the base"
        );
        // 6 new items in 10 minutes: 36/h, so poll every 100 s, clamped to the 120 s minimum.
        assert!(within(
            POLICY.after_success(&mut s, 6, Some(Duration::from_secs(600)), None),
            120.0,
            0.1
        ));
        let mut quiet = ScheduleState::default();
        POLICY.after_success(&mut quiet, 5, None, None);
        let d = POLICY.after_success(&mut quiet, 0, Some(Duration::from_secs(600)), None);
        assert!(within(d, 900.0, 0.1), "{d:?}");
        for _ in 0..20 {
            POLICY.after_success(&mut quiet, 0, Some(Duration::from_secs(3600)), None);
        }
        assert!(within(
            POLICY.after_success(&mut quiet, 0, Some(Duration::from_secs(3600)), None),
            21600.0,
            0.1
        ));
    }

    #[test]
    fn a_feed_that_stays_quiet_for_months_is_still_scheduled() {
        let mut quiet = ScheduleState::default();
        POLICY.after_success(&mut quiet, 3, None, None);
        POLICY.after_success(&mut quiet, 3, Some(Duration::from_secs(600)), None);
        // Years of empty polls: the smoothed rate decays towards zero (and past what an f64
        // interval can hold); every poll must still give a wait within the bounds.
        for _ in 0..5_000 {
            let wait = POLICY.after_success(&mut quiet, 0, Some(Duration::from_secs(21600)), None);
            assert!(wait <= POLICY.max_interval.mul_f64(1.1), "{wait:?}");
        }
        // A corrupted persisted state is read as "unknown", not as a crash.
        for (interval, rate) in [(f64::NAN, f64::NAN), (f64::INFINITY, -1.0), (1e300, 1e-320)] {
            let mut odd = ScheduleState {
                interval_secs: interval,
                rate_per_hour: rate,
                consecutive_errors: u32::MAX,
            };
            let wait = POLICY.after_success(&mut odd, 0, Some(Duration::from_secs(60)), None);
            assert!(wait <= POLICY.max_interval.mul_f64(1.1), "{wait:?}");
            assert!(POLICY.after_failure(&mut odd, Some(Duration::MAX)) <= MAX_SERVER_FLOOR);
        }
    }

    #[test]
    fn server_hints_are_a_floor() {
        let mut s = ScheduleState::default();
        let d = POLICY.after_success(&mut s, 1, None, Some(Duration::from_secs(3600)));
        assert!(within(d, 3600.0, 0.1));
        let fixed = Policy {
            adaptive: false,
            ..POLICY
        };
        assert!(within(
            fixed.after_success(&mut s, 50, Some(Duration::from_secs(60)), None),
            600.0,
            0.1
        ));
    }

    #[test]
    fn failures_back_off_exponentially_with_a_cap_and_honour_retry_after() {
        let mut s = ScheduleState::default();
        assert!(within(POLICY.after_failure(&mut s, None), 60.0, 0.2));
        assert!(within(POLICY.after_failure(&mut s, None), 120.0, 0.2));
        assert!(within(POLICY.after_failure(&mut s, None), 240.0, 0.2));
        for _ in 0..30 {
            POLICY.after_failure(&mut s, None);
        }
        assert!(POLICY.after_failure(&mut s, None) <= POLICY.max_backoff);
        let mut fresh = ScheduleState::default();
        assert_eq!(
            POLICY.after_failure(&mut fresh, Some(Duration::from_secs(7200))),
            Duration::from_secs(7200)
        );
        POLICY.after_success(&mut fresh, 0, None, None);
        assert_eq!(fresh.consecutive_errors, 0);
    }
}
