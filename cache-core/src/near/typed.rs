//! [`TypedStore`]: the entries of one key type, in a concurrent map keyed by the typed key.
//!
//! Keys and deadlines sit inline in the map's slots, so a hit reads the slot and the value's
//! reference count and nothing else: no string is built, no box is followed, nothing is
//! decoded.

use std::cell::Cell;
use std::sync::Arc;

use quick_cache::sync::Cache as QuickCache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

use crate::key::{CacheKey, KeyPrefix};
use crate::stats::{Counter, NamespaceId, StatsTable};

/// A stored value: the decoded value (or a remembered "not found") and its deadline.
///
/// Every hit clones it, so it is kept to 32 bytes and one reference-count increment; what
/// only some entries have (a refresh deadline, tags) sits behind [`Extra`].
pub(crate) struct TypedValue<V> {
    /// `None` is a remembered "not found" (negative caching).
    pub(crate) value: Option<Arc<V>>,
    /// Clock nanos at which the entry expires; `u64::MAX` for never.
    pub(crate) expires_at: u64,
    pub(crate) weight: u32,
    pub(crate) extra: Option<Arc<Extra>>,
}

/// What refresh-ahead and tagged entries carry besides their value.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// Clock nanos after which a hit reloads the entry in the background; `u64::MAX` for never.
    pub(crate) refresh_at: u64,
    /// The tags the entry was written with, for `invalidate_tag`.
    pub(crate) tags: Box<[String]>,
}

impl<V> Clone for TypedValue<V> {
    #[inline]
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            expires_at: self.expires_at,
            weight: self.weight,
            extra: self.extra.clone(),
        }
    }
}

impl<V> TypedValue<V> {
    /// Clock nanos after which a hit reloads the entry; `u64::MAX` for never.
    pub(crate) fn refresh_at(&self) -> u64 {
        self.extra
            .as_ref()
            .map_or(u64::MAX, |extra| extra.refresh_at)
    }
}

impl<V> TypedValue<V> {
    /// Whether both are the same write (for removing exactly the entry that was read).
    fn same_write(&self, other: &Self) -> bool {
        self.expires_at == other.expires_at
            && match (&self.value, &other.value) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

#[derive(Clone)]
struct EntryWeighter;

impl<K, V> Weighter<K, TypedValue<V>> for EntryWeighter {
    fn weight(&self, _: &K, value: &TypedValue<V>) -> u64 {
        u64::from(value.weight.max(1))
    }
}

/// Counts evictions in the store's namespace.
#[derive(Clone)]
struct CountEvictions {
    stats: Arc<StatsTable>,
    namespace: NamespaceId,
}

impl<K, V> Lifecycle<K, TypedValue<V>> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _: K, _: TypedValue<V>) {
        self.stats.incr(self.namespace, Counter::Eviction);
    }
}

type Map<K> = QuickCache<
    K,
    TypedValue<<K as CacheKey>::Value>,
    EntryWeighter,
    DefaultHashBuilder,
    CountEvictions,
>;

/// The entries of key type `K`.
pub(crate) struct TypedStore<K: CacheKey> {
    map: Map<K>,
    pub(crate) namespace: NamespaceId,
}

impl<K: CacheKey> TypedStore<K> {
    pub(crate) fn new(
        estimated_entries: u64,
        capacity: u64,
        stats: Arc<StatsTable>,
        namespace: NamespaceId,
    ) -> Self {
        let options = OptionsBuilder::new()
            .estimated_items_capacity(
                usize::try_from(estimated_entries.max(1)).unwrap_or(usize::MAX),
            )
            .weight_capacity(capacity.max(1))
            .build()
            .expect("quick_cache accepts any non-zero capacities");
        let lifecycle = CountEvictions { stats, namespace };
        Self {
            map: QuickCache::with_options(
                options,
                EntryWeighter,
                DefaultHashBuilder::default(),
                lifecycle,
            ),
            namespace,
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<TypedValue<K::Value>> {
        self.map.get(key)
    }

    pub(crate) fn insert(&self, key: K, value: TypedValue<K::Value>) {
        self.map.insert(key, value);
    }

    /// Removes `key`; returns whether it was there.
    pub(crate) fn remove(&self, key: &K) -> bool {
        self.map.remove(key).is_some()
    }

    /// Removes `key` only if it still holds the write `seen`.
    pub(crate) fn remove_if_same(&self, key: &K, seen: &TypedValue<K::Value>) -> bool {
        self.map.remove_if(key, |v| v.same_write(seen)).is_some()
    }
}

/// What the store-wide operations need of a [`TypedStore`], whatever its key type.
pub(crate) trait ErasedStore: Send + Sync {
    /// Removes the entries in `prefix`, counting each; returns how many.
    fn remove_prefix(&self, prefix: &KeyPrefix, stats: &StatsTable) -> u64;
    /// The rendered keys of the entries in `prefix` that are live at `now`.
    fn keys_with_prefix(&self, prefix: &KeyPrefix, now: u64, out: &mut Vec<String>);
    /// Removes the entries written with `tag`, counting each; returns how many.
    fn remove_tagged(&self, tag: &str, stats: &StatsTable) -> u64;
    /// Whether any key of this type can be in `prefix`.
    fn may_hold(&self, prefix: &KeyPrefix) -> bool;
    fn set_capacity(&self, capacity: u64);
    fn len(&self) -> usize;
    fn weight(&self) -> u64;
    fn clear(&self);
}

impl<K: CacheKey> ErasedStore for TypedStore<K> {
    fn remove_prefix(&self, prefix: &KeyPrefix, stats: &StatsTable) -> u64 {
        let removed = Cell::new(0u64);
        self.map.retain(|key, _| {
            let hit = prefix.matches(&key.render());
            if hit {
                removed.set(removed.get() + 1);
            }
            !hit
        });
        stats.add(self.namespace, Counter::Invalidation, removed.get());
        removed.get()
    }

    fn keys_with_prefix(&self, prefix: &KeyPrefix, now: u64, out: &mut Vec<String>) {
        // A read-only walk: listing takes no write lock.
        out.extend(
            self.map
                .iter()
                .filter(|(_, value)| value.expires_at > now)
                .map(|(key, _)| key.render())
                .filter(|text| prefix.matches(text)),
        );
    }

    fn remove_tagged(&self, tag: &str, stats: &StatsTable) -> u64 {
        let removed = Cell::new(0u64);
        self.map.retain(|_, value| {
            let hit = value
                .extra
                .as_ref()
                .is_some_and(|extra| extra.tags.iter().any(|t| t == tag));
            if hit {
                removed.set(removed.get() + 1);
            }
            !hit
        });
        stats.add(self.namespace, Counter::Invalidation, removed.get());
        removed.get()
    }

    fn may_hold(&self, prefix: &KeyPrefix) -> bool {
        let own = KeyPrefix::of::<K>();
        own.as_str().starts_with(prefix.as_str()) || prefix.as_str().starts_with(own.as_str())
    }

    fn set_capacity(&self, capacity: u64) {
        self.map.set_capacity(capacity.max(1));
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn weight(&self) -> u64 {
        self.map.weight()
    }

    fn clear(&self) {
        self.map.clear();
    }
}
