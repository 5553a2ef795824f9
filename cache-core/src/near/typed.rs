//! [`TypedStore`]: the entries of one key type, in a concurrent map keyed by the typed key.
//!
//! Keys and deadlines sit inline in the map's slots (16 bytes besides the key), so a hit reads
//! the slot and the value's reference count and nothing else: no string is built, no box is
//! followed, nothing is decoded.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use quick_cache::sync::Cache as QuickCache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

use super::Share;
use crate::key::{CacheKey, KeyPrefix};
use crate::stats::{Counter, NamespaceId, StatsTable};

/// A stored value: the decoded value (or a remembered "not found") and its deadline.
///
/// Every hit clones it out of the map, and the size of the map's slots is what a hit's cache
/// misses scale with, so it is kept to 16 bytes: nearly every entry is [`Plain`](Self::Plain),
/// a value and a [`Stamp`]; what only some entries have sits behind one more pointer.
pub(crate) enum TypedValue<V> {
    /// A value with a deadline and a weight that fit a [`Stamp`].
    Plain { value: Arc<V>, stamp: Stamp },
    /// Anything else: a remembered "not found", a large weight, refresh-ahead, tags.
    Full(Arc<Full<V>>),
}

/// What an entry that is not [`TypedValue::Plain`] carries.
pub(crate) struct Full<V> {
    /// `None` is a remembered "not found" (negative caching).
    value: Option<Arc<V>>,
    /// Clock nanos at which the entry expires; `u64::MAX` for never.
    expires_at: u64,
    weight: u32,
    /// Clock nanos after which a hit reloads the entry in the background; `u64::MAX` for never.
    refresh_at: u64,
    /// The tags the entry was written with, for `invalidate_tag`.
    tags: Box<[String]>,
}

/// A deadline in whole milliseconds (rounded up) and a weight, in one word: the deadline in
/// the high 42 bits (139 years of clock; all ones for never), the weight in the low 22.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    const WEIGHT_BITS: u32 = 22;
    const MAX_WEIGHT: u32 = (1 << Self::WEIGHT_BITS) - 1;
    const NEVER: u64 = u64::MAX >> Self::WEIGHT_BITS;
    const NANOS_PER_MILLI: u64 = 1_000_000;

    /// The stamp of a deadline in clock nanos (`u64::MAX` for never) and a weight, if both fit.
    fn new(expires_at: u64, weight: u32) -> Option<Self> {
        if weight > Self::MAX_WEIGHT {
            return None;
        }
        let millis = if expires_at == u64::MAX {
            Self::NEVER
        } else {
            expires_at.div_ceil(Self::NANOS_PER_MILLI)
        };
        (millis <= Self::NEVER).then_some(Self(millis << Self::WEIGHT_BITS | u64::from(weight)))
    }

    /// The deadline in clock nanos; `u64::MAX` for never.
    #[inline]
    fn expires_at(self) -> u64 {
        match self.0 >> Self::WEIGHT_BITS {
            Self::NEVER => u64::MAX,
            millis => millis * Self::NANOS_PER_MILLI,
        }
    }

    fn weight(self) -> u32 {
        (self.0 & u64::from(Self::MAX_WEIGHT)) as u32
    }
}

impl<V> Clone for TypedValue<V> {
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Self::Plain { value, stamp } => Self::Plain {
                value: value.clone(),
                stamp: *stamp,
            },
            Self::Full(full) => Self::Full(full.clone()),
        }
    }
}

impl<V> TypedValue<V> {
    /// An entry expiring at `expires_at` (clock nanos, `u64::MAX` for never), reloaded in the
    /// background after `refresh_at` (likewise).
    pub(crate) fn new(
        value: Option<Arc<V>>,
        expires_at: u64,
        weight: u32,
        refresh_at: u64,
        tags: Option<&[String]>,
    ) -> Self {
        let plain = refresh_at == u64::MAX && tags.is_none_or(<[String]>::is_empty);
        match (
            value,
            plain.then(|| Stamp::new(expires_at, weight)).flatten(),
        ) {
            (Some(value), Some(stamp)) => Self::Plain { value, stamp },
            (value, _) => Self::Full(Arc::new(Full {
                value,
                expires_at,
                weight,
                refresh_at,
                tags: tags.map(Box::from).unwrap_or_default(),
            })),
        }
    }

    /// The value; `None` for a remembered "not found".
    #[inline]
    pub(crate) fn into_value(self) -> Option<Arc<V>> {
        match self {
            Self::Plain { value, .. } => Some(value),
            Self::Full(full) => full.value.clone(),
        }
    }

    /// The value; `None` for a remembered "not found".
    pub(crate) fn value(&self) -> Option<&Arc<V>> {
        match self {
            Self::Plain { value, .. } => Some(value),
            Self::Full(full) => full.value.as_ref(),
        }
    }

    /// Clock nanos at which the entry expires; `u64::MAX` for never.
    #[inline]
    pub(crate) fn expires_at(&self) -> u64 {
        match self {
            Self::Plain { stamp, .. } => stamp.expires_at(),
            Self::Full(full) => full.expires_at,
        }
    }

    /// Clock nanos after which a hit reloads the entry; `u64::MAX` for never.
    pub(crate) fn refresh_at(&self) -> u64 {
        match self {
            Self::Plain { .. } => u64::MAX,
            Self::Full(full) => full.refresh_at,
        }
    }

    fn weight(&self) -> u32 {
        match self {
            Self::Plain { stamp, .. } => stamp.weight(),
            Self::Full(full) => full.weight,
        }
    }

    fn tags(&self) -> &[String] {
        match self {
            Self::Plain { .. } => &[],
            Self::Full(full) => &full.tags,
        }
    }

    /// Whether both are the same write (for removing exactly the entry that was read).
    fn same_write(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Plain { value: a, stamp: s }, Self::Plain { value: b, stamp: t }) => {
                s == t && Arc::ptr_eq(a, b)
            }
            (Self::Full(a), Self::Full(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

#[derive(Clone)]
struct EntryWeighter;

impl<K, V> Weighter<K, TypedValue<V>> for EntryWeighter {
    fn weight(&self, _: &K, value: &TypedValue<V>) -> u64 {
        u64::from(value.weight().max(1))
    }
}

/// The hash of a rendered key, as the [`Index`] files it (the same in every store of a
/// process, and never sent anywhere).
pub(crate) fn rendered_hash(rendered: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    rendered.hash(&mut hasher);
    hasher.finish()
}

/// The typed keys of a store by the hash of their rendered form, for removing an entry named
/// by its rendered key (an invalidation heard from another instance). Kept only in a coherent
/// cache; an entry may outlive its key's removal from the map, and then names a key that is
/// no longer there (removing it is a no-op).
struct Index<K> {
    keys: Mutex<HashMap<u64, K>>,
}

impl<K: CacheKey> Index<K> {
    fn add(&self, key: &K) {
        let hash = rendered_hash(&key.render());
        self.lock().insert(hash, key.clone());
    }

    /// Forgets `key`, if the index still files it.
    fn forget(&self, key: &K) {
        let hash = rendered_hash(&key.render());
        let mut keys = self.lock();
        if keys.get(&hash) == Some(key) {
            keys.remove(&hash);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, K>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts evictions in the store's namespace, and forgets evicted keys in the index.
struct OnEvict<K> {
    stats: Arc<StatsTable>,
    namespace: NamespaceId,
    index: Option<Arc<Index<K>>>,
}

impl<K> Clone for OnEvict<K> {
    fn clone(&self) -> Self {
        Self {
            stats: self.stats.clone(),
            namespace: self.namespace,
            index: self.index.clone(),
        }
    }
}

impl<K: CacheKey, V> Lifecycle<K, TypedValue<V>> for OnEvict<K> {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), key: K, _: TypedValue<V>) {
        self.stats.incr(self.namespace, Counter::Eviction);
        if let Some(index) = &self.index {
            index.forget(&key);
        }
    }
}

type Map<K> = QuickCache<
    K,
    TypedValue<<K as CacheKey>::Value>,
    EntryWeighter,
    DefaultHashBuilder,
    OnEvict<K>,
>;

/// The entries of key type `K`.
pub(crate) struct TypedStore<K: CacheKey> {
    map: Map<K>,
    pub(crate) namespace: NamespaceId,
    /// The byte budget of this key type's own; 0 for none.
    budget: AtomicU64,
    /// The least weight of an entry in bytes ([`Share::floor`]); 0 when every entry weighs 1.
    floor: AtomicU64,
    /// Keys by their rendered form, in a coherent cache.
    index: Option<Arc<Index<K>>>,
}

impl<K: CacheKey> TypedStore<K> {
    /// A store within `share`; with `indexed`, keys are also filed by their rendered form, so
    /// that [`ErasedStore::remove_rendered`] finds them.
    pub(crate) fn new(
        share: Share,
        stats: Arc<StatsTable>,
        namespace: NamespaceId,
        indexed: bool,
    ) -> Self {
        let options = OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(share.entries).unwrap_or(usize::MAX))
            .weight_capacity(share.capacity())
            .build()
            .expect("quick_cache accepts any non-zero capacities");
        let index = indexed.then(|| {
            Arc::new(Index {
                keys: Mutex::new(HashMap::new()),
            })
        });
        let lifecycle = OnEvict {
            stats,
            namespace,
            index: index.clone(),
        };
        Self {
            map: QuickCache::with_options(
                options,
                EntryWeighter,
                DefaultHashBuilder::default(),
                lifecycle,
            ),
            namespace,
            budget: AtomicU64::new(0),
            floor: AtomicU64::new(share.floor().unwrap_or(0)),
            index,
        }
    }

    /// `None` when every entry weighs 1, else the least weight of an entry in bytes.
    pub(crate) fn floor(&self) -> Option<u64> {
        match self.floor.load(Ordering::Relaxed) {
            0 => None,
            floor => Some(floor),
        }
    }

    pub(crate) fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<TypedValue<K::Value>> {
        self.map.get(key)
    }

    pub(crate) fn insert(&self, key: K, value: TypedValue<K::Value>) {
        if let Some(index) = &self.index {
            index.add(&key);
        }
        self.map.insert(key, value);
    }

    /// Removes `key`; returns whether it was there.
    pub(crate) fn remove(&self, key: &K) -> bool {
        let removed = self.map.remove(key).is_some();
        if removed && let Some(index) = &self.index {
            index.forget(key);
        }
        removed
    }

    /// Removes `key` only if it still holds the write `seen`.
    pub(crate) fn remove_if_same(&self, key: &K, seen: &TypedValue<K::Value>) -> bool {
        let removed = self.map.remove_if(key, |v| v.same_write(seen)).is_some();
        if removed && let Some(index) = &self.index {
            index.forget(key);
        }
        removed
    }

    /// Removes the entries `hit` picks, counting each as an invalidation; returns how many.
    /// Their keys are forgotten by the index after the walk, outside the map's locks.
    fn remove_where(
        &self,
        stats: &StatsTable,
        hit: impl Fn(&K, &TypedValue<K::Value>) -> bool,
    ) -> u64 {
        let removed = Cell::new(0u64);
        let forgotten = RefCell::new(Vec::new());
        self.map.retain(|key, value| {
            let gone = hit(key, value);
            if gone {
                removed.set(removed.get() + 1);
                if self.index.is_some() {
                    forgotten.borrow_mut().push(key.clone());
                }
            }
            !gone
        });
        if let Some(index) = &self.index {
            for key in forgotten.into_inner() {
                index.forget(&key);
            }
        }
        stats.add(self.namespace, Counter::Invalidation, removed.get());
        removed.get()
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
    /// Removes the entry whose rendered key has the [`rendered_hash`] `hash`, counting it;
    /// returns how many (0 or 1). `None` when the store keeps no index to find it by.
    fn remove_rendered(&self, hash: u64, stats: &StatsTable) -> Option<u64>;
    /// Whether any key of this type can be in `prefix`.
    fn may_hold(&self, prefix: &KeyPrefix) -> bool;
    /// The key type's own byte budget, if it has one.
    fn budget(&self) -> Option<u64>;
    /// Bounds the store by `share`.
    fn apply(&self, share: Share);
    fn len(&self) -> usize;
    fn weight(&self) -> u64;
    fn clear(&self);
}

impl<K: CacheKey> ErasedStore for TypedStore<K> {
    fn remove_prefix(&self, prefix: &KeyPrefix, stats: &StatsTable) -> u64 {
        self.remove_where(stats, |key, _| prefix.matches(&key.render()))
    }

    fn remove_rendered(&self, hash: u64, stats: &StatsTable) -> Option<u64> {
        let index = self.index.as_ref()?;
        let Some(key) = index.lock().remove(&hash) else {
            return Some(0);
        };
        let removed = self.map.remove(&key).is_some();
        if removed {
            stats.incr(self.namespace, Counter::Invalidation);
        }
        Some(u64::from(removed))
    }

    fn keys_with_prefix(&self, prefix: &KeyPrefix, now: u64, out: &mut Vec<String>) {
        // A read-only walk: listing takes no write lock.
        out.extend(
            self.map
                .iter()
                .filter(|(_, value)| value.expires_at() > now)
                .map(|(key, _)| key.render())
                .filter(|text| prefix.matches(text)),
        );
    }

    fn remove_tagged(&self, tag: &str, stats: &StatsTable) -> u64 {
        self.remove_where(stats, |_, value| value.tags().iter().any(|t| t == tag))
    }

    fn may_hold(&self, prefix: &KeyPrefix) -> bool {
        let own = KeyPrefix::of::<K>();
        own.as_str().starts_with(prefix.as_str()) || prefix.as_str().starts_with(own.as_str())
    }

    fn budget(&self) -> Option<u64> {
        match self.budget.load(Ordering::Relaxed) {
            0 => None,
            bytes => Some(bytes),
        }
    }

    fn apply(&self, share: Share) {
        self.floor
            .store(share.floor().unwrap_or(0), Ordering::Relaxed);
        self.map.set_capacity(share.capacity().max(1));
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn weight(&self) -> u64 {
        self.map.weight()
    }

    fn clear(&self) {
        self.map.clear();
        if let Some(index) = &self.index {
            index.lock().clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_value_stays_two_words() {
        assert_eq!(std::mem::size_of::<TypedValue<String>>(), 16);
    }

    #[test]
    fn a_plain_entry_keeps_its_deadline_rounded_up_to_the_millisecond_and_its_weight() {
        let v = TypedValue::new(Some(Arc::new(1u8)), 2_500_000_001, 300, u64::MAX, None);
        assert!(matches!(v, TypedValue::Plain { .. }));
        assert_eq!(v.expires_at(), 2_501_000_000);
        assert_eq!(v.weight(), 300);
        assert_eq!(v.refresh_at(), u64::MAX);
        assert!(v.tags().is_empty());
        let whole = TypedValue::new(Some(Arc::new(1u8)), 7_000_000, 1, u64::MAX, None);
        assert_eq!(
            whole.expires_at(),
            7_000_000,
            "whole milliseconds are exact"
        );
        let never = TypedValue::new(Some(Arc::new(1u8)), u64::MAX, 1, u64::MAX, None);
        assert_eq!(never.expires_at(), u64::MAX);
        assert_eq!(never.weight(), 1);
    }

    #[test]
    fn what_a_stamp_cannot_hold_goes_to_a_full_entry_unchanged() {
        let heavy = TypedValue::new(
            Some(Arc::new(1u8)),
            5,
            Stamp::MAX_WEIGHT + 1,
            u64::MAX,
            None,
        );
        assert!(matches!(heavy, TypedValue::Full(_)));
        assert_eq!(
            (heavy.expires_at(), heavy.weight()),
            (5, Stamp::MAX_WEIGHT + 1)
        );
        let far = TypedValue::new(Some(Arc::new(1u8)), u64::MAX - 1, 1, u64::MAX, None);
        assert_eq!(far.expires_at(), u64::MAX - 1);
        let negative = TypedValue::<u8>::new(None, 9, 1, u64::MAX, None);
        assert!(negative.value().is_none());
        let tags = ["a".to_owned()];
        let tagged = TypedValue::new(Some(Arc::new(1u8)), 9, 1, 4, Some(&tags));
        assert_eq!((tagged.refresh_at(), tagged.tags()), (4, &tags[..]));
        assert_eq!(tagged.into_value().as_deref(), Some(&1));
    }

    #[test]
    fn only_the_same_write_is_the_same() {
        let value = Arc::new(1u8);
        let a = TypedValue::new(Some(value.clone()), 1_000_000, 1, u64::MAX, None);
        assert!(a.same_write(&a.clone()));
        let later = TypedValue::new(Some(value), 2_000_000, 1, u64::MAX, None);
        assert!(!a.same_write(&later));
        let other = TypedValue::new(Some(Arc::new(1u8)), 1_000_000, 1, u64::MAX, None);
        assert!(!a.same_write(&other));
    }
}
