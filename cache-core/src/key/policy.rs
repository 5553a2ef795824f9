//! [`Policy`]: how long a key type's entries live and how they are refreshed.

use std::time::Duration;

/// The expiry rules of one key type: TTL, jitter, refresh-ahead and negative caching.
///
/// Built with `const` constructors so that a key type can declare it as an associated constant.
///
/// | rule | meaning |
/// |---|---|
/// | [`ttl`](Self::ttl) | entries expire this long after they are written |
/// | [`jitter`](Self::jitter) | each entry's TTL is shortened by a random amount up to this, so that entries written together do not expire together; the declared TTL stays an upper bound |
/// | [`refresh_after`](Self::refresh_after) | a hit on an entry older than this (and still fresh) reloads it once in the background, through [`Cache::get_with_refresh`](crate::Cache::get_with_refresh) |
/// | [`negative_ttl`](Self::negative_ttl) | a loader's "not found" is remembered this long, through [`Cache::optionally_get_with`](crate::Cache::optionally_get_with) |
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cache_core::Policy;
///
/// const OTP: Policy = Policy::ttl(Duration::from_secs(300));
/// const MERCHANT: Policy = Policy::ttl(Duration::from_secs(3600))
///     .jitter(Duration::from_secs(60))
///     .refresh_after(Duration::from_secs(3000))
///     .negative_ttl(Duration::from_secs(30));
/// assert_eq!(OTP.time_to_live(), Some(Duration::from_secs(300)));
/// assert_eq!(MERCHANT.time_to_refresh(), Some(Duration::from_secs(3000)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    ttl: Option<Duration>,
    jitter: Duration,
    refresh_after: Option<Duration>,
    negative_ttl: Option<Duration>,
}

impl Policy {
    /// Entries expire `ttl` after they are written.
    #[must_use]
    pub const fn ttl(ttl: Duration) -> Self {
        Self {
            ttl: Some(ttl),
            jitter: Duration::ZERO,
            refresh_after: None,
            negative_ttl: None,
        }
    }

    /// Entries never expire; they leave the cache only when evicted or invalidated.
    #[must_use]
    pub const fn no_expiry() -> Self {
        Self {
            ttl: None,
            jitter: Duration::ZERO,
            refresh_after: None,
            negative_ttl: None,
        }
    }

    /// Shortens each entry's TTL by a random amount in `[0, jitter]`.
    #[must_use]
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Reloads an entry in the background once it is older than `after`.
    #[must_use]
    pub const fn refresh_after(mut self, after: Duration) -> Self {
        self.refresh_after = Some(after);
        self
    }

    /// Remembers a loader's "not found" for `ttl`.
    ///
    /// The answer is remembered by the in-process tier only: Redis holds values, never a
    /// marker that another service reading the same key (seed 000's Python, say) would take
    /// for one. Each instance of a fleet thus asks its origin at most once per `ttl` for a key
    /// that does not exist.
    #[must_use]
    pub const fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// The declared TTL; `None` for entries that never expire.
    pub const fn time_to_live(&self) -> Option<Duration> {
        self.ttl
    }

    /// The largest amount a TTL is shortened by.
    pub const fn max_jitter(&self) -> Duration {
        self.jitter
    }

    /// The age after which a hit reloads the entry in the background.
    pub const fn time_to_refresh(&self) -> Option<Duration> {
        self.refresh_after
    }

    /// How long a "not found" is remembered; `None` when negative caching is off.
    pub const fn negative_time_to_live(&self) -> Option<Duration> {
        self.negative_ttl
    }

    /// The TTL of one new entry: the declared TTL less a random jitter, at least 1 ms.
    ///
    /// `unit` is a random number in `[0, 1)`; passing it in keeps this function pure.
    pub(crate) fn entry_ttl(&self, unit: f64) -> Option<Duration> {
        let ttl = self.ttl?;
        if self.jitter.is_zero() {
            return Some(ttl);
        }
        let cut = self.jitter.min(ttl).mul_f64(unit.clamp(0.0, 1.0));
        Some(ttl.saturating_sub(cut).max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_jitter_keeps_the_ttl() {
        let p = Policy::ttl(Duration::from_secs(5));
        assert_eq!(p.entry_ttl(0.7), Some(Duration::from_secs(5)));
        assert_eq!(Policy::no_expiry().entry_ttl(0.5), None);
    }

    #[test]
    fn jitter_shortens_by_its_fraction() {
        let p = Policy::ttl(Duration::from_secs(100)).jitter(Duration::from_secs(10));
        assert_eq!(p.entry_ttl(0.0), Some(Duration::from_secs(100)));
        assert_eq!(p.entry_ttl(0.5), Some(Duration::from_secs(95)));
    }

    proptest! {
        #[test]
        fn jittered_ttl_stays_within_bounds(ttl_ms in 1u64..10_000_000, jitter_ms in 0u64..20_000_000, unit in 0.0f64..1.0) {
            let p = Policy::ttl(Duration::from_millis(ttl_ms)).jitter(Duration::from_millis(jitter_ms));
            let got = p.entry_ttl(unit).unwrap();
            prop_assert!(got <= Duration::from_millis(ttl_ms));
            prop_assert!(got >= Duration::from_millis(1));
            prop_assert!(got + Duration::from_millis(jitter_ms) >= Duration::from_millis(ttl_ms));
        }
    }
}
