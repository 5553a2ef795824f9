//! [`CacheBuilder`]: the settings of a [`Cache`].

use std::sync::Arc;
use std::time::Duration;

use super::coherence::{self, Coherence};
use super::local::LocalCoordination;
use super::{Cache, Inner, LoadLock};
use crate::clock::Clock;
use crate::error::Error;
use crate::flight::Flights;
use crate::near::{Bound, NearStore};
use crate::stats::StatsTable;
use crate::store::Store;
use crate::store::policy::{Far, FarPolicy};

/// How long in-process copies live by default when a far tier is shared with other instances.
const DEFAULT_NEAR_TTL: Duration = Duration::from_secs(5);

/// Builds a [`Cache`]; start from [`Cache::builder`].
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`max_capacity`](Self::max_capacity) | 10 000 | entries in process, shared by the key types in use |
/// | [`max_weight`](Self::max_weight) | none | also bound the in-process tier by bytes |
/// | [`far`](Self::far) | none | a shared far tier, such as Redis |
/// | [`near`](Self::near) | on | keep decoded copies in process |
/// | [`near_ttl`](Self::near_ttl) | 5 s with a far tier | cap how long an in-process copy lives when a far tier is shared |
/// | [`store_timeout`](Self::store_timeout) | 1 s | bound on every far-tier call |
/// | [`circuit_breaker`](Self::circuit_breaker) | 5 failures, 5 s | skip the far tier after repeated failures |
/// | [`load_lock`](Self::load_lock) | on, 2 s wait, 10 s lease | cross-process single-flight of loads |
/// | [`max_counters`](Self::max_counters) | 100 000 | counters, throttles and leases kept in process without a far tier |
/// | [`clock`](Self::clock) | system | the time source; tests mock it |
///
/// # Example
///
/// ```
/// use cache_core::Cache;
///
/// let cache = Cache::builder()
///     .max_capacity(10_000)
///     .max_weight(64 * 1024 * 1024)
///     .build()
///     .expect("valid settings");
/// assert_eq!(cache.entry_count(), 0);
/// ```
#[derive(Debug)]
#[must_use]
pub struct CacheBuilder {
    max_capacity: u64,
    max_weight: Option<u64>,
    near: bool,
    near_ttl: Option<Duration>,
    far: Option<Arc<dyn Store>>,
    far_policy: FarPolicy,
    load_lock: Option<LoadLock>,
    max_counters: usize,
    clock: Clock,
    coherent: bool,
}

impl CacheBuilder {
    pub(super) fn new() -> Self {
        Self {
            max_capacity: 10_000,
            max_weight: None,
            near: true,
            near_ttl: None,
            far: None,
            far_policy: FarPolicy {
                timeout: Duration::from_secs(1),
                breaker_threshold: 5,
                breaker_cool_down: Duration::from_secs(5),
            },
            load_lock: Some(LoadLock {
                wait: Duration::from_secs(2),
                lease: Duration::from_secs(10),
                poll: Duration::from_millis(20),
            }),
            max_counters: 100_000,
            coherent: false,
            clock: Clock::system(),
        }
    }

    /// The most entries the in-process tier holds (default 10 000).
    pub fn max_capacity(mut self, entries: u64) -> Self {
        self.max_capacity = entries;
        self
    }

    /// Also bounds the in-process tier by the bytes its values hold, as weighed by
    /// [`CacheKey::weigh`](crate::CacheKey::weigh) plus a fixed overhead per entry.
    pub fn max_weight(mut self, bytes: u64) -> Self {
        self.max_weight = Some(bytes);
        self
    }

    /// A far tier shared by every instance, such as
    /// [`RedisStore`](crate::store::redis::RedisStore).
    pub fn far(mut self, store: impl Store) -> Self {
        self.far = Some(Arc::new(store));
        self
    }

    /// Whether to keep decoded values in process (default on). Off, every read goes to the far
    /// tier, so that instances never serve each other's stale copies.
    pub fn near(mut self, enabled: bool) -> Self {
        self.near = enabled;
        self
    }

    /// The longest an in-process copy lives when there is a far tier (default 5 s). Another
    /// instance's invalidation (a logout, an update) reaches this instance's copies only when
    /// they expire, so this bounds how long a removed session or an old value can still be
    /// served here. Without a far tier the key type's TTL alone applies.
    pub fn near_ttl(mut self, ttl: Duration) -> Self {
        self.near_ttl = Some(ttl);
        self
    }

    /// The longest any far-tier call may take before it counts as failed (default 1 s).
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.far_policy.timeout = timeout;
        self
    }

    /// After `failures` far-tier failures in a row, skip the far tier for `cool_down`
    /// (default 5 failures, 5 s).
    pub fn circuit_breaker(mut self, failures: u32, cool_down: Duration) -> Self {
        self.far_policy.breaker_threshold = failures;
        self.far_policy.breaker_cool_down = cool_down;
        self
    }

    /// Cross-process single-flight for `get_with` and friends (on by default with a far tier):
    /// a process that misses takes a lease (`SET NX PX`) in the far tier before it runs the
    /// loader; other processes missing the same key wait up to `wait`, polling for the value,
    /// then load by themselves. `lease` bounds how long a crashed loader blocks the key.
    pub fn load_lock(mut self, wait: Duration, lease: Duration) -> Self {
        self.load_lock = Some(LoadLock {
            wait,
            lease,
            poll: Duration::from_millis(20).min(wait),
        });
        self
    }

    /// Turns cross-process single-flight off: each process runs its own loader on a miss
    /// (single-flight within the process stays).
    pub fn no_load_lock(mut self) -> Self {
        self.load_lock = None;
        self
    }

    /// The most counters, windows, throttles and leases a cache without a far tier keeps in
    /// process (default 100 000). They live in a table of their own, which cache entries never
    /// evict; when it is full of live ones, a new one is refused with an error of kind
    /// [`Capacity`](crate::ErrorKind::Capacity) rather than resetting another.
    pub fn max_counters(mut self, entries: usize) -> Self {
        self.max_counters = entries;
        self
    }

    /// Keeps the in-process tier coherent with the other instances sharing the far tier: every
    /// write and invalidation (by key, tag, prefix or namespace) is announced on the far
    /// tier's invalidation channel once the far tier took it (Redis pub/sub), and each
    /// instance removes its in-process copies of what the others announce, typically within
    /// a few milliseconds instead of `near_ttl`. An instance that loses the channel (Redis
    /// restarted, the network cut) empties its in-process tier, and again once the channel is
    /// back, so it never keeps a copy it could not hear about.
    ///
    /// Costs: one `PUBLISH` per write or invalidation (pipelined on the shared connection),
    /// a rendering and an index entry per in-process write, one more connection. The hit path
    /// is unchanged. Changes made to Redis by other clients (another language's service) are
    /// not announced: their keys still live out `near_ttl` here.
    ///
    /// Needs a far tier with an invalidation channel ([`RedisStore`] has one) and a Tokio
    /// runtime at [`build`](Self::build).
    ///
    /// [`RedisStore`]: crate::store::redis::RedisStore
    pub fn coherent(mut self, coherent: bool) -> Self {
        self.coherent = coherent;
        self
    }

    /// The time source; tests pass [`Clock::mock`] to control expiry without sleeping.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Config`](crate::ErrorKind::Config) when a bound is zero, or when both
    /// tiers are turned off.
    pub fn build(self) -> Result<Cache, Error> {
        if self.max_counters == 0 {
            return Err(Error::config(
                "max_counters is 0: no counter or lease could be kept; set at least 1",
            ));
        }
        if self.max_capacity == 0 {
            return Err(Error::config(
                "max_capacity is 0: the cache could hold nothing; set at least 1",
            ));
        }
        if self.max_weight == Some(0) {
            return Err(Error::config(
                "max_weight is 0: the cache could hold nothing; set at least 1 byte or leave it unset",
            ));
        }
        if !self.near && self.far.is_none() {
            return Err(Error::config(
                "near(false) without a far tier: the cache could hold nothing; add .far(store)",
            ));
        }
        if self.far_policy.timeout.is_zero() {
            return Err(Error::config(
                "store_timeout is 0: every far-tier call would fail; set it above zero",
            ));
        }
        if self.coherent {
            let Some(far) = &self.far else {
                return Err(Error::config(
                    "coherent(true) without a far tier: there are no other instances to hear; add .far(store)",
                ));
            };
            if far.invalidations().is_none() {
                return Err(Error::config(format!(
                    "coherent(true): the far tier {far:?} has no invalidation channel; use a store \
                     that implements Invalidations, such as RedisStore"
                )));
            }
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(Error::config(
                    "coherent(true) listens for invalidations in a Tokio task: build the cache \
                     inside a Tokio runtime",
                ));
            }
        }
        Ok(self.assemble())
    }

    /// Builds the cache from settings already checked.
    fn assemble(self) -> Cache {
        let stats = Arc::new(StatsTable::new());
        let bound = Bound {
            max_entries: self.max_capacity,
            max_bytes: self.max_weight,
        };
        // Coherence matters only for copies in process.
        let coherent = self.coherent && self.near;
        let near = self
            .near
            .then(|| NearStore::new(bound, stats.clone(), coherent));
        let has_far = self.far.is_some();
        let far = self.far.map(|store| Far::new(store, self.far_policy));
        let (coherence, stopped) = match coherent {
            true => {
                let (coherence, stopped) = Coherence::new();
                (Some(coherence), Some(stopped))
            }
            false => (None, None),
        };
        let cache = Cache {
            inner: Arc::new(Inner {
                near,
                far,
                near_ttl: self.near_ttl.or(has_far.then_some(DEFAULT_NEAR_TTL)),
                stats,
                flights: Arc::new(Flights::default()),
                local: LocalCoordination::new(self.clock.clone(), self.max_counters),
                clock: self.clock,
                load_lock: self.load_lock,
                retries: Default::default(),
                published: Default::default(),
                coherence,
            }),
        };
        if let (Some(coherence), Some(stopped)) = (&cache.inner.coherence, stopped) {
            // `build` checked that a runtime is there.
            tokio::spawn(coherence::listen(
                Arc::downgrade(&cache.inner),
                coherence.id(),
                stopped,
            ));
        }
        cache
    }
}
