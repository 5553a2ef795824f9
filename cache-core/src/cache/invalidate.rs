//! Removal: by key, by tag, by prefix, and of the whole in-process tier.

use super::coherence::Named;
use super::retry::Pending;
use super::{Cache, TAGS_NAMESPACE};
use crate::error::Error;
use crate::key::{CacheKey, KeyPrefix};
use crate::stats::Counter;

/// Where invalidations by rendered key or text prefix are counted: they name no key type.
#[cfg(feature = "redis")]
const RENDERED_NAMESPACE: &str = "(rendered)";

impl Cache {
    /// Removes every entry written with `tag`, in every tier; returns how many keys the far
    /// tier removed, or the in-process tier when there is none. When the far tier fails, the
    /// invalidation is retried in the background until it takes it.
    pub async fn invalidate_tag(&self, tag: &str) -> u64 {
        // Fail open: a far-tier failure was counted, logged and queued for a retry.
        self.try_invalidate_tag(tag).await.unwrap_or(0)
    }

    /// [`invalidate_tag`](Self::invalidate_tag) that reports a failed far tier; the in-process
    /// entries are removed either way.
    pub(crate) async fn try_invalidate_tag(&self, tag: &str) -> Result<u64, Error> {
        let near = self
            .inner
            .near
            .as_ref()
            .map_or(0, |near| near.remove_tagged(tag));
        let Some(far) = &self.inner.far else {
            return Ok(near);
        };
        let ns = self.inner.stats.namespace(TAGS_NAMESPACE);
        let removal = self
            .far_call(ns, "invalidate tag", far.store.invalidate_tag(tag))
            .await
            .inspect_err(|_| self.retry_later(Pending::Tag(tag.to_owned())))?;
        self.inner
            .stats
            .add(ns, Counter::Invalidation, removal.removed);
        self.announce_tag(tag, &removal.keys).await;
        Ok(removal.removed)
    }

    /// Removes the entry under `key` from every tier.
    ///
    /// When the far tier fails (or the circuit breaker skips it), the in-process copy is gone
    /// at once and the far tier's is removed by a background retry as soon as it answers; see
    /// [`pending_invalidations`](Self::pending_invalidations).
    pub async fn invalidate<K: CacheKey>(&self, key: &K) {
        // Fail open: a far-tier failure was counted, logged and queued for a retry.
        let _ = self.try_invalidate(key).await;
    }

    /// [`invalidate`](Self::invalidate) that reports a failed far tier; the in-process copy is
    /// removed either way.
    pub(super) async fn try_invalidate<K: CacheKey>(&self, key: &K) -> Result<(), Error> {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let mut removed = self
            .inner
            .near
            .as_ref()
            .and_then(|near| near.remove(key))
            .is_some();
        let far = match &self.inner.far {
            Some(far) => {
                let keys = vec![key.render()];
                let result = self.far_call(ns, "UNLINK", far.store.delete(&keys)).await;
                removed |= matches!(result, Ok(n) if n > 0);
                if result.is_err() {
                    self.retry_later(Pending::Keys(K::NAMESPACE, keys));
                } else {
                    self.announce(&[Named::Keys(&keys)]).await;
                }
                result.map(|_| ())
            }
            None => Ok(()),
        };
        if removed {
            self.inner.stats.incr(ns, Counter::Invalidation);
        }
        far
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
            Err(e) if e.is_store_failure() => Ok(0),
            other => other,
        }
    }

    /// [`invalidate_prefix`](Self::invalidate_prefix) that reports a failed far tier.
    pub(super) async fn try_invalidate_prefix(&self, prefix: &KeyPrefix) -> Result<u64, Error> {
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
            .await
            .inspect_err(|_| self.retry_later(Pending::Prefix(prefix.clone())))?;
        self.inner.stats.add(ns, Counter::Invalidation, removed);
        self.announce(&[Named::Prefix(prefix.as_str())]).await;
        Ok(removed)
    }

    /// Removes the entry whose rendered key is `key` (as [`CacheKey::render`] spells it), of
    /// whichever key type, from every tier; returns how many tiers held it. For invalidations
    /// named by another service, which knows the rendered keys but not the Rust types.
    ///
    /// # Errors
    ///
    /// The far tier's error (the in-process copy is removed either way).
    #[cfg(feature = "redis")]
    pub(crate) async fn try_invalidate_rendered(&self, key: &str) -> Result<u64, Error> {
        let near = self
            .inner
            .near
            .as_ref()
            .map_or(0, |near| near.remove_rendered(key));
        let Some(far) = &self.inner.far else {
            return Ok(near);
        };
        let ns = self.inner.stats.namespace(RENDERED_NAMESPACE);
        let keys = vec![key.to_owned()];
        let removed = self.far_call(ns, "UNLINK", far.store.delete(&keys)).await?;
        self.inner.stats.add(ns, Counter::Invalidation, removed);
        self.announce(&[Named::Keys(&keys)]).await;
        Ok(near + removed)
    }

    /// Removes every entry whose rendered key starts with the text `prefix` (matched as text,
    /// not by segments: `user` also names `user2:…`), in every tier; returns how many keys the
    /// far tier removed, or the in-process tier when there is none.
    ///
    /// # Errors
    ///
    /// [`UnboundedPrefix`](crate::ErrorKind::UnboundedPrefix) for an empty prefix, which
    /// would name every key; the far tier's error.
    #[cfg(feature = "redis")]
    pub(crate) async fn try_invalidate_rendered_prefix(&self, prefix: &str) -> Result<u64, Error> {
        self.try_invalidate_prefix(&KeyPrefix::raw(prefix.to_owned(), RENDERED_NAMESPACE))
            .await
    }

    /// The rendered keys in `prefix`: from the far tier when there is
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

    /// Removes every entry of the in-process tier, of every key type. The far tier is shared
    /// with other instances and is left alone: remove its entries by prefix with
    /// [`invalidate_prefix`](Self::invalidate_prefix) or by tag with
    /// [`invalidate_tag`](Self::invalidate_tag).
    pub fn invalidate_all_in_process(&self) {
        if let Some(near) = &self.inner.near {
            near.clear();
        }
    }
}
