//! [`Cache`]: the typed facade over the tiers.
//!
//! | method | does |
//! |---|---|
//! | [`get`](Cache::get), [`get_many`](Cache::get_many), [`get_in_process`](Cache::get_in_process) | read; a miss is `None` |
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
mod counter;
mod lease;
mod load;
mod strict;

use std::sync::Arc;
use std::time::Duration;

pub use builder::CacheBuilder;
pub use lease::Lease;
pub use strict::Strict;

use crate::clock::Clock;
use crate::codec::Codec;
use crate::error::Error;
use crate::far::Far;
use crate::flight::Flights;
use crate::key::{CacheKey, KeyPrefix};
use crate::near::{NearStore, TypedValue};
use crate::stats::{CacheStats, Counter, NamespaceId, StatsTable};
use crate::store::StoreError;

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
    /// Counters and leases of a cache with no far tier.
    local: lease::Local,
    /// Cross-process single-flight through a lease in the far tier; `None` when off.
    load_lock: Option<LoadLock>,
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

/// Appended to a rendered key to name its load lease. `%` followed by a letter that is not a
/// hex digit cannot come out of segment escaping, so no user key collides with it.
const LOAD_LEASE_SUFFIX: &str = "%load";

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
    ///
    /// The in-process tier answers first; on a miss the far tier is asked, and what it holds is
    /// decoded and kept in process. An entry that does not decode is a miss: it is counted in
    /// `decode_errors` and deleted. A far tier that fails is a miss too (fail open).
    pub async fn get<K: CacheKey>(&self, key: &K) -> Option<Arc<K::Value>> {
        if let Near::Hit(entry, namespace) = self.near(key) {
            self.inner.stats.incr(namespace, Counter::Hit);
            return entry.into_value();
        }
        if self.inner.far.is_none() {
            self.record_miss::<K>();
            return None;
        }
        // Boxed, so that the future of a hit stays small: a caller moves it at least once.
        Box::pin(self.get_far(key)).await
    }

    /// The value under `key` if the in-process tier holds a live copy, without asking the far
    /// tier and without waiting: for synchronous fast paths (such as an HTTP cache answering a
    /// hit inside `Service::call`). A copy found counts as a hit, as in [`get`](Self::get);
    /// nothing is counted when there is none, so that the caller's fallback to `get` counts the
    /// miss or the far hit once.
    pub fn get_in_process<K: CacheKey>(&self, key: &K) -> Option<Arc<K::Value>> {
        match self.near(key) {
            Near::Hit(entry, namespace) => {
                self.inner.stats.incr(namespace, Counter::Hit);
                entry.into_value()
            }
            Near::Miss => None,
        }
    }

    /// The far-tier half of [`get`](Self::get); a failed far tier is a miss.
    #[cold]
    async fn get_far<K: CacheKey>(&self, key: &K) -> Option<Arc<K::Value>> {
        self.try_get_far(key).await.ok().flatten()
    }

    /// The far-tier half of a read, counting the hit or the miss (a failed read is a miss).
    async fn try_get_far<K: CacheKey>(&self, key: &K) -> Result<Option<Arc<K::Value>>, StoreError> {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let found = match &self.inner.far {
            Some(_) => self.try_far_lookup(key, &key.render(), ns).await,
            None => Ok(None),
        };
        let hit = matches!(found, Ok(Some(_)));
        self.inner
            .stats
            .incr(ns, if hit { Counter::Hit } else { Counter::Miss });
        found
    }

    /// Reads and decodes `key` from the far tier, keeping a copy in process; `None` when it is
    /// absent, undecodable (then deleted) or the far tier failed.
    async fn far_lookup<K: CacheKey>(
        &self,
        key: &K,
        rendered: &str,
        ns: NamespaceId,
    ) -> Option<Arc<K::Value>> {
        self.try_far_lookup(key, rendered, ns).await.ok().flatten()
    }

    /// [`far_lookup`](Self::far_lookup) that reports a failed far tier.
    async fn try_far_lookup<K: CacheKey>(
        &self,
        key: &K,
        rendered: &str,
        ns: NamespaceId,
    ) -> Result<Option<Arc<K::Value>>, StoreError> {
        let Some(far) = self.inner.far.as_ref() else {
            return Ok(None);
        };
        let decoded = if <K::Codec as Codec<K::Value>>::HASH {
            let call = far.store.get_hash(rendered);
            let Some(fields) = self.far_call(ns, "HGETALL", call).await? else {
                return Ok(None);
            };
            <K::Codec as Codec<K::Value>>::decode_fields(&fields)
        } else {
            let call = far.store.get(rendered);
            let Some(bytes) = self.far_call(ns, "GET", call).await? else {
                return Ok(None);
            };
            <K::Codec as Codec<K::Value>>::decode(&bytes)
        };
        match decoded {
            Ok(value) => {
                let value = Arc::new(value);
                self.store_near(key, &value);
                Ok(Some(value))
            }
            Err(e) => {
                // Boxed: rare, and inline its state would weigh on every read's future.
                Box::pin(self.drop_undecodable(ns, rendered, &e)).await;
                Ok(None)
            }
        }
    }

    /// Counts, logs and deletes an entry that did not decode.
    async fn drop_undecodable(
        &self,
        ns: NamespaceId,
        rendered: &str,
        e: &crate::codec::CodecError,
    ) {
        self.inner.stats.incr(ns, Counter::DecodeError);
        tracing::debug!(key = rendered, error = %e, "cached entry does not decode; treating it as a miss and deleting it");
        if let Some(far) = &self.inner.far {
            let keys = [rendered.to_owned()];
            let _ = self.far_call(ns, "UNLINK", far.store.delete(&keys)).await;
        }
    }

    /// The values under `keys`, in the same order; the far tier is asked once (`MGET`) for
    /// everything the in-process tier lacks.
    pub async fn get_many<K: CacheKey>(&self, keys: &[K]) -> Vec<Option<Arc<K::Value>>> {
        let mut out = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match self.near(key) {
                Near::Hit(entry, ns) => {
                    self.inner.stats.incr(ns, Counter::Hit);
                    out.push(entry.into_value());
                }
                Near::Miss => {
                    out.push(None);
                    missing.push(i);
                }
            }
        }
        if missing.is_empty() {
            return out;
        }
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        if self.inner.far.is_some() && <K::Codec as Codec<K::Value>>::HASH {
            // Hashes have no multi-key read; ask for each.
            for &i in &missing {
                out[i] = self.far_lookup(&keys[i], &keys[i].render(), ns).await;
            }
        } else if let Some(far) = &self.inner.far {
            let rendered: Vec<String> = missing.iter().map(|&i| keys[i].render()).collect();
            if let Ok(values) = self
                .far_call(ns, "MGET", far.store.get_many(&rendered))
                .await
            {
                for ((&i, text), bytes) in missing.iter().zip(&rendered).zip(values) {
                    let Some(bytes) = bytes else { continue };
                    match <K::Codec as Codec<K::Value>>::decode(&bytes) {
                        Ok(value) => {
                            let value = Arc::new(value);
                            self.store_near(&keys[i], &value);
                            out[i] = Some(value);
                        }
                        Err(e) => self.drop_undecodable(ns, text, &e).await,
                    }
                }
            }
        }
        let found = missing.iter().filter(|&&i| out[i].is_some()).count() as u64;
        self.inner.stats.add(ns, Counter::Hit, found);
        self.inner
            .stats
            .add(ns, Counter::Miss, missing.len() as u64 - found);
        out
    }

    /// Writes `value` under `key` with the key type's TTL, in every tier, replacing what was
    /// there.
    pub async fn insert<K: CacheKey>(&self, key: K, value: K::Value) {
        self.insert_arc(key, Arc::new(value)).await;
    }

    /// Writes a shared value under `key`; the in-process tier keeps this `Arc`, it does not
    /// copy it.
    pub async fn insert_arc<K: CacheKey>(&self, key: K, value: Arc<K::Value>) {
        self.store(key, Some(value)).await;
    }

    /// Writes `value` under `key` like [`insert`](Self::insert), and records it under each of
    /// `tags`, so that [`invalidate_tag`](Self::invalidate_tag) removes it with the rest of
    /// the tag (such as `Surrogate-Key` groups, or every cache entry of one merchant).
    pub async fn insert_tagged<K: CacheKey>(&self, key: K, value: K::Value, tags: &[&str]) {
        let ttl = K::POLICY.entry_ttl(fastrand::f64());
        self.insert_tagged_for(key, Arc::new(value), ttl, tags)
            .await;
    }

    /// Writes `value` under `key` to live `ttl` instead of the key type's TTL, recorded under
    /// the key type's tags and `tags`: for values whose lifetime is decided when they are
    /// written, such as HTTP responses whose `Cache-Control` sets it. A zero `ttl` writes
    /// nothing.
    pub async fn insert_expiring<K: CacheKey>(
        &self,
        key: K,
        value: Arc<K::Value>,
        ttl: Duration,
        tags: &[&str],
    ) {
        if ttl.is_zero() {
            return;
        }
        self.insert_tagged_for(key, value, Some(ttl), tags).await;
    }

    /// The shared half of [`insert_tagged`](Self::insert_tagged) and
    /// [`insert_expiring`](Self::insert_expiring).
    async fn insert_tagged_for<K: CacheKey>(
        &self,
        key: K,
        value: Arc<K::Value>,
        ttl: Option<Duration>,
        tags: &[&str],
    ) {
        let mut all = key.tags();
        all.extend(tags.iter().map(|t| (*t).to_owned()));
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Insert);
        self.store_far_tagged(&key, &value, ttl, &all).await;
        self.store_near_tagged(key, Some(value), ttl, Some(all.into()));
    }

    /// Removes every entry written with `tag`, in every tier; returns how many keys the far
    /// tier removed, or the in-process tier when there is none. On Redis the keys and the
    /// tag's index go in one atomic step.
    pub async fn invalidate_tag(&self, tag: &str) -> u64 {
        let near = self
            .inner
            .near
            .as_ref()
            .map_or(0, |near| near.remove_tagged(tag));
        let Some(far) = &self.inner.far else {
            return near;
        };
        let ns = self.inner.stats.namespace(TAGS_NAMESPACE);
        let removed = self
            .far_call(ns, "invalidate tag", far.store.invalidate_tag(tag))
            .await
            .unwrap_or(0);
        self.inner.stats.add(ns, Counter::Invalidation, removed);
        removed
    }

    /// Writes every `(key, value)` pair; the far tier gets them in one pipeline.
    pub async fn insert_many<K: CacheKey>(&self, entries: Vec<(K, K::Value)>) {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let mut batch = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let value = Arc::new(value);
            let Some(ttl) = self.store_local(key.clone(), Some(value.clone())) else {
                continue;
            };
            if self.inner.far.is_none() {
                continue;
            }
            let tags = key.tags();
            if <K::Codec as Codec<K::Value>>::HASH || !tags.is_empty() {
                // Hashes and tagged entries are written one by one, each atomically.
                self.store_far_tagged(&key, &value, ttl, &tags).await;
                continue;
            }
            match <K::Codec as Codec<K::Value>>::encode(&value) {
                Ok(bytes) => batch.push(crate::store::StoreEntry::new(key.render(), bytes, ttl)),
                Err(e) => {
                    tracing::warn!(namespace = K::NAMESPACE, error = %e, "value does not encode; kept in process only")
                }
            }
        }
        if let Some(far) = &self.inner.far
            && !batch.is_empty()
        {
            let _ = self
                .far_call(ns, "SET pipeline", far.store.set_many(&batch))
                .await;
        }
    }

    /// Removes the entry under `key` from every tier.
    pub async fn invalidate<K: CacheKey>(&self, key: &K) {
        // Fail open: a far-tier failure was counted and logged.
        let _ = self.try_invalidate(key).await;
    }

    /// [`invalidate`](Self::invalidate) that reports a failed far tier; the in-process copy is
    /// removed either way.
    async fn try_invalidate<K: CacheKey>(&self, key: &K) -> Result<(), Error> {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let mut removed = self
            .inner
            .near
            .as_ref()
            .and_then(|near| near.remove(key))
            .is_some();
        let far = match &self.inner.far {
            Some(far) => {
                let keys = [key.render()];
                let result = self.far_call(ns, "UNLINK", far.store.delete(&keys)).await;
                removed |= matches!(result, Ok(n) if n > 0);
                result.map(|_| ())
            }
            None => Ok(()),
        };
        if removed {
            self.inner.stats.incr(ns, Counter::Invalidation);
        }
        Ok(far?)
    }

    /// Removes every entry whose key is in `prefix` (and not excluded by it), in every tier;
    /// returns how many keys the far tier removed, or the in-process tier when there is none.
    /// The far tier is walked with `SCAN` and batched deletes, never `KEYS`.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`UnboundedPrefix`](crate::ErrorKind::UnboundedPrefix) when the prefix
    /// is empty and would name every key.
    pub async fn invalidate_prefix(&self, prefix: &KeyPrefix) -> Result<u64, Error> {
        match self.try_invalidate_prefix(prefix).await {
            // Fail open: the failure was counted and logged; the in-process part is done.
            Err(e) if e.kind() == crate::ErrorKind::Store => Ok(0),
            other => other,
        }
    }

    /// [`invalidate_prefix`](Self::invalidate_prefix) that reports a failed far tier.
    async fn try_invalidate_prefix(&self, prefix: &KeyPrefix) -> Result<u64, Error> {
        if prefix.as_str().is_empty() {
            return Err(Error::unbounded_prefix(prefix.namespace_name()));
        }
        let near = self
            .inner
            .near
            .as_ref()
            .map_or(0, |near| near.remove_prefix(prefix));
        let Some(far) = &self.inner.far else {
            return Ok(near);
        };
        let ns = self.inner.stats.namespace(prefix.namespace_name());
        let removed = self
            .far_call(ns, "SCAN+UNLINK", far.store.delete_prefix(prefix))
            .await?;
        self.inner.stats.add(ns, Counter::Invalidation, removed);
        Ok(removed)
    }

    /// The rendered keys in `prefix` (seed 003's `get_prefix`): from the far tier when there is
    /// one, else the live entries in process.
    ///
    /// # Errors
    ///
    /// As [`invalidate_prefix`](Self::invalidate_prefix), and the far tier's error: a listing
    /// that silently came back empty would be wrong.
    pub async fn keys(&self, prefix: &KeyPrefix) -> Result<Vec<String>, Error> {
        if prefix.as_str().is_empty() {
            return Err(Error::unbounded_prefix(prefix.namespace_name()));
        }
        match &self.inner.far {
            Some(far) => {
                let ns = self.inner.stats.namespace(prefix.namespace_name());
                Ok(self.far_call(ns, "SCAN", far.store.keys(prefix)).await?)
            }
            None => Ok(self
                .inner
                .near
                .as_ref()
                .map(|near| near.keys_with_prefix(prefix, self.inner.clock.now_nanos()))
                .unwrap_or_default()),
        }
    }

    /// Removes every entry of the in-process tier. The far tier is shared with other
    /// instances and left alone; use [`invalidate_prefix`](Self::invalidate_prefix) for it.
    pub async fn invalidate_all(&self) {
        if let Some(near) = &self.inner.near {
            near.clear();
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.stats.snapshot()
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

    /// How many entries the in-process tier holds, expired ones not yet removed included.
    pub fn entry_count(&self) -> u64 {
        self.inner.near.as_ref().map_or(0, |near| near.len() as u64)
    }

    /// The total weight of the in-process tier: bytes when bounded by weight, else entries.
    pub fn weighted_size(&self) -> u64 {
        self.inner.near.as_ref().map_or(0, NearStore::weight)
    }

    /// Looks `key` up in the in-process tier, removing it if it has expired.
    fn near<K: CacheKey>(&self, key: &K) -> Near<K> {
        let Some((entry, namespace)) = self.inner.near.as_ref().and_then(|near| near.get(key))
        else {
            return Near::Miss;
        };
        if self.inner.clock.now_nanos() < entry.expires_at() {
            return Near::Hit(entry, namespace);
        }
        self.expire(key, &entry, namespace);
        Near::Miss
    }

    /// Removes the expired entry `entry` under `key`, unless it was replaced meanwhile.
    #[cold]
    fn expire<K: CacheKey>(&self, key: &K, entry: &TypedValue<K::Value>, namespace: NamespaceId) {
        if self
            .inner
            .near
            .as_ref()
            .is_some_and(|near| near.remove_if_same(key, entry))
        {
            self.inner.stats.incr(namespace, Counter::Expiration);
        }
    }

    #[cold]
    fn record_miss<K: CacheKey>(&self) {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Miss);
    }

    /// Takes back a miss that [`record_miss`](Self::record_miss) counted; returns the namespace.
    fn retract_miss<K: CacheKey>(&self) -> NamespaceId {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.retract(ns, Counter::Miss);
        ns
    }

    /// Runs one far-tier call under the failure policy.
    async fn far_call<T>(
        &self,
        ns: NamespaceId,
        what: &'static str,
        call: crate::store::StoreFuture<'_, T>,
    ) -> Result<T, crate::store::StoreError> {
        match &self.inner.far {
            Some(far) => {
                far.call(&self.inner.clock, &self.inner.stats, ns, what, call)
                    .await
            }
            None => Err(crate::store::StoreError::new(
                crate::store::StoreErrorKind::Config,
                "no far tier",
            )),
        }
    }

    /// Writes `value` (or a remembered "not found" when `None`) under `key` in every tier.
    async fn store<K: CacheKey>(&self, key: K, value: Option<Arc<K::Value>>) {
        if let Some(ttl) = self.store_local(key.clone(), value.clone()) {
            self.store_far(&key, value.as_deref(), ttl).await;
        }
    }

    /// The in-process half of [`store`](Self::store): keeps the entry and counts the insert;
    /// returns the TTL it used, or `None` when there was nothing to keep (a "not found" for a
    /// key type without negative caching).
    fn store_local<K: CacheKey>(
        &self,
        key: K,
        value: Option<Arc<K::Value>>,
    ) -> Option<Option<Duration>> {
        let ttl = match &value {
            Some(_) => K::POLICY.entry_ttl(fastrand::f64()),
            None => Some(K::POLICY.negative_time_to_live()?),
        };
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Insert);
        let tags = key.tags();
        let tags = (!tags.is_empty()).then(|| tags.into());
        self.store_near_tagged(key, value, ttl, tags);
        Some(ttl)
    }

    /// The far half of [`store`](Self::store). A remembered "not found" stays in process.
    async fn store_far<K: CacheKey>(
        &self,
        key: &K,
        value: Option<&K::Value>,
        ttl: Option<Duration>,
    ) {
        if let Some(value) = value {
            self.store_far_tagged(key, value, ttl, &key.tags()).await;
        }
    }

    /// Writes `value` to the far tier under `key` and `tags`, failing open.
    async fn store_far_tagged<K: CacheKey>(
        &self,
        key: &K,
        value: &K::Value,
        ttl: Option<Duration>,
        tags: &[String],
    ) {
        if let Err(e) = self.try_store_far(key, value, ttl, tags).await
            && e.kind() == crate::ErrorKind::Codec
        {
            // Store failures were logged by the failure policy; this one was not.
            tracing::warn!(namespace = K::NAMESPACE, error = %e, "value does not encode for the far tier; kept in process only");
        }
    }

    /// Writes `value` to the far tier under `key`, recorded under `tags`; reports failures.
    async fn try_store_far<K: CacheKey>(
        &self,
        key: &K,
        value: &K::Value,
        ttl: Option<Duration>,
        tags: &[String],
    ) -> Result<(), Error> {
        let Some(far) = &self.inner.far else {
            return Ok(());
        };
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        if <K::Codec as Codec<K::Value>>::HASH {
            let fields = <K::Codec as Codec<K::Value>>::encode_fields(value)?;
            self.far_call(
                ns,
                "HSET",
                far.store.set_hash(&rendered, &fields, ttl, tags),
            )
            .await?;
        } else {
            let bytes = <K::Codec as Codec<K::Value>>::encode(value)?;
            if tags.is_empty() {
                self.far_call(ns, "SET", far.store.set(&rendered, &bytes, ttl))
                    .await?;
            } else {
                self.far_call(
                    ns,
                    "SET tagged",
                    far.store.set_tagged(&rendered, &bytes, ttl, tags),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Keeps a copy of a far entry in process with the key type's TTL; nothing (not even the
    /// key's clone) when there is no in-process tier.
    fn store_near<K: CacheKey>(&self, key: &K, value: &Arc<K::Value>) {
        if self.inner.near.is_some() {
            let ttl = K::POLICY.entry_ttl(fastrand::f64());
            self.store_near_ttl(key.clone(), Some(value.clone()), ttl);
        }
    }

    /// Keeps `value` (or a remembered "not found") in process for `ttl`.
    fn store_near_ttl<K: CacheKey>(
        &self,
        key: K,
        value: Option<Arc<K::Value>>,
        ttl: Option<Duration>,
    ) {
        self.store_near_tagged(key, value, ttl, None);
    }

    /// Keeps `value` in process for `ttl`, remembering its tags.
    fn store_near_tagged<K: CacheKey>(
        &self,
        key: K,
        value: Option<Arc<K::Value>>,
        ttl: Option<Duration>,
        tags: Option<Arc<[String]>>,
    ) {
        let Some(near) = &self.inner.near else {
            return;
        };
        // With a far tier shared by other instances, copies here live at most `near_ttl`.
        let ttl = match (ttl, self.inner.near_ttl) {
            (Some(t), Some(cap)) => Some(t.min(cap)),
            (t, cap) => t.or(cap),
        };
        let now = self.inner.clock.now_nanos();
        let deadline = |after: Option<Duration>| {
            after.map_or(u64::MAX, |d| {
                now.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            })
        };
        let Some(floor) = near.floor_of::<K>() else {
            return;
        };
        let weight = floor.map_or(1, |floor| {
            let bytes = value.as_deref().map_or(0, K::weigh) + key.weigh_key() + ENTRY_OVERHEAD;
            u32::try_from((bytes as u64).max(floor)).unwrap_or(u32::MAX)
        });
        let refresh_at = if value.is_some() {
            deadline(K::POLICY.time_to_refresh())
        } else {
            u64::MAX
        };
        let entry = TypedValue::new(value, deadline(ttl), weight, refresh_at, tags.as_deref());
        near.insert(key, entry);
    }
}

/// The bytes an entry costs beyond its key and value: the map slot, deadlines and the value's
/// reference counts, roughly.
const ENTRY_OVERHEAD: usize = 64;

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.entry_count())
            .field("weight", &self.weighted_size())
            .field("far", &self.inner.far.as_ref().map(|far| &far.store))
            .finish_non_exhaustive()
    }
}
