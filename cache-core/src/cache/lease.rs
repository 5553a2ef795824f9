//! Leases: a distributed lock with an owner token and an expiry.

use std::time::Duration;

use super::Cache;
use crate::error::Error;
use crate::key::CacheKey;
use crate::stats::NamespaceId;

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
    /// [`Error`] when the far tier fails; the lease then expires by itself.
    pub async fn release(self) -> Result<bool, Error> {
        let call = self.cache.coordination()?.unlock(&self.key, &self.token);
        self.cache.far_call(self.namespace, "UNLOCK", call).await
    }
}

impl Cache {
    /// Takes the lock under `key` for `lease` if nobody holds it (`SET NX PX` with a random
    /// token, on Redis); `None` when somebody does.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails or offers no leases: a lock that fails open would not
    /// be a lock.
    pub async fn try_lock<K: CacheKey>(
        &self,
        key: &K,
        lease: Duration,
    ) -> Result<Option<Lease>, Error> {
        let namespace = self.inner.stats.namespace(K::NAMESPACE);
        self.lease(namespace, key.render(), lease).await
    }

    /// Takes the lease `key` (rendered) for `lease`, if nobody holds it.
    pub(super) async fn lease(
        &self,
        namespace: NamespaceId,
        key: String,
        lease: Duration,
    ) -> Result<Option<Lease>, Error> {
        let token = token();
        let call = self.coordination()?.try_lock(&key, &token, lease);
        let taken = self.far_call(namespace, "SET NX", call).await?;
        Ok(taken.then(|| Lease {
            cache: self.clone(),
            key,
            token,
            namespace,
        }))
    }

    /// Like [`try_lock`](Self::try_lock), retrying every `retry` until `wait` has passed; `None`
    /// when the lock stayed taken.
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
