//! [`Strict`]: the cache's operations with far-tier failures reported instead of absorbed.

use std::sync::Arc;

use super::Cache;
use crate::error::Error;
use crate::key::{CacheKey, KeyPrefix};
use crate::stats::Counter;

/// The opt-in strict mode: the same operations as [`Cache`], returning the far tier's errors
/// instead of failing open. Take it with [`Cache::strict`].
///
/// A miss is still `Ok(None)`, and an entry that does not decode is still a miss (counted and
/// deleted): only a far tier that cannot be reached, times out, is skipped by the circuit
/// breaker or answers an error is reported.
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use cache_core::{Cache, CacheKey, KeyWriter, Policy, codec::Postcard};
///
/// #[derive(Clone, PartialEq, Eq, Hash)]
/// struct Balance(u64);
/// impl CacheKey for Balance {
///     type Value = i64;
///     type Codec = Postcard;
///     const NAMESPACE: &'static str = "balance";
///     const POLICY: Policy = Policy::builder().time_to_live(Duration::from_secs(5)).build();
///     fn write_key(&self, key: &mut KeyWriter<'_>) { key.segment(self.0); }
/// }
///
/// let cache = Cache::new(100);
/// cache.strict().insert(Balance(1), 250).await?;
/// assert_eq!(cache.strict().get(&Balance(1)).await?.as_deref(), Some(&250));
/// # Ok::<(), cache_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Strict<'a> {
    cache: &'a Cache,
}

impl Cache {
    /// This cache in strict mode: far-tier failures are returned, not absorbed.
    pub fn strict(&self) -> Strict<'_> {
        Strict { cache: self }
    }
}

impl Strict<'_> {
    /// As [`Cache::get`].
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails (see [`Error::is_store_failure`]).
    pub async fn get<K: CacheKey>(&self, key: &K) -> Result<Option<Arc<K::Value>>, Error> {
        if let super::read::Near::Hit(entry, namespace) = self.cache.near(key) {
            self.cache.inner.stats.incr(namespace, Counter::Hit);
            return Ok(entry.into_value());
        }
        self.cache.try_get_far(key).await
    }

    /// As [`Cache::insert`].
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails (see [`Error::is_store_failure`]), or of kind
    /// [`Codec`](crate::ErrorKind::Codec) when the value does not encode; the in-process copy
    /// is written either way.
    pub async fn insert<K: CacheKey>(&self, key: K, value: K::Value) -> Result<(), Error> {
        let ttl = K::POLICY.entry_ttl(fastrand::f64());
        self.cache.write(key, Arc::new(value), ttl, &[]).await
    }

    /// As [`Cache::invalidate`].
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails; the in-process copy is removed either way.
    pub async fn invalidate<K: CacheKey>(&self, key: &K) -> Result<(), Error> {
        self.cache.try_invalidate(key).await
    }

    /// As [`Cache::invalidate_tag`]: the in-process entries go either way, the far tier's
    /// failure is returned.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails.
    pub async fn invalidate_tag(&self, tag: &str) -> Result<u64, Error> {
        self.cache.try_invalidate_tag(tag).await
    }

    /// As [`Cache::invalidate_prefix`].
    ///
    /// # Errors
    ///
    /// As [`Cache::invalidate_prefix`], and the far tier's failure.
    pub async fn invalidate_prefix(&self, prefix: &KeyPrefix) -> Result<u64, Error> {
        self.cache.try_invalidate_prefix(prefix).await
    }
}
