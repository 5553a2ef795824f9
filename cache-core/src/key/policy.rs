//! [`Policy`]: how long a key type's entries live and how they are refreshed.

use std::time::Duration;

/// The expiry rules of one key type: TTL, jitter, refresh-ahead and negative caching.
///
/// Built in a `const` with [`Policy::builder`], so that a key type can declare it as an
/// associated constant; each setter of the [`PolicyBuilder`] has a getter of the same name
/// here.
///
/// | rule | meaning |
/// |---|---|
/// | [`time_to_live`](Self::time_to_live) | entries expire this long after they are written; none: never |
/// | [`jitter`](Self::jitter) | each entry's TTL is shortened by a random amount up to this, so that entries written together do not expire together; the declared TTL stays an upper bound |
/// | [`refresh_after`](Self::refresh_after) | a hit on an entry older than this (and still fresh) reloads it once in the background, through [`Cache::get_with_refresh`](crate::Cache::get_with_refresh) |
/// | [`negative_time_to_live`](Self::negative_time_to_live) | a loader's "not found" is remembered this long, in process only, through [`Cache::optionally_get_with`](crate::Cache::optionally_get_with) |
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cache_core::Policy;
///
/// const OTP: Policy = Policy::builder().time_to_live(Duration::from_secs(300)).build();
/// const MERCHANT: Policy = Policy::builder()
///     .time_to_live(Duration::from_secs(3600))
///     .jitter(Duration::from_secs(60))
///     .refresh_after(Duration::from_secs(3000))
///     .negative_time_to_live(Duration::from_secs(30))
///     .build();
/// assert_eq!(OTP.time_to_live(), Some(Duration::from_secs(300)));
/// assert_eq!(MERCHANT.refresh_after(), Some(Duration::from_secs(3000)));
/// assert_eq!(Policy::builder().build().time_to_live(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    ttl: Option<Duration>,
    jitter: Duration,
    refresh_after: Option<Duration>,
    negative_ttl: Option<Duration>,
}

/// Builds a [`Policy`] in a `const`; start from [`Policy::builder`]. Without
/// [`time_to_live`](Self::time_to_live), entries never expire: they leave the cache only when
/// evicted or invalidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Entries expire `ttl` after they are written.
    pub const fn time_to_live(mut self, ttl: Duration) -> Self {
        self.policy.ttl = Some(ttl);
        self
    }

    /// Shortens each entry's TTL by a random amount in `[0, jitter]`.
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// Reloads an entry in the background once it is older than `after`.
    pub const fn refresh_after(mut self, after: Duration) -> Self {
        self.policy.refresh_after = Some(after);
        self
    }

    /// Remembers a loader's "not found" for `ttl`.
    ///
    /// The answer is remembered by the in-process tier only: a far tier holds values, never a
    /// marker that another service reading the same key would take for one. Each instance of
    /// a fleet thus asks its origin at most once per `ttl` for a key that does not exist.
    pub const fn negative_time_to_live(mut self, ttl: Duration) -> Self {
        self.policy.negative_ttl = Some(ttl);
        self
    }

    /// The policy.
    pub const fn build(self) -> Policy {
        self.policy
    }
}

impl Policy {
    /// Starts a policy whose entries never expire, until told otherwise.
    pub const fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Self {
                ttl: None,
                jitter: Duration::ZERO,
                refresh_after: None,
                negative_ttl: None,
            },
        }
    }

    /// How long entries live; `None` when they never expire.
    pub const fn time_to_live(&self) -> Option<Duration> {
        self.ttl
    }

    /// The largest amount an entry's TTL is shortened by.
    pub const fn jitter(&self) -> Duration {
        self.jitter
    }

    /// The age after which a hit reloads the entry in the background.
    pub const fn refresh_after(&self) -> Option<Duration> {
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
        let p = Policy::builder()
            .time_to_live(Duration::from_secs(5))
            .build();
        assert_eq!(p.entry_ttl(0.7), Some(Duration::from_secs(5)));
        assert_eq!(Policy::builder().build().entry_ttl(0.5), None);
    }

    #[test]
    fn jitter_shortens_by_its_fraction() {
        let p = Policy::builder()
            .time_to_live(Duration::from_secs(100))
            .jitter(Duration::from_secs(10))
            .build();
        assert_eq!(p.entry_ttl(0.0), Some(Duration::from_secs(100)));
        assert_eq!(p.entry_ttl(0.5), Some(Duration::from_secs(95)));
    }

    proptest! {
        #[test]
        fn jittered_ttl_stays_within_bounds(ttl_ms in 1u64..10_000_000, jitter_ms in 0u64..20_000_000, unit in 0.0f64..1.0) {
            let p = Policy::builder().time_to_live(Duration::from_millis(ttl_ms)).jitter(Duration::from_millis(jitter_ms)).build();
            let got = p.entry_ttl(unit).unwrap();
            prop_assert!(got <= Duration::from_millis(ttl_ms));
            prop_assert!(got >= Duration::from_millis(1));
            prop_assert!(got + Duration::from_millis(jitter_ms) >= Duration::from_millis(ttl_ms));
        }
    }
}
