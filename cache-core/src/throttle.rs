//! [`Throttle`]: the generic cell rate algorithm (GCRA), a rate limit without windows.
//!
//! Each key holds one number, its *theoretical arrival time* (TAT): when the next request would
//! be due if requests came exactly at the sustained rate. A request is allowed when the TAT is
//! no more than the burst tolerance ahead of now; it then moves the TAT one interval on. No
//! window edges, so no client gets twice the limit across a boundary, and one number per key.
//! The same arithmetic runs in process here and on Redis as a Lua script
//! (`store::redis::scripts::THROTTLE`).

use std::time::Duration;

/// The outcome of one request against a GCRA limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Throttle {
    /// Whether the request is within the limit.
    pub allowed: bool,
    /// How many more requests would be allowed right now.
    pub remaining: u64,
    /// When refused: how long until a request would be allowed.
    pub retry_after: Duration,
    /// How long until the limit is fully restored (the whole burst available again).
    pub reset_after: Duration,
}

impl Throttle {
    /// A throttle outcome from its parts, for stores that compute it themselves.
    pub fn new(
        allowed: bool,
        remaining: u64,
        retry_after: Duration,
        reset_after: Duration,
    ) -> Self {
        Self {
            allowed,
            remaining,
            retry_after,
            reset_after,
        }
    }
}

/// One request at `now` (milliseconds) against a stored `tat` (none for a new key): the outcome
/// and, when allowed, the new TAT to store (to expire when it is reached).
pub(crate) fn gcra(
    tat: Option<u64>,
    now: u64,
    interval: u64,
    burst: u64,
) -> (Throttle, Option<u64>) {
    let interval = interval.max(1);
    let tolerance = interval.saturating_mul(burst.max(1) - 1);
    let tat = tat.map_or(now, |t| t.max(now));
    let ahead = tat - now;
    if ahead > tolerance {
        let refused = Throttle::new(
            false,
            0,
            Duration::from_millis(ahead - tolerance),
            Duration::from_millis(ahead),
        );
        return (refused, None);
    }
    let next = tat.saturating_add(interval);
    let used = next - now - interval;
    let allowed = Throttle::new(
        true,
        (tolerance - used) / interval,
        Duration::ZERO,
        Duration::from_millis(next - now),
    );
    (allowed, Some(next))
}

/// Milliseconds between requests at `limit` per `period` (at least 1).
pub(crate) fn interval_ms(limit: u64, period: Duration) -> u64 {
    (u64::try_from(period.as_millis()).unwrap_or(u64::MAX) / limit.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs `n` requests at `now` from `tat`; returns how many were allowed and the final TAT.
    fn burst_at(
        mut tat: Option<u64>,
        now: u64,
        n: u64,
        interval: u64,
        burst: u64,
    ) -> (u64, Option<u64>) {
        let mut allowed = 0;
        for _ in 0..n {
            let (t, next) = gcra(tat, now, interval, burst);
            if t.allowed {
                allowed += 1;
                tat = next;
            }
        }
        (allowed, tat)
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        // 10 per second (100 ms apart), bursts of 3.
        let (allowed, tat) = burst_at(None, 1_000, 10, 100, 3);
        assert_eq!(allowed, 3);
        let (refused, _) = gcra(tat, 1_000, 100, 3);
        assert_eq!(refused.retry_after, Duration::from_millis(100));
        assert!(!refused.allowed);
        // One interval later, exactly one more.
        assert_eq!(burst_at(tat, 1_100, 10, 100, 3).0, 1);
        // Fully rested, the whole burst again.
        assert_eq!(burst_at(tat, 5_000, 10, 100, 3).0, 3);
        let (first, _) = gcra(None, 0, 100, 3);
        assert_eq!(
            (first.remaining, first.reset_after),
            (2, Duration::from_millis(100))
        );
    }

    proptest! {
        #[test]
        fn never_more_than_burst_plus_elapsed_over_interval(
            interval in 1u64..1000, burst in 1u64..20, gaps in proptest::collection::vec(0u64..500, 1..200),
        ) {
            let mut tat = None;
            let mut now = 0;
            let mut allowed = 0u64;
            for gap in gaps {
                now += gap;
                let (t, next) = gcra(tat, now, interval, burst);
                if t.allowed {
                    allowed += 1;
                    tat = next;
                } else {
                    prop_assert!(t.retry_after > Duration::ZERO);
                }
            }
            prop_assert!(allowed <= burst + now / interval);
        }
    }
}
