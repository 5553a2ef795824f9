//! Counters: rate limits and attempt counts (seed 001), with the TTL set atomically.

use std::sync::Arc;
use std::time::Duration;

use super::{Cache, Near};
use crate::error::Error;
use crate::key::CacheKey;

impl Cache {
    /// Adds `by` to the counter under `key` and returns the new value.
    ///
    /// A counter that this call creates gets the key type's TTL in the same atomic step (on
    /// Redis a Lua script), so no interleaving of callers leaves a counter without expiry, as
    /// seed 001's `INCR` then `EXPIRE` can. Later increments keep the original expiry: the
    /// window is fixed. Counters live in the far tier when there is one, shared by every
    /// instance; in a memory-only cache they live in process.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Store`](crate::ErrorKind::Store) when the far tier fails: a counter
    /// guards something (a rate limit, an OTP), so the caller decides how to fail.
    pub async fn increment<K>(&self, key: &K, by: i64) -> Result<i64, Error>
    where
        K: CacheKey<Value = i64>,
    {
        self.increment_within(key, by, K::POLICY.time_to_live())
            .await
    }

    /// [`increment`](Self::increment) with the expiry of a counter this call creates given
    /// here (`None`: none) instead of by the key type: for windows chosen at run time, such as
    /// a rate limit's.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn increment_within<K>(
        &self,
        key: &K,
        by: i64,
        ttl: Option<Duration>,
    ) -> Result<i64, Error>
    where
        K: CacheKey<Value = i64>,
    {
        if let Some(far) = &self.inner.far {
            let ns = self.inner.stats.namespace(K::NAMESPACE);
            let rendered = key.render();
            return Ok(self
                .far_call(ns, "INCRBY", far.store.increment(&rendered, by, ttl))
                .await?);
        }
        let _serial = self.inner.local.counters.lock().await;
        let now = self.inner.clock.now_nanos();
        let (current, remaining) = match self.near(key) {
            Near::Hit(entry, _) => {
                let left = (entry.expires_at() != u64::MAX)
                    .then(|| Duration::from_nanos(entry.expires_at().saturating_sub(now)));
                (entry.into_value().map_or(0, |v| *v), left)
            }
            Near::Miss => (0, ttl),
        };
        let next = current.saturating_add(by);
        self.store_near_ttl(key.clone(), Some(Arc::new(next)), remaining);
        Ok(next)
    }

    /// One request against a GCRA limit under `key` (see [`Throttle`](crate::Throttle)): at most
    /// `limit` requests per `period` sustained, `burst` of them at once. In the far tier when
    /// there is one (a Lua script on Redis's clock, shared by every instance), else in process.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn throttle<K>(
        &self,
        key: &K,
        limit: u64,
        period: Duration,
        burst: u64,
    ) -> Result<crate::Throttle, Error>
    where
        K: CacheKey<Value = i64>,
    {
        let interval = crate::throttle::interval_ms(limit, period);
        if let Some(far) = &self.inner.far {
            let ns = self.inner.stats.namespace(K::NAMESPACE);
            let rendered = key.render();
            let call = far
                .store
                .throttle(&rendered, Duration::from_millis(interval), burst);
            return Ok(self.far_call(ns, "throttle", call).await?);
        }
        let _serial = self.inner.local.counters.lock().await;
        let now = self.inner.clock.now_nanos() / 1_000_000;
        let tat = match self.near(key) {
            Near::Hit(entry, _) => entry.into_value().map(|v| u64::try_from(*v).unwrap_or(0)),
            Near::Miss => None,
        };
        let (outcome, next) = crate::throttle::gcra(tat, now, interval, burst);
        if let Some(next) = next {
            let stored = Arc::new(i64::try_from(next).unwrap_or(i64::MAX));
            self.store_near_ttl(
                key.clone(),
                Some(stored),
                Some(Duration::from_millis(next - now)),
            );
        }
        Ok(outcome)
    }

    /// The current value of the counter under `key`, read from where
    /// [`increment`](Self::increment) keeps it; `None` when there is none.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn counter<K>(&self, key: &K) -> Result<Option<i64>, Error>
    where
        K: CacheKey<Value = i64>,
    {
        if let Some(far) = &self.inner.far {
            let ns = self.inner.stats.namespace(K::NAMESPACE);
            let rendered = key.render();
            let bytes = self.far_call(ns, "GET", far.store.get(&rendered)).await?;
            return Ok(bytes.and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok()));
        }
        Ok(match self.near(key) {
            Near::Hit(entry, _) => entry.into_value().map(|v| *v),
            Near::Miss => None,
        })
    }

    /// The time the counter (or any entry) under `key` has left in the far tier, or in process
    /// when there is no far tier; `None` when there is no such entry (seed 001's
    /// `X-RateLimit-Reset`).
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn time_to_live<K: CacheKey>(&self, key: &K) -> Result<Option<Duration>, Error> {
        if let Some(far) = &self.inner.far {
            let ns = self.inner.stats.namespace(K::NAMESPACE);
            let rendered = key.render();
            let ttl = self.far_call(ns, "PTTL", far.store.ttl(&rendered)).await?;
            return Ok(ttl.map(|t| t.unwrap_or(Duration::MAX)));
        }
        let now = self.inner.clock.now_nanos();
        Ok(match self.near(key) {
            Near::Hit(entry, _) if entry.expires_at() == u64::MAX => Some(Duration::MAX),
            Near::Hit(entry, _) => {
                Some(Duration::from_nanos(entry.expires_at().saturating_sub(now)))
            }
            Near::Miss => None,
        })
    }
}
