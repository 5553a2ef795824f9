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
pub(crate) use typed::TypedValue;
use typed::rendered_hash;
use typed::{ErasedStore, TypedStore};

use crate::key::{CacheKey, KeyPrefix};
use crate::stats::{NamespaceId, StatsTable};

/// The size bound of the near tier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub(crate) max_entries: u64,
    pub(crate) max_bytes: Option<u64>,
}

impl Bound {
    /// The part of the bound one of `types` key types gets: an equal share of the entries and of
    /// the bytes, the bytes further capped by the key type's own `budget` when it has one.
    fn share(&self, types: usize, budget: Option<u64>) -> Share {
        let types = types.max(1) as u64;
        let bytes = self.max_bytes.map(|w| (w / types).max(1));
        Share {
            entries: (self.max_entries / types).max(1),
            bytes: match (bytes, budget) {
                (Some(b), Some(own)) => Some(b.min(own).max(1)),
                (b, own) => b.or(own).map(|b| b.max(1)),
            },
        }
    }
}

/// What one key type's store may hold: at most `entries` entries and, when set, `bytes` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) entries: u64,
    pub(crate) bytes: Option<u64>,
}

impl Share {
    /// The weight capacity of the store: bytes when bounded by bytes, else entries.
    pub(crate) fn capacity(&self) -> u64 {
        self.bytes.unwrap_or(self.entries)
    }

    /// The least weight an entry is charged when weighed in bytes, so that a total weight of at
    /// most the byte bound also holds at most `entries` entries; `None` when every entry
    /// weighs 1.
    pub(crate) fn floor(&self) -> Option<u64> {
        self.bytes.map(|b| b.div_ceil(self.entries).max(1))
    }
}

/// The in-process tier.
pub(crate) struct NearStore {
    table: TypeTable,
    stats: Arc<StatsTable>,
    bound: Bound,
    /// Whether each store files its keys by their rendered form too.
    indexed: bool,
}

impl NearStore {
    /// The tier within `bound`; with `indexed`, entries can be removed by their rendered key
    /// ([`remove_rendered`](Self::remove_rendered)), at the cost of a rendering and an index
    /// entry per write.
    pub(crate) fn new(bound: Bound, stats: Arc<StatsTable>, indexed: bool) -> Self {
        Self {
            table: TypeTable::new(),
            stats,
            bound,
            indexed,
        }
    }

    /// How an entry of `K` is weighed: `None` when each weighs 1 (no byte bound applies to
    /// `K`), else the least weight, in bytes, an entry is charged.
    pub(crate) fn floor_of<K: CacheKey>(&self) -> Option<Option<u64>> {
        Some(self.typed_or_create::<K>()?.floor())
    }

    /// Bounds the memory of `K`'s entries to `bytes`, besides its share of the cache-wide
    /// bound.
    pub(crate) fn set_budget<K: CacheKey>(&self, bytes: u64) {
        if let Some(store) = self.typed_or_create::<K>() {
            store.set_budget(bytes.max(1));
            let types = self.table.stores().len();
            store.apply(self.bound.share(types, Some(bytes.max(1))));
        }
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
        let indexed = self.indexed;
        let store = self.table.get_or_register(
            |types| {
                let namespace = stats.namespace(K::NAMESPACE);
                TypedStore::<K>::new(bound.share(types, None), stats.clone(), namespace, indexed)
            },
            |stores| {
                for store in stores {
                    store.apply(bound.share(stores.len(), store.budget()));
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

    /// Removes the entry whose rendered key is `rendered`, of whichever key type; returns
    /// how many (0 or 1). Through each store's index when it keeps one
    /// ([`new`](Self::new)'s `indexed`), else by a walk of the stores that may hold the key.
    pub(crate) fn remove_rendered(&self, rendered: &str) -> u64 {
        let hash = rendered_hash(rendered);
        let only = KeyPrefix::only(rendered.to_owned());
        self.table
            .stores()
            .iter()
            .map(|store| match store.remove_rendered(hash, &self.stats) {
                Some(removed) => removed,
                None if store.may_hold(&only) => store.remove_prefix(&only, &self.stats),
                None => 0,
            })
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
