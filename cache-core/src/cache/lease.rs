//! Leases: a distributed lock with an owner token and an expiry (seed 001's `RedisLock`).

use std::collections::HashMap;
use std::time::Duration;

use super::Cache;
use crate::error::Error;
use crate::key::CacheKey;
use crate::stats::NamespaceId;

/// Counters and leases of a cache with no far tier.
#[derive(Debug, Default)]
pub(super) struct Local {
    /// Serialises read-modify-write of in-process counters.
    pub(super) counters: tokio::sync::Mutex<()>,
    /// Held leases: rendered key to (token, clock nanos of expiry).
    leases: std::sync::Mutex<HashMap<String, (String, u64)>>,
}

/// A held lease: proof that this caller owns the lock until it releases it or the lease
/// expires. Dropping it without [`release`](Self::release) leaves the lock to expire.
#[derive(Debug)]
#[must_use = "a lease is released with `release().await`, or expires"]
pub struct Lease {
    cache: Cache,
    key: String,
    token: String,
    namespace: NamespaceId,
}

/// A random token that names the owner of a lease.
pub(super) fn token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

impl Lease {
    pub(super) fn new(cache: Cache, key: String, token: String, namespace: NamespaceId) -> Self {
        Self {
            cache,
            key,
            token,
            namespace,
        }
    }

    /// The owner token stored under the lock's key.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The rendered key of the lock.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Releases the lock if this lease still owns it (compare-and-delete); returns whether it
    /// did. A lease that expired and was taken by someone else is left alone.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Store`](crate::ErrorKind::Store) when the far tier fails; the lease
    /// then expires by itself.
    pub async fn release(self) -> Result<bool, Error> {
        let inner = &self.cache.inner;
        if let Some(far) = &inner.far {
            return Ok(self
                .cache
                .far_call(
                    self.namespace,
                    "UNLOCK",
                    far.store.unlock(&self.key, &self.token),
                )
                .await?);
        }
        let mut leases = inner.local.leases.lock().unwrap_or_else(|e| e.into_inner());
        let now = inner.clock.now_nanos();
        match leases.get(&self.key) {
            Some((owner, expires)) if *owner == self.token && *expires > now => {
                leases.remove(&self.key);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl Cache {
    /// Takes the lock under `key` for `lease` if nobody holds it (`SET NX PX` with a random
    /// token); `None` when somebody does.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Store`](crate::ErrorKind::Store) when the far tier fails: a lock
    /// that fails open would not be a lock.
    pub async fn try_lock<K: CacheKey>(
        &self,
        key: &K,
        lease: Duration,
    ) -> Result<Option<Lease>, Error> {
        let namespace = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        let token = token();
        let taken = match &self.inner.far {
            Some(far) => {
                self.far_call(
                    namespace,
                    "SET NX",
                    far.store.try_lock(&rendered, &token, lease),
                )
                .await?
            }
            None => {
                let mut leases = self
                    .inner
                    .local
                    .leases
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let now = self.inner.clock.now_nanos();
                leases.retain(|_, (_, expires)| *expires > now);
                if leases.contains_key(&rendered) {
                    false
                } else {
                    let expires =
                        now.saturating_add(u64::try_from(lease.as_nanos()).unwrap_or(u64::MAX));
                    leases.insert(rendered.clone(), (token.clone(), expires));
                    true
                }
            }
        };
        Ok(taken.then(|| Lease {
            cache: self.clone(),
            key: rendered,
            token,
            namespace,
        }))
    }

    /// Like [`try_lock`](Self::try_lock), retrying every `retry` until `wait` has passed
    /// (seed 001 retries every 100 ms for 5 s); `None` when the lock stayed taken.
    ///
    /// # Errors
    ///
    /// As [`try_lock`](Self::try_lock).
    pub async fn lock<K: CacheKey>(
        &self,
        key: &K,
        lease: Duration,
        wait: Duration,
        retry: Duration,
    ) -> Result<Option<Lease>, Error> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(held) = self.try_lock(key, lease).await? {
                return Ok(Some(held));
            }
            if tokio::time::Instant::now() + retry > deadline {
                return Ok(None);
            }
            tokio::time::sleep(retry).await;
        }
    }
}
