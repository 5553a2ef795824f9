//! [`Cache`]: the typed facade over the tiers.
//!
//! | method | does |
//! |---|---|
//! | [`get`](Cache::get), [`get_many`](Cache::get_many) | read; a miss is `None` |
//! | [`insert`](Cache::insert), [`insert_arc`](Cache::insert_arc) | write with the key type's TTL |
//! | [`invalidate`](Cache::invalidate), [`invalidate_prefix`](Cache::invalidate_prefix), [`invalidate_all`](Cache::invalidate_all) | remove |
//! | [`get_with`](Cache::get_with), [`try_get_with`](Cache::try_get_with), [`optionally_get_with`](Cache::optionally_get_with) | cache-aside with single-flight |
//! | [`get_with_refresh`](Cache::get_with_refresh), [`try_get_with_refresh`](Cache::try_get_with_refresh) | the same, reloading ahead of expiry in the background |
//! | [`stats`](Cache::stats) | hit, miss, load and eviction counts per namespace |
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
//!     const POLICY: Policy = Policy::ttl(Duration::from_secs(3600));
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
mod load;

use std::sync::Arc;

pub use builder::CacheBuilder;

use crate::clock::Clock;
use crate::error::Error;
use crate::flight::Flights;
use crate::key::{CacheKey, KeyPrefix};
use crate::near::{NearStore, TypedValue};
use crate::stats::{CacheStats, Counter, NamespaceId, StatsTable};

/// A typed cache: cheap to clone, every clone sees the same entries.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    near: NearStore,
    stats: Arc<StatsTable>,
    flights: Arc<Flights>,
    clock: Clock,
}

/// What the in-process tier holds for a key of type `K`.
enum Near<K: CacheKey> {
    /// A live entry, and the namespace to count it in.
    Hit(TypedValue<K::Value>, NamespaceId),
    /// Nothing live (an expired entry was removed).
    Miss,
}

impl Cache {
    /// A cache of at most `max_capacity` entries in process memory (0 is taken as 1).
    pub fn new(max_capacity: u64) -> Self {
        Self::builder().max_capacity(max_capacity.max(1)).assemble()
    }

    /// Starts a [`CacheBuilder`].
    pub fn builder() -> CacheBuilder {
        CacheBuilder::new()
    }

    /// The value under `key`, if a live one is cached.
    pub async fn get<K: CacheKey>(&self, key: &K) -> Option<Arc<K::Value>> {
        if let Near::Hit(entry, namespace) = self.near(key) {
            self.inner.stats.incr(namespace, Counter::Hit);
            return entry.value;
        }
        self.record_miss::<K>();
        None
    }

    /// The values under `keys`, in the same order.
    pub async fn get_many<K: CacheKey>(&self, keys: &[K]) -> Vec<Option<Arc<K::Value>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await);
        }
        out
    }

    /// Writes `value` under `key` with the key type's TTL, replacing what was there.
    pub async fn insert<K: CacheKey>(&self, key: K, value: K::Value) {
        self.insert_arc(key, Arc::new(value)).await;
    }

    /// Writes a shared value under `key`; the cache keeps this `Arc`, it does not copy it.
    pub async fn insert_arc<K: CacheKey>(&self, key: K, value: Arc<K::Value>) {
        self.store(key, Some(value));
    }

    /// Removes the entry under `key`.
    pub async fn invalidate<K: CacheKey>(&self, key: &K) {
        if let Some(namespace) = self.inner.near.remove(key) {
            self.inner.stats.incr(namespace, Counter::Invalidation);
        }
    }

    /// Removes every entry whose key is in `prefix` (and not excluded by it); returns how many.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`UnboundedPrefix`](crate::ErrorKind::UnboundedPrefix) when the prefix
    /// is empty and would name every key.
    pub async fn invalidate_prefix(&self, prefix: &KeyPrefix) -> Result<u64, Error> {
        if prefix.as_str().is_empty() {
            return Err(Error::unbounded_prefix(prefix.namespace_name()));
        }
        Ok(self.inner.near.remove_prefix(prefix))
    }

    /// The rendered keys of the live entries in `prefix` (seed 003's `get_prefix`).
    ///
    /// # Errors
    ///
    /// As [`invalidate_prefix`](Self::invalidate_prefix).
    pub async fn keys(&self, prefix: &KeyPrefix) -> Result<Vec<String>, Error> {
        if prefix.as_str().is_empty() {
            return Err(Error::unbounded_prefix(prefix.namespace_name()));
        }
        Ok(self
            .inner
            .near
            .keys_with_prefix(prefix, self.inner.clock.now_nanos()))
    }

    /// Removes every entry.
    pub async fn invalidate_all(&self) {
        self.inner.near.clear();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.stats.snapshot()
    }

    /// How many entries the in-process tier holds, expired ones not yet removed included.
    pub fn entry_count(&self) -> u64 {
        self.inner.near.len() as u64
    }

    /// The total weight of the in-process tier: bytes when bounded by weight, else entries.
    pub fn weighted_size(&self) -> u64 {
        self.inner.near.weight()
    }

    /// Looks `key` up in the in-process tier, removing it if it has expired.
    #[inline]
    fn near<K: CacheKey>(&self, key: &K) -> Near<K> {
        let Some((entry, namespace)) = self.inner.near.get(key) else {
            return Near::Miss;
        };
        if self.inner.clock.now_nanos() < entry.expires_at {
            return Near::Hit(entry, namespace);
        }
        self.expire(key, &entry, namespace);
        Near::Miss
    }

    /// Removes the expired entry `entry` under `key`, unless it was replaced meanwhile.
    #[cold]
    fn expire<K: CacheKey>(&self, key: &K, entry: &TypedValue<K::Value>, namespace: NamespaceId) {
        if self.inner.near.remove_if_same(key, entry) {
            self.inner.stats.incr(namespace, Counter::Expiration);
        }
    }

    #[cold]
    fn record_miss<K: CacheKey>(&self) {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Miss);
    }

    /// Writes `value` (or a remembered "not found" when `None`) under `key`.
    fn store<K: CacheKey>(&self, key: K, value: Option<Arc<K::Value>>) {
        let now = self.inner.clock.now_nanos();
        let policy = K::POLICY;
        let ttl = match &value {
            Some(_) => policy.entry_ttl(fastrand::f64()),
            None => match policy.negative_time_to_live() {
                Some(ttl) => Some(ttl),
                // Negative caching is off for this key type.
                None => return,
            },
        };
        let deadline = |after: Option<std::time::Duration>| {
            after.map_or(u64::MAX, |d| {
                now.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            })
        };
        let bound = self.inner.near.bound();
        let bytes = match &value {
            Some(v) if bound.weighs_bytes() => {
                K::weigh(v) + std::mem::size_of::<K>() + ENTRY_OVERHEAD
            }
            _ => std::mem::size_of::<K>() + ENTRY_OVERHEAD,
        };
        let entry = TypedValue {
            expires_at: deadline(ttl),
            refresh_at: if value.is_some() {
                deadline(policy.time_to_refresh())
            } else {
                u64::MAX
            },
            value,
            weight: bound.weight_of(bytes),
        };
        if let Some(namespace) = self.inner.near.insert(key, entry) {
            self.inner.stats.incr(namespace, Counter::Insert);
        }
    }
}

/// The bytes an entry costs beyond its key and value: the map slot, deadlines and the value's
/// reference counts, roughly.
const ENTRY_OVERHEAD: usize = 64;

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.inner.near.len())
            .field("weight", &self.inner.near.weight())
            .finish_non_exhaustive()
    }
}
