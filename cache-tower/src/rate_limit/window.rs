//! The fixed window: which window a moment falls in, and the headers that describe it.

use std::time::Duration;

use cache_core::codec::Text;
use cache_core::{CacheKey, KeyWriter, Policy};

/// The counter of one client in one window: `rate_limit:v1:<scope>:<client>:<window>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct WindowKey {
    pub(crate) scope: String,
    pub(crate) client: String,
    pub(crate) window: u64,
}

impl CacheKey for WindowKey {
    type Value = i64;
    type Codec = Text;
    const NAMESPACE: &'static str = "rate_limit";
    // Every counter is created with its window as TTL (`increment_within`); this is unused.
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();

    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.scope);
        key.segment_str(&self.client);
        key.segment(self.window);
    }
}

/// The GCRA state of one client: `rate_limit:v1:<scope>:<client>:gcra`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BucketKey {
    pub(crate) scope: String,
    pub(crate) client: String,
}

impl CacheKey for BucketKey {
    type Value = i64;
    type Codec = Text;
    const NAMESPACE: &'static str = "rate_limit";
    // The store expires each bucket when its limit is fully restored; this is unused.
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();

    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.scope);
        key.segment_str(&self.client);
        key.segment_str("gcra");
    }
}

/// Where `now_ms` (milliseconds since the epoch) falls for windows of `window_ms`: the
/// window's number and the milliseconds left in it (at least 1).
pub(crate) fn locate(now_ms: u64, window_ms: u64) -> (u64, u64) {
    let window_ms = window_ms.max(1);
    let index = now_ms / window_ms;
    let left = (index + 1) * window_ms - now_ms;
    (index, left.max(1))
}

/// The decision for a request that made the window's count `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    pub(crate) limit: u64,
    pub(crate) remaining: u64,
    /// Whole seconds until the window resets (or the bucket is full again), rounded up.
    pub(crate) reset: u64,
    /// Whole seconds until a refused client may retry, rounded up.
    pub(crate) retry: u64,
}

impl Decision {
    /// The decision a GCRA outcome makes.
    pub(crate) fn from_throttle(t: &cache_core::Throttle, limit: u64) -> Self {
        let secs = |d: Duration| u64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
        Self {
            allowed: t.allowed,
            limit,
            remaining: t.remaining,
            reset: secs(t.reset_after),
            retry: secs(t.retry_after).max(1),
        }
    }
}

/// Decides a request that brought its window's count to `count` of `limit`, `left_ms` before
/// the window ends.
pub(crate) fn decide(count: i64, limit: u64, left_ms: u64) -> Decision {
    let count = u64::try_from(count).unwrap_or(0);
    Decision {
        allowed: count <= limit,
        limit,
        remaining: limit.saturating_sub(count),
        reset: left_ms.div_ceil(1000),
        retry: left_ms.div_ceil(1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn windows_and_decisions() {
        assert_eq!(locate(125_000, 60_000), (2, 55_000));
        assert_eq!(locate(120_000, 60_000), (2, 60_000));
        let d = decide(3, 3, 1_500);
        assert_eq!((d.allowed, d.remaining, d.reset), (true, 0, 2));
        assert!(!decide(4, 3, 1_500).allowed);
    }

    proptest! {
        #[test]
        fn a_moment_is_inside_its_window(now in 0u64..u64::MAX / 4, window in 1u64..10_000_000) {
            let (index, left) = locate(now, window);
            prop_assert!(index * window <= now);
            prop_assert!(left >= 1 && left <= window);
            prop_assert_eq!(now + left, (index + 1) * window);
        }
    }
}
