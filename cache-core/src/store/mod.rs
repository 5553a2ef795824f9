//! The far tier: byte-level stores shared by every instance of a service.
//!
//! A [`Store`] keeps bytes under rendered keys with a TTL. A store of your own implements four
//! methods: [`get`](Store::get), [`set`](Store::set), [`delete`](Store::delete) and
//! [`scan`](Store::scan). Everything else the [`Cache`](crate::Cache) asks of a far tier has a
//! provided form built on those four (batches, tags, hash-shaped values, prefix deletes), which
//! a store overrides where it has a native, faster or atomic one, as [`RedisStore`] does.
//!
//! Counters, throttles and leases must be atomic across instances and cannot be built from the
//! four: a store offers them by implementing [`Coordination`] and returning itself from
//! [`Store::coordination`]. Without it, [`Cache::increment`](crate::Cache::increment) and the
//! other coordination calls answer an error of kind [`Unsupported`](crate::ErrorKind::Unsupported)
//! rather than counting per instance in secret.
//!
//! Methods take rendered keys, never typed ones: a store knows nothing of codecs or key types.
//! The cache bounds every call by its store timeout (unless the store says it bounds its own
//! calls) and applies its failure policy (fail open, circuit breaker); a store only reports what
//! happened.
//!
//! [`RedisStore`]: redis::RedisStore
//!
//! # Example
//!
//! A store on a `Mutex<HashMap>`, with the cache running over it:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use std::time::Duration;
//! use cache_core::{Cache, CacheKey, KeyPrefix};
//! use cache_core::store::{ScanPage, Store, StoreFuture};
//!
//! #[derive(Debug, Default)]
//! struct MapStore(Mutex<HashMap<String, Vec<u8>>>);
//!
//! impl Store for MapStore {
//!     fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
//!         Box::pin(async move { Ok(self.0.lock().unwrap().get(key).cloned()) })
//!     }
//!     fn set<'a>(&'a self, key: &'a str, value: &'a [u8], _ttl: Option<Duration>) -> StoreFuture<'a, ()> {
//!         Box::pin(async move {
//!             self.0.lock().unwrap().insert(key.to_owned(), value.to_vec());
//!             Ok(())
//!         })
//!     }
//!     fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64> {
//!         Box::pin(async move {
//!             let mut map = self.0.lock().unwrap();
//!             Ok(keys.iter().filter(|k| map.remove(k.as_str()).is_some()).count() as u64)
//!         })
//!     }
//!     fn scan<'a>(&'a self, prefix: &'a KeyPrefix, _cursor: u64, _count: usize) -> StoreFuture<'a, ScanPage> {
//!         Box::pin(async move {
//!             let map = self.0.lock().unwrap();
//!             let keys = map.keys().filter(|k| k.starts_with(prefix.as_str())).cloned().collect();
//!             Ok(ScanPage::last(keys))
//!         })
//!     }
//! }
//!
//! #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
//! #[cache(namespace = "greeting", ttl = "1m", value = String, tags = ["greetings"])]
//! struct Greeting(u32);
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let cache = Cache::builder().far(MapStore::default()).near(false).build()?;
//! cache.insert(Greeting(1), "hello".to_owned()).await;
//! assert_eq!(cache.get(&Greeting(1)).await.as_deref().map(String::as_str), Some("hello"));
//! // Tags and prefixes work through the four methods.
//! assert_eq!(cache.invalidate_tag("greetings").await, 1);
//! assert!(cache.get(&Greeting(1)).await.is_none());
//! // Counters need Coordination, which this store does not offer.
//! # #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
//! # #[cache(namespace = "hits", ttl = "1m", value = i64, codec = cache_core::codec::Text)]
//! # struct Hits;
//! let refused = cache.increment(&Hits, 1).await.unwrap_err();
//! assert_eq!(refused.kind(), cache_core::ErrorKind::Unsupported);
//! # Ok::<(), cache_core::Error>(())
//! # }).unwrap();
//! ```

pub(crate) mod breaker;
mod coordination;
mod emulated;
mod invalidations;
pub(crate) mod policy;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod structures;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use coordination::{Coordination, WindowCount};
pub use invalidations::{Invalidations, Subscription};
pub use structures::{Op, Reply, Structures};

use crate::error::Error;
use crate::key::KeyPrefix;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreEntry {
    /// The rendered key.
    pub key: String,
    /// The encoded value.
    pub value: Vec<u8>,
    /// How long it lives; `None` for no expiry.
    pub ttl: Option<Duration>,
}

impl StoreEntry {
    /// An entry of `value` under `key`, living `ttl`.
    pub fn new(key: String, value: Vec<u8>, ttl: Option<Duration>) -> Self {
        Self { key, value, ttl }
    }
}

/// What a [`Store::invalidate_tag`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagRemoval {
    /// How many of the tag's keys existed and were removed.
    pub removed: u64,
    /// The keys the tag named (removed, or already gone), so that other instances can drop
    /// their in-process copies of them.
    pub keys: Vec<String>,
}

impl TagRemoval {
    /// `removed` of the tag's `keys` existed.
    pub fn new(removed: u64, keys: Vec<String>) -> Self {
        Self { removed, keys }
    }
}

/// One page of a [`Store::scan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanPage {
    /// Keys that start with the prefix's text (the caller filters them further).
    pub keys: Vec<String>,
    /// Where the next page starts; 0 when this was the last page.
    pub cursor: u64,
}

impl ScanPage {
    /// A page of `keys`, with the next page at `cursor` (0: none).
    pub fn new(keys: Vec<String>, cursor: u64) -> Self {
        Self { keys, cursor }
    }

    /// The last page: `keys`, and nothing after.
    pub fn last(keys: Vec<String>) -> Self {
        Self::new(keys, 0)
    }
}

/// A byte-level far tier; see the [module docs](self).
///
/// Every method answers for the rendered keys it is given and nothing else; prefix methods take
/// a [`KeyPrefix`], whose text has every user segment escaped.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The bytes under `key`.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Writes `value` under `key` to live `ttl` (`None`: no expiry), replacing what was there.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()>;

    /// Removes `keys`; returns how many existed.
    fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64>;

    /// One page of the keys that start with `prefix.as_str()`, about `count` of them, from
    /// `cursor` (0 for the first page). Keys may repeat across pages; a key that exists for
    /// the whole walk must appear in some page. The caller filters with
    /// [`KeyPrefix::matches`].
    fn scan<'a>(
        &'a self,
        prefix: &'a KeyPrefix,
        cursor: u64,
        count: usize,
    ) -> StoreFuture<'a, ScanPage>;

    /// The bytes under each of `keys`, in order. Provided: one [`get`](Self::get) per key.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(emulated::get_many(self, keys))
    }

    /// Writes every entry. Provided: one [`set`](Self::set) per entry.
    fn set_many<'a>(&'a self, entries: &'a [StoreEntry]) -> StoreFuture<'a, ()> {
        Box::pin(emulated::set_many(self, entries))
    }

    /// Writes `value` under `key` like [`set`](Self::set), and records `key` under each of
    /// `tags` for [`invalidate_tag`](Self::invalidate_tag), for as long as the entry lives.
    /// Provided: one marker key per tag (`cache-core:tag:<tag>:<key>`, same TTL).
    fn set_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(emulated::set_tagged(self, key, value, ttl, tags))
    }

    /// Removes every key recorded under `tag`, and the record; returns how many keys were
    /// removed, and which. Provided: scans the tag's marker keys in pages and deletes page by
    /// page.
    fn invalidate_tag<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, TagRemoval> {
        Box::pin(emulated::invalidate_tag(self, tag))
    }

    /// Replaces whatever is under `key` with the `fields` (a hash-shaped value), living `ttl`,
    /// recorded under `tags` as [`set_tagged`](Self::set_tagged) does. Provided: the fields
    /// form-encoded into one value.
    fn set_hash<'a>(
        &'a self,
        key: &'a str,
        fields: &'a [(String, String)],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(emulated::set_hash(self, key, fields, ttl, tags))
    }

    /// The fields of the hash-shaped value under `key`; `None` when there is none.
    fn get_hash<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(emulated::get_hash(self, key))
    }

    /// Removes every key in `prefix` except its exclusions, page by page; returns how many.
    fn delete_prefix<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, u64> {
        Box::pin(emulated::delete_prefix(self, prefix))
    }

    /// The keys in `prefix`, exclusions left out.
    fn keys<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, Vec<String>> {
        Box::pin(emulated::keys(self, prefix))
    }

    /// Counters, throttles and leases, when the store offers them atomically across instances;
    /// `None` by default.
    fn coordination(&self) -> Option<&dyn Coordination> {
        None
    }

    /// Sets, sorted sets, lists, single hash fields and batches of different operations, when
    /// the store offers them; `None` by default.
    fn structures(&self) -> Option<&dyn Structures> {
        None
    }

    /// The channel on which instances sharing the store tell each other what they wrote or
    /// invalidated, for [`CacheBuilder::coherent`](crate::CacheBuilder::coherent); `None` by
    /// default.
    fn invalidations(&self) -> Option<&dyn Invalidations> {
        None
    }

    /// Whether the store bounds every call by a timeout of its own (as
    /// [`RedisStore`](redis::RedisStore) does with its command timeout). The cache then adds
    /// no timer of its own to each call; otherwise it bounds calls by its store timeout.
    fn bounds_calls(&self) -> bool {
        false
    }
}
