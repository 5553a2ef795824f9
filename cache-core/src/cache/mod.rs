//! [`Cache`]: the typed facade over the tiers.
//!
//! | method | does |
//! |---|---|
//! | [`get`](Cache::get), [`get_many`](Cache::get_many), [`get_in_process`](Cache::get_in_process) | read; a miss is `None` |
//! | [`insert`](Cache::insert), [`insert_arc`](Cache::insert_arc), [`insert_many`](Cache::insert_many), [`insert_tagged`](Cache::insert_tagged), [`insert_expiring`](Cache::insert_expiring) | write |
//! | [`invalidate`](Cache::invalidate), [`invalidate_tag`](Cache::invalidate_tag), [`invalidate_prefix`](Cache::invalidate_prefix), [`invalidate_all_in_process`](Cache::invalidate_all_in_process) | remove |
//! | [`get_with`](Cache::get_with), [`try_get_with`](Cache::try_get_with), [`optionally_get_with`](Cache::optionally_get_with), [`get_with_arc`](Cache::get_with_arc) | cache-aside with single-flight |
//! | [`get_with_refresh`](Cache::get_with_refresh), [`try_get_with_refresh`](Cache::try_get_with_refresh) | the same, reloading ahead of expiry in the background |
//! | [`increment`](Cache::increment), [`count_in_window`](Cache::count_in_window), [`throttle`](Cache::throttle), [`try_lock`](Cache::try_lock) | counters, rate limits and leases shared by every instance |
//! | [`set_of`](Cache::set_of), [`sorted_set`](Cache::sorted_set), [`queue`](Cache::queue), [`hash_field`](Cache::hash_field), [`set_hash_fields`](Cache::set_hash_fields) | typed sets, sorted sets, job queues and single hash fields |
//! | [`exists`](Cache::exists), [`expire`](Cache::expire) | whether a key holds anything; a new expiry for it |
//! | [`pipeline`](Cache::pipeline) | several different operations in one round trip |
//! | [`keys`](Cache::keys), [`stats`](Cache::stats) | list keys by prefix; hit, miss, load and eviction counts per namespace |
//! | [`publish_stats`](Cache::publish_stats), [`fleet_stats`](Cache::fleet_stats) | hits and misses of every instance, counted in the far tier |
//!
//! Values are handed out as `Arc<V>`: a hit on the in-process tier copies nothing and decodes
//! nothing.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use cache_core::{Cache, CacheKey, KeyWriter, Policy, codec::Json};
//!
//! #[derive(Clone, PartialEq, Eq, Hash)]
//! struct MerchantKey { slug: String }
//!
//! impl CacheKey for MerchantKey {
//!     type Value = String;
//!     type Codec = Json;
//!     const NAMESPACE: &'static str = "merchant";
//!     const POLICY: Policy = Policy::builder().time_to_live(Duration::from_secs(3600)).build();
//!     fn write_key(&self, key: &mut KeyWriter<'_>) {
//!         key.segment_str(&self.slug);
//!     }
//! }
//!
//! let cache = Cache::new(10_000);
//! let key = MerchantKey { slug: "amazon".into() };
//! let name = cache.get_with(&key, async { "Amazon".to_string() }).await;
//! assert_eq!(*name, "Amazon");
//! // The loader does not run again while the entry is fresh.
//! let again = cache.get_with(&key, async { unreachable!("cached") }).await;
//! assert_eq!(*again, "Amazon");
//! cache.invalidate(&key).await;
//! assert!(cache.get(&key).await.is_none());
//! # });
//! ```

mod builder;
mod coherence;
mod counter;
mod fleet;
mod invalidate;
mod lease;
mod load;
mod local;
mod pipeline;
mod read;
mod retry;
mod strict;
mod structures;
mod write;

use std::sync::Arc;
use std::time::Duration;

pub use builder::CacheBuilder;
pub use fleet::{FleetNamespace, FleetStats};
pub use lease::Lease;
pub use pipeline::{Answers, Pipeline, Slot};
pub use strict::Strict;
pub use structures::{Attempts, Queue, SetOf, SortedSet, Worked};

use crate::clock::Clock;
use crate::error::Error;
use crate::flight::Flights;
use crate::key::CacheKey;
use crate::near::NearStore;
use crate::stats::{CacheStats, NamespaceId, StatsTable};
use crate::store::policy::Far;
use crate::store::{Coordination, StoreFuture};

/// A typed cache: cheap to clone, every clone sees the same entries.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    near: Option<NearStore>,
    far: Option<Far>,
    /// The longest an in-process copy lives; set only with a far tier.
    near_ttl: Option<Duration>,
    stats: Arc<StatsTable>,
    flights: Arc<Flights>,
    clock: Clock,
    /// Counters, windows, throttles and leases of a cache with no far tier.
    local: local::LocalCoordination,
    /// Cross-process single-flight through a lease in the far tier; `None` when off.
    load_lock: Option<LoadLock>,
    /// Far-tier invalidations that failed, to be retried.
    retries: retry::Retries,
    /// The hits and misses of each namespace already added to the fleet-wide counts.
    published: std::sync::Mutex<std::collections::HashMap<&'static str, (u64, u64)>>,
    /// Announcements of writes and invalidations to other instances; `None` when the cache
    /// is not coherent.
    coherence: Option<coherence::Coherence>,
}

/// How `get_with` coordinates loads across processes.
#[derive(Debug, Clone, Copy)]
struct LoadLock {
    /// The longest a process waits for another's load before loading itself.
    wait: Duration,
    /// How long the load lease lives if its holder dies.
    lease: Duration,
    /// How often a waiting process looks for the value.
    poll: Duration,
}

/// Where tag invalidations in the far tier are counted (their keys' namespaces are unknown).
const TAGS_NAMESPACE: &str = "(tags)";

impl Cache {
    /// A cache of at most `max_capacity` entries in process memory, with the builder's other
    /// defaults.
    ///
    /// # Panics
    ///
    /// When `max_capacity` is 0: such a cache could hold nothing. Use
    /// [`builder`](Self::builder) to get the mistake as an [`Error`] instead.
    pub fn new(max_capacity: u64) -> Self {
        match Self::builder().max_capacity(max_capacity).build() {
            Ok(cache) => cache,
            Err(e) => panic!("Cache::new({max_capacity}): {e}"),
        }
    }

    /// Starts a [`CacheBuilder`].
    pub fn builder() -> CacheBuilder {
        CacheBuilder::new()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.stats.snapshot()
    }

    /// How many entries the in-process tier holds, expired ones not yet removed included.
    pub fn entry_count(&self) -> u64 {
        self.inner.near.as_ref().map_or(0, |near| near.len() as u64)
    }

    /// The total weight of the in-process tier: bytes where entries are weighed in bytes (a
    /// [`max_weight`](CacheBuilder::max_weight) or a [memory budget](Self::set_memory_budget)),
    /// else one per entry.
    pub fn weighted_size(&self) -> u64 {
        self.inner.near.as_ref().map_or(0, NearStore::weight)
    }

    /// Bounds the in-process memory of key type `K`'s entries to `max_bytes`, on top of `K`'s
    /// share of the cache-wide bounds: each entry is weighed as
    /// [`CacheKey::weigh`] of its value plus [`CacheKey::weigh_key`] plus a fixed overhead,
    /// and the least recently useful entries of `K` are evicted to stay within it. Other key
    /// types are not affected. An entry heavier than the budget allows is not kept in process.
    ///
    /// The HTTP response cache sets one for its entries, so that URLs with cache-busting query
    /// strings cannot fill a process's memory.
    pub fn set_memory_budget<K: CacheKey>(&self, max_bytes: u64) {
        if let Some(near) = &self.inner.near {
            near.set_budget::<K>(max_bytes);
        }
    }

    /// Runs one far-tier call under the failure policy (timeout, circuit breaker, counting and
    /// logging of failures).
    async fn far_call<T>(
        &self,
        ns: NamespaceId,
        what: &'static str,
        call: StoreFuture<'_, T>,
    ) -> Result<T, Error> {
        match &self.inner.far {
            Some(far) => {
                far.call(&self.inner.clock, &self.inner.stats, ns, what, call)
                    .await
            }
            None => call.await,
        }
    }

    /// Where counters, throttles and leases live: the far tier's [`Coordination`] when there
    /// is a far tier (an error when it has none), else the in-process table.
    fn coordination(&self) -> Result<&dyn Coordination, Error> {
        match &self.inner.far {
            Some(far) => far.store.coordination().ok_or_else(|| {
                Error::new(
                    crate::ErrorKind::Unsupported,
                    format!(
                        "the far tier {:?} keeps no counters, throttles or leases; use a store \
                         that implements Coordination, such as RedisStore",
                        far.store
                    ),
                )
            }),
            None => Ok(&self.inner.local),
        }
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.entry_count())
            .field("weight", &self.weighted_size())
            .field("far", &self.inner.far.as_ref().map(|far| &far.store))
            .finish_non_exhaustive()
    }
}
