//! Writes: every entry goes through one in-process write ([`Cache::write_near`]) and one far
//! write ([`Cache::write_far`]).

use std::sync::Arc;
use std::time::Duration;

use super::Cache;
use super::coherence::Named;
use crate::codec::Codec;
use crate::error::Error;
use crate::key::CacheKey;
use crate::near::TypedValue;
use crate::stats::Counter;
use crate::store::StoreEntry;

/// The bytes an entry costs beyond its key and value: the map slot, deadlines and the value's
/// reference counts, roughly.
const ENTRY_OVERHEAD: usize = 64;

impl Cache {
    /// Writes `value` under `key` with the key type's TTL, in every tier, replacing what was
    /// there.
    pub async fn insert<K: CacheKey>(&self, key: K, value: K::Value) {
        self.insert_arc(key, Arc::new(value)).await;
    }

    /// Writes a shared value under `key`; the in-process tier keeps this `Arc`, it does not
    /// copy it.
    pub async fn insert_arc<K: CacheKey>(&self, key: K, value: Arc<K::Value>) {
        let ttl = K::POLICY.entry_ttl(fastrand::f64());
        // Fail open: a far-tier failure was counted and logged.
        let _ = self.write(key, value, ttl, &[]).await;
    }

    /// Writes `value` under `key` like [`insert`](Self::insert), and records it under each of
    /// `tags`, so that [`invalidate_tag`](Self::invalidate_tag) removes it with the rest of
    /// the tag (such as `Surrogate-Key` groups, or every cache entry of one merchant).
    pub async fn insert_tagged<K: CacheKey>(&self, key: K, value: K::Value, tags: &[&str]) {
        let ttl = K::POLICY.entry_ttl(fastrand::f64());
        let _ = self.write(key, Arc::new(value), ttl, tags).await;
    }

    /// Writes `value` under `key` to live `ttl` instead of the key type's TTL: for values whose
    /// lifetime is decided when they are written, such as HTTP responses whose `Cache-Control`
    /// sets it. A zero `ttl` writes nothing.
    pub async fn insert_expiring<K: CacheKey>(&self, key: K, value: Arc<K::Value>, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let _ = self.write(key, value, Some(ttl), &[]).await;
    }

    /// Writes every `(key, value)` pair; the far tier gets the plain ones in one batch (one
    /// pipeline on Redis), hash-shaped and tagged ones one by one, each atomically.
    pub async fn insert_many<K: CacheKey>(&self, entries: Vec<(K, K::Value)>) {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let mut batch = Vec::with_capacity(entries.len());
        let mut announced = Vec::new();
        for (key, value) in entries {
            let value = Arc::new(value);
            let ttl = K::POLICY.entry_ttl(fastrand::f64());
            let tags = entry_tags(&key, Some(&value), &[]);
            self.inner.stats.incr(ns, Counter::Insert);
            self.write_near(key.clone(), Some(value.clone()), ttl, &tags);
            if self.inner.far.is_none() {
                continue;
            }
            if <K::Codec as Codec<K::Value>>::HASH || !tags.is_empty() {
                if self.write_far(&key, &value, ttl, &tags).await.is_ok() && self.is_coherent() {
                    announced.push(key.render());
                }
                continue;
            }
            match <K::Codec as Codec<K::Value>>::encode(&value) {
                Ok(bytes) => batch.push(StoreEntry::new(key.render(), bytes, ttl)),
                Err(e) => warn_unencodable::<K>(&e),
            }
        }
        if let Some(far) = &self.inner.far
            && !batch.is_empty()
        {
            let written = self
                .far_call(ns, "SET batch", far.store.set_many(&batch))
                .await;
            if written.is_ok() && self.is_coherent() {
                announced.extend(batch.into_iter().map(|entry| entry.key));
            }
        }
        if !announced.is_empty() {
            self.announce(&[Named::Keys(&announced)]).await;
        }
    }

    /// Writes a new value to every tier, counting the insert: in process first, then the far
    /// tier (whose failure is returned; it was counted and logged already).
    pub(super) async fn write<K: CacheKey>(
        &self,
        key: K,
        value: Arc<K::Value>,
        ttl: Option<Duration>,
        extra_tags: &[&str],
    ) -> Result<(), Error> {
        let tags = entry_tags(&key, Some(&value), extra_tags);
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Insert);
        self.write_near(key.clone(), Some(value.clone()), ttl, &tags);
        let written = self.write_far(&key, &value, ttl, &tags).await;
        if written.is_ok() {
            self.announce_key(&key).await;
        }
        written
    }

    /// Keeps a loaded value, or a loader's "not found" when `value` is `None`, in process,
    /// counting the insert. Returns how the far tier should keep a value: its TTL and tags.
    /// `None` when nothing was kept (a "not found" of a key type without negative caching).
    pub(super) fn keep_loaded<K: CacheKey>(
        &self,
        key: &K,
        value: Option<&Arc<K::Value>>,
    ) -> Option<Kept> {
        let ttl = match value {
            Some(_) => K::POLICY.entry_ttl(fastrand::f64()),
            None => Some(K::POLICY.negative_time_to_live()?),
        };
        let tags = entry_tags(key, value.map(|v| &**v), &[]);
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Insert);
        self.write_near(key.clone(), value.cloned(), ttl, &tags);
        Some(Kept { ttl, tags })
    }

    /// Writes a loaded value to the far tier as [`keep_loaded`](Self::keep_loaded) planned.
    /// A remembered "not found" stays in process: another service reading the key must never
    /// take a marker for a value.
    pub(super) async fn write_loaded<K: CacheKey>(
        &self,
        key: &K,
        value: Option<&K::Value>,
        kept: &Kept,
    ) {
        if let Some(value) = value {
            let _ = self.write_far(key, value, kept.ttl, &kept.tags).await;
        }
    }

    /// Keeps, in process, the copy of a value just read from the far tier.
    pub(super) fn keep_far_copy<K: CacheKey>(&self, key: &K, value: &Arc<K::Value>) {
        if self.inner.near.is_some() {
            let ttl = K::POLICY.entry_ttl(fastrand::f64());
            let tags = entry_tags(key, Some(value), &[]);
            self.write_near(key.clone(), Some(value.clone()), ttl, &tags);
        }
    }

    /// The one in-process write: `value` (or a remembered "not found" when `None`) under `key`
    /// for `ttl` (capped by `near_ttl` when a far tier is shared), recorded under `tags`.
    pub(super) fn write_near<K: CacheKey>(
        &self,
        key: K,
        value: Option<Arc<K::Value>>,
        ttl: Option<Duration>,
        tags: &[String],
    ) {
        let Some(near) = &self.inner.near else {
            return;
        };
        // With a far tier shared by other instances, copies here live at most `near_ttl`.
        let ttl = match (ttl, self.inner.near_ttl) {
            (Some(t), Some(cap)) => Some(t.min(cap)),
            (t, cap) => t.or(cap),
        };
        let Some(floor) = near.floor_of::<K>() else {
            return;
        };
        let weight = floor.map_or(1, |floor| {
            let bytes = value.as_deref().map_or(0, K::weigh) + key.weigh_key() + ENTRY_OVERHEAD;
            u32::try_from((bytes as u64).max(floor)).unwrap_or(u32::MAX)
        });
        let now = self.inner.clock.now_nanos();
        let deadline = |after: Option<Duration>| {
            after.map_or(u64::MAX, |d| {
                now.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            })
        };
        let refresh_at = if value.is_some() {
            deadline(K::POLICY.refresh_after())
        } else {
            u64::MAX
        };
        let entry = TypedValue::new(value, deadline(ttl), weight, refresh_at, Some(tags));
        near.insert(key, entry);
    }

    /// The one far write: `value` encoded under `key` for `ttl`, recorded under `tags`. A value
    /// that does not encode stays in process only (and is logged); a failed far tier was
    /// counted and logged by the failure policy.
    pub(super) async fn write_far<K: CacheKey>(
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
            let fields = <K::Codec as Codec<K::Value>>::encode_fields(value)
                .inspect_err(warn_unencodable::<K>)?;
            let call = far.store.set_hash(&rendered, &fields, ttl, tags);
            return self.far_call(ns, "HSET", call).await;
        }
        let bytes =
            <K::Codec as Codec<K::Value>>::encode(value).inspect_err(warn_unencodable::<K>)?;
        if tags.is_empty() {
            self.far_call(ns, "SET", far.store.set(&rendered, &bytes, ttl))
                .await
        } else {
            let call = far.store.set_tagged(&rendered, &bytes, ttl, tags);
            self.far_call(ns, "SET tagged", call).await
        }
    }
}

/// How a loaded value was kept in process, for its far write.
pub(super) struct Kept {
    ttl: Option<Duration>,
    tags: Vec<String>,
}

/// Every tag an entry is recorded under: the key type's for this key and value, and `extra`.
pub(super) fn entry_tags<K: CacheKey>(
    key: &K,
    value: Option<&K::Value>,
    extra: &[&str],
) -> Vec<String> {
    let mut tags = key.tags();
    if let Some(value) = value {
        for tag in K::value_tags(value) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    for &tag in extra {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

fn warn_unencodable<K: CacheKey>(e: &Error) {
    tracing::warn!(namespace = K::NAMESPACE, error = %e, "value does not encode for the far tier; kept in process only");
}
