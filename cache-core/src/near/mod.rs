//! The near tier: decoded values in process memory, on [quick_cache].
//!
//! quick_cache was chosen by measurement (see `benches/README.md`): a hit costs about as much
//! as a `RwLock<HashMap>` read, against several times that for moka. It has no per-entry TTL,
//! so each entry carries its expiry stamp and a read past it removes the entry and reports a
//! miss.
//!
//! Each key type has its own map ([`TypedStore`]), keyed by the typed key itself, found through
//! a lock-free [`TypeTable`]. The cache-wide bound is shared out equally between the key types
//! in use, and again each time a new one appears; see [`Bound`].
//!
//! [quick_cache]: https://docs.rs/quick_cache

mod table;
mod typed;

use std::sync::Arc;

pub(crate) use table::MAX_KEY_TYPES;
use table::TypeTable;
use typed::TypedStore;
pub(crate) use typed::TypedValue;

use crate::key::{CacheKey, KeyPrefix};
use crate::stats::{NamespaceId, StatsTable};

/// The size bound of the near tier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub(crate) max_entries: u64,
    pub(crate) max_bytes: Option<u64>,
}

impl Bound {
    /// The weight an entry of `bytes` bytes is charged.
    ///
    /// With a byte bound `W` over `N` entries, every entry weighs at least `W / N`; a total
    /// weight of at most `W` then holds both at most `N` entries and at most `W` bytes. The
    /// same holds for each key type's equal share of both.
    pub(crate) fn weight_of(&self, bytes: usize) -> u32 {
        match self.max_bytes {
            None => 1,
            Some(w) => {
                let floor = w.div_ceil(self.max_entries.max(1)).max(1);
                u32::try_from((bytes as u64).max(floor)).unwrap_or(u32::MAX)
            }
        }
    }

    pub(crate) fn weighs_bytes(&self) -> bool {
        self.max_bytes.is_some()
    }

    /// The weight capacity of one of `types` key types.
    fn share(&self, types: usize) -> u64 {
        (self.max_bytes.unwrap_or(self.max_entries) / types.max(1) as u64).max(1)
    }

    fn entries_share(&self, types: usize) -> u64 {
        (self.max_entries / types.max(1) as u64).max(1)
    }
}

/// The in-process tier.
pub(crate) struct NearStore {
    table: TypeTable,
    stats: Arc<StatsTable>,
    bound: Bound,
}

impl NearStore {
    pub(crate) fn new(bound: Bound, stats: Arc<StatsTable>) -> Self {
        Self {
            table: TypeTable::new(),
            stats,
            bound,
        }
    }

    pub(crate) fn bound(&self) -> Bound {
        self.bound
    }

    /// The store of `K`, if `K` has been written before.
    #[inline]
    pub(crate) fn typed<K: CacheKey>(&self) -> Option<&TypedStore<K>> {
        self.table.get::<TypedStore<K>>()
    }

    /// The store of `K`, created on first use; `None` when the cache already holds
    /// [`MAX_KEY_TYPES`] key types.
    fn typed_or_create<K: CacheKey>(&self) -> Option<&TypedStore<K>> {
        let bound = self.bound;
        let stats = &self.stats;
        let store = self.table.get_or_register(
            |types| {
                let namespace = stats.namespace(K::NAMESPACE);
                TypedStore::<K>::new(
                    bound.entries_share(types),
                    bound.share(types),
                    stats.clone(),
                    namespace,
                )
            },
            |stores| {
                for store in stores {
                    store.set_capacity(bound.share(stores.len()));
                }
            },
        );
        match store {
            Some(store) => Some(store),
            None => {
                tracing::warn!(
                    namespace = K::NAMESPACE,
                    "the cache already holds {MAX_KEY_TYPES} key types; entries of this one are not kept in memory"
                );
                None
            }
        }
    }

    #[inline]
    pub(crate) fn get<K: CacheKey>(&self, key: &K) -> Option<(TypedValue<K::Value>, NamespaceId)> {
        let store = self.typed::<K>()?;
        Some((store.get(key)?, store.namespace))
    }

    /// Writes an entry; returns its namespace, or `None` when it could not be kept.
    pub(crate) fn insert<K: CacheKey>(
        &self,
        key: K,
        value: TypedValue<K::Value>,
    ) -> Option<NamespaceId> {
        let store = self.typed_or_create::<K>()?;
        store.insert(key, value);
        Some(store.namespace)
    }

    /// Removes `key`; returns its namespace when it was there.
    pub(crate) fn remove<K: CacheKey>(&self, key: &K) -> Option<NamespaceId> {
        let store = self.typed::<K>()?;
        store.remove(key).then_some(store.namespace)
    }

    /// Removes `key` only if it still holds the write `seen`.
    pub(crate) fn remove_if_same<K: CacheKey>(&self, key: &K, seen: &TypedValue<K::Value>) -> bool {
        self.typed::<K>()
            .is_some_and(|store| store.remove_if_same(key, seen))
    }

    /// Removes every entry in `prefix`, counting each as an invalidation; returns how many.
    pub(crate) fn remove_prefix(&self, prefix: &KeyPrefix) -> u64 {
        self.table
            .stores()
            .iter()
            .filter(|store| store.may_hold(prefix))
            .map(|store| store.remove_prefix(prefix, &self.stats))
            .sum()
    }

    /// Removes every entry written with `tag`; returns how many.
    pub(crate) fn remove_tagged(&self, tag: &str) -> u64 {
        self.table
            .stores()
            .iter()
            .map(|store| store.remove_tagged(tag, &self.stats))
            .sum()
    }

    /// The rendered keys of the live entries in `prefix`.
    pub(crate) fn keys_with_prefix(&self, prefix: &KeyPrefix, now: u64) -> Vec<String> {
        let mut keys = Vec::new();
        for store in self
            .table
            .stores()
            .iter()
            .filter(|store| store.may_hold(prefix))
        {
            store.keys_with_prefix(prefix, now, &mut keys);
        }
        keys
    }

    pub(crate) fn len(&self) -> usize {
        self.table.stores().iter().map(|s| s.len()).sum()
    }

    pub(crate) fn weight(&self) -> u64 {
        self.table.stores().iter().map(|s| s.weight()).sum()
    }

    pub(crate) fn clear(&self) {
        for store in self.table.stores() {
            store.clear();
        }
    }
}
