//! Typed caching for Rust services: declare **what** is cached (typed keys with TTLs),
//! **where** (process memory now; Redis as a shared far tier) and **how** (cache-aside with
//! single-flight, refresh-ahead, negative caching, invalidation by key or prefix).
//!
//! # Contents
//!
//! - [`CacheKey`]: a key type names its value, codec, namespace, version and [`Policy`].
//! - [`codec`]: [`Postcard`](codec::Postcard) (default), [`Json`](codec::Json),
//!   [`Text`](codec::Text), [`Raw`](codec::Raw), `Bincode` (feature `bincode`).
//! - [`Cache`]: `get`, `insert`, `invalidate`, `get_with` and friends, built by [`CacheBuilder`].
//! - [`CacheStats`]: hits, misses, loads and evictions per namespace.
//! - [`Clock`]: real or mocked time.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use cache_core::{Cache, CacheKey, KeyWriter, Policy, codec::Json};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! struct Session { user_id: u64, role: String }
//!
//! /// `session:v1:<token>`, 24 hours.
//! #[derive(Clone, PartialEq, Eq, Hash)]
//! struct SessionKey(String);
//!
//! impl CacheKey for SessionKey {
//!     type Value = Session;
//!     type Codec = Json;
//!     const NAMESPACE: &'static str = "session";
//!     const POLICY: Policy = Policy::builder().time_to_live(Duration::from_secs(24 * 3600)).build();
//!     fn write_key(&self, key: &mut KeyWriter<'_>) {
//!         key.segment_str(&self.0);
//!     }
//! }
//!
//! let cache = Cache::new(10_000);
//! let token = SessionKey("eyJhbGciOi".into());
//! cache.insert(token.clone(), Session { user_id: 7, role: "admin".into() }).await;
//! assert_eq!(cache.get(&token).await.unwrap().user_id, 7);
//! cache.invalidate(&token).await; // logout
//! assert!(cache.get(&token).await.is_none());
//! # });
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the derive's `::cache_core::...` paths resolve inside this crate's own tests.
extern crate self as cache_core;

mod cache;
mod clock;
pub mod codec;
mod error;
mod flight;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod near;
mod stats;
pub mod store;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod stream;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod throttle;

pub use cache::{
    Answers, Attempts, Cache, CacheBuilder, FleetNamespace, FleetStats, Lease, Pipeline, Queue,
    SetOf, Slot, SortedSet, Strict, Worked,
};
pub use clock::{Clock, MockClock};
pub use codec::Codec;
pub use error::{Error, ErrorKind};
pub use key::{CacheKey, KeyLayout, KeyPrefix, KeyWriter, Policy, PolicyBuilder};
pub use stats::{CacheStats, Counts, NamespaceStats};
pub use store::WindowCount;
pub use throttle::Throttle;

/// `#[derive(CacheKey)]`: see the `cache-derive` crate for its options.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use cache_derive::{CacheKey, cache_evict, cache_put, cached};

/// What the derive macros' generated code refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::codec::DefaultCodec;
    pub use crate::{CacheKey, KeyLayout, KeyPrefix, KeyWriter, Policy};
    pub use std::sync::Arc;
    pub use std::time::Duration;

    /// Checks, where the key expression is written, that it is a key of the function's value.
    #[inline]
    pub fn assert_key_of<K: CacheKey>(_: &K, _: &std::marker::PhantomData<Arc<K::Value>>) {}

    /// Checks, where the key expression is written, that it is a typed key.
    #[inline]
    pub fn assert_key<K: CacheKey>(_: &K) {}

    /// The codec of a key type whose derive had mistakes: the crate does not compile, and this
    /// stand-in keeps uses of the type from adding errors of their own. It encodes nothing.
    #[derive(Debug, Clone, Copy)]
    pub struct Unusable;

    impl<V: Send + Sync + 'static> crate::Codec<V> for Unusable {
        const NAME: &'static str = "unusable";

        fn encode(_: &V) -> Result<Vec<u8>, crate::Error> {
            Err(crate::Error::encode(
                "unusable",
                "the key type did not compile",
            ))
        }

        fn decode(_: &[u8]) -> Result<V, crate::Error> {
            Err(crate::Error::decode(
                "unusable",
                "the key type did not compile",
            ))
        }
    }

    /// The value out of a shared `Arc`: moved when this is the only owner, cloned otherwise.
    #[inline]
    pub fn unshare<T: Clone>(shared: Arc<T>) -> T {
        Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
    }
}
