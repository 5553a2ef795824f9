//! Far tiers: byte-level stores shared by every instance of a service.
//!
//! [`Store`] is what the [`Cache`](crate::Cache) asks of a far tier: bytes under rendered keys,
//! with a TTL, in batches, by prefix, plus counters and leases. Redis implements it
//! (feature `redis`); a Redis Cluster store and cross-instance invalidation of in-process tiers
//! fit the same trait. Methods take rendered keys, never typed ones: a store knows nothing of
//! codecs or key types.
//!
//! The cache bounds every call by its command timeout and applies its failure policy (fail
//! open, circuit breaker); a store only reports what happened.

mod error;
#[cfg(feature = "redis")]
pub mod redis;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use error::{StoreError, StoreErrorKind};

use crate::key::KeyPrefix;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

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

/// A byte-level far tier.
///
/// Every method answers for the rendered keys it is given and nothing else; prefix methods
/// take a [`KeyPrefix`], whose text has every user segment escaped.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The bytes under `key`.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// The bytes under each of `keys`, in order, in one round trip.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>>;

    /// Writes `value` under `key`, replacing what was there.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()>;

    /// Writes every entry, in one round trip.
    fn set_many<'a>(&'a self, entries: &'a [StoreEntry]) -> StoreFuture<'a, ()>;

    /// Writes `value` under `key` like [`set`](Self::set), and records `key` under each of
    /// `tags` (rendered tag names) for [`invalidate_tag`](Self::invalidate_tag).
    fn set_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()>;

    /// Removes every key recorded under `tag` and the tag's index, atomically; returns how
    /// many keys were removed.
    fn invalidate_tag<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, u64>;

    /// Replaces whatever is under `key` with a hash of `fields`, living `ttl`, recorded under
    /// `tags` as [`set_tagged`](Self::set_tagged) does, atomically.
    fn set_hash<'a>(
        &'a self,
        key: &'a str,
        fields: &'a [(String, String)],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()>;

    /// The fields of the hash under `key`; `None` when there is none.
    fn get_hash<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<(String, String)>>>;

    /// Removes `keys`; returns how many existed.
    fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64>;

    /// Removes every key in `prefix` except its exclusions, in batches; returns how many.
    fn delete_prefix<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, u64>;

    /// The keys in `prefix` (exclusions left out).
    fn keys<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, Vec<String>>;

    /// Adds `by` to the integer under `key` and returns the new value. When the counter is
    /// created by this call (or has no expiry), `ttl` is set in the same atomic step, so no
    /// interleaving leaves a counter without one.
    fn increment<'a>(
        &'a self,
        key: &'a str,
        by: i64,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, i64>;

    /// One request against the GCRA limit under `key` (see [`Throttle`](crate::Throttle)):
    /// requests `interval` apart at the sustained rate, `burst` at once; atomically, on the
    /// store's own clock, so that every instance shares one limit.
    fn throttle<'a>(
        &'a self,
        key: &'a str,
        interval: Duration,
        burst: u64,
    ) -> StoreFuture<'a, crate::Throttle>;

    /// Takes the lease `key` for `token` if nobody holds it; returns whether it was taken.
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Releases the lease `key` if `token` still holds it; returns whether it did.
    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, bool>;

    /// Whether the store bounds every call by a timeout of its own (as
    /// [`RedisStore`](redis::RedisStore) does with its command timeout). The cache then adds
    /// no timer of its own to each call; otherwise it bounds calls by its store timeout.
    fn bounds_calls(&self) -> bool {
        false
    }

    /// The remaining time to live of `key`: `None` when it does not exist, `Some(None)` when it
    /// has no expiry.
    fn ttl<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Option<Duration>>>;
}
