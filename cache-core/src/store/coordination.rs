//! [`Coordination`]: the operations that must be atomic across every instance sharing a store.

use std::time::Duration;

use super::StoreFuture;
use crate::throttle::Throttle;

/// Counters, rate limits and leases, each one atomic step in the store, shared by every instance
/// of a service. A [`Store`](super::Store) that can offer them returns itself from
/// [`Store::coordination`](super::Store::coordination); Redis does, with Lua scripts.
///
/// The in-process tier has its own implementation, used by a cache without a far tier.
pub trait Coordination: Send + Sync {
    /// Adds `by` to the integer under `key` and returns the new value. When the counter is
    /// created by this call (or has no expiry), `ttl` is set in the same atomic step, so no
    /// interleaving leaves a counter without one; later increments keep the expiry.
    fn increment<'a>(
        &'a self,
        key: &'a str,
        by: i64,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, i64>;

    /// The integer under `key` (as [`increment`](Self::increment) keeps it); `None` when there
    /// is none.
    fn counter<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<i64>>;

    /// Adds `by` to the count of the current fixed window of length `window` under `key`, the
    /// window being told by the store's own clock (so that instances whose clocks disagree
    /// share one window): a count from an earlier window is dropped first, and the key expires
    /// when its window ends.
    fn count_in_window<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
        by: i64,
    ) -> StoreFuture<'a, WindowCount>;

    /// One request against the GCRA limit under `key` (see [`Throttle`]): requests `interval`
    /// apart at the sustained rate, `burst` at once, on the store's own clock.
    fn throttle<'a>(
        &'a self,
        key: &'a str,
        interval: Duration,
        burst: u64,
    ) -> StoreFuture<'a, Throttle>;

    /// Takes the lease `key` for `token` for `lease` if nobody holds it; returns whether it was
    /// taken.
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Releases the lease `key` if `token` still holds it (compare-and-delete); returns whether
    /// it did.
    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, bool>;

    /// The remaining time to live of `key`: `None` when it does not exist, `Some(None)` when it
    /// has no expiry.
    fn ttl<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Option<Duration>>>;
}

/// The count of a fixed window after [`Coordination::count_in_window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowCount {
    /// The count in the current window, this call's included.
    pub count: i64,
    /// How long until the window ends and the count starts again.
    pub reset_after: Duration,
}

impl WindowCount {
    /// A window's `count`, ending in `reset_after`.
    pub fn new(count: i64, reset_after: Duration) -> Self {
        Self { count, reset_after }
    }
}
