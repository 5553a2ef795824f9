//! The keys a limiter counts under, and the decision a count makes.

use std::time::Duration;

use cache_core::codec::Text;
use cache_core::{CacheKey, KeyWriter, Policy, Throttle, WindowCount};

/// The fixed-window count of one client: `rate_limit:v2:<scope>:<client>`. The window's number
/// is kept inside the entry, on the far tier's clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct WindowKey {
    pub(crate) scope: String,
    pub(crate) client: String,
}

impl CacheKey for WindowKey {
    type Value = i64;
    type Codec = Text;
    const NAMESPACE: &'static str = "rate_limit";
    // Version 1 kept one counter per window, the window's number in the key.
    const VERSION: u32 = 2;
    // Every count expires with its window (`count_in_window`); this is unused.
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();

    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.scope);
        key.segment_str(&self.client);
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

/// What a limiter decided for one request.
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

/// Whole seconds in `d`, rounded up.
fn secs(d: Duration) -> u64 {
    u64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
}

impl Decision {
    /// The decision a GCRA outcome makes.
    pub(crate) fn from_throttle(t: &Throttle, limit: u64) -> Self {
        Self {
            allowed: t.allowed,
            limit,
            remaining: t.remaining,
            reset: secs(t.reset_after),
            retry: secs(t.retry_after).max(1),
        }
    }

    /// The decision for a request that brought its window's count to `window.count` of
    /// `limit`.
    pub(crate) fn from_window(window: &WindowCount, limit: u64) -> Self {
        let count = u64::try_from(window.count).unwrap_or(0);
        let reset = secs(window.reset_after);
        Self {
            allowed: count <= limit,
            limit,
            remaining: limit.saturating_sub(count),
            reset,
            retry: reset.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_window_allows_the_limit_then_refuses_until_it_ends() {
        let d = Decision::from_window(&WindowCount::new(3, Duration::from_millis(1_500)), 3);
        assert_eq!((d.allowed, d.remaining, d.reset, d.retry), (true, 0, 2, 2));
        let refused = Decision::from_window(&WindowCount::new(4, Duration::from_millis(10)), 3);
        assert_eq!(
            (refused.allowed, refused.remaining, refused.retry),
            (false, 0, 1)
        );
    }

    proptest! {
        #[test]
        fn remaining_plus_count_is_the_limit_while_allowed(count in 1i64..1000, limit in 1u64..1000, left in 0u64..100_000) {
            let d = Decision::from_window(&WindowCount::new(count, Duration::from_millis(left)), limit);
            prop_assert_eq!(d.allowed, count as u64 <= limit);
            if d.allowed {
                prop_assert_eq!(d.remaining + count as u64, limit);
            } else {
                prop_assert_eq!(d.remaining, 0);
            }
            prop_assert!(d.retry >= 1 && d.reset * 1000 >= left);
        }
    }
}
