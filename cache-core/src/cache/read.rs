//! Reads: the in-process tier first, then the far tier, whose answer is decoded and kept in
//! process.

use std::sync::Arc;

use super::Cache;
use crate::codec::Codec;
use crate::error::Error;
use crate::key::CacheKey;
use crate::near::TypedValue;
use crate::stats::{Counter, NamespaceId};

/// What the in-process tier holds for a key of type `K`.
pub(super) enum Near<K: CacheKey> {
    /// A live entry, and the namespace to count it in.
    Hit(TypedValue<K::Value>, NamespaceId),
    /// Nothing live (an expired entry was removed).
    Miss,
}

impl Cache {
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
    pub(super) async fn try_get_far<K: CacheKey>(
        &self,
        key: &K,
    ) -> Result<Option<Arc<K::Value>>, Error> {
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
    pub(super) async fn far_lookup<K: CacheKey>(
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
    ) -> Result<Option<Arc<K::Value>>, Error> {
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
                self.keep_far_copy(key, &value);
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
    async fn drop_undecodable(&self, ns: NamespaceId, rendered: &str, e: &Error) {
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
                            self.keep_far_copy(&keys[i], &value);
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

    /// Looks `key` up in the in-process tier, removing it if it has expired.
    pub(super) fn near<K: CacheKey>(&self, key: &K) -> Near<K> {
        let Some((entry, namespace)) = self.inner.near.as_ref().and_then(|near| near.get(key))
        else {
            return Near::Miss;
        };
        if self.inner.clock.now_nanos() < entry.expires_at() {
            return Near::Hit(entry, namespace);
        }
        self.drop_expired(key, &entry, namespace);
        Near::Miss
    }

    /// Removes the expired entry `entry` under `key`, unless it was replaced meanwhile.
    #[cold]
    fn drop_expired<K: CacheKey>(
        &self,
        key: &K,
        entry: &TypedValue<K::Value>,
        namespace: NamespaceId,
    ) {
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
    pub(super) fn record_miss<K: CacheKey>(&self) {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Miss);
    }

    /// Takes back a miss that [`record_miss`](Self::record_miss) counted; returns the namespace.
    pub(super) fn retract_miss<K: CacheKey>(&self) -> NamespaceId {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.retract(ns, Counter::Miss);
        ns
    }
}
