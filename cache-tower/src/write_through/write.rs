//! [`Write`]: a typed value taken from a response, to be written under its key.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use cache_core::{Cache, CacheKey};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

trait ErasedWrite: Send {
    fn write(self: Box<Self>, cache: Cache) -> BoxFuture;
    fn describe(&self) -> String;
}

struct Typed<K: CacheKey>(K, K::Value);

impl<K: CacheKey> ErasedWrite for Typed<K> {
    fn write(self: Box<Self>, cache: Cache) -> BoxFuture {
        let Typed(key, value) = *self;
        Box::pin(async move { cache.insert(key, value).await })
    }

    fn describe(&self) -> String {
        self.0.render()
    }
}

/// A value to write under a typed key, with the key type's TTL and tags.
pub struct Write {
    inner: Box<dyn ErasedWrite>,
}

impl Write {
    /// `value` under `key`.
    pub fn new<K: CacheKey>(key: K, value: K::Value) -> Self {
        Self {
            inner: Box::new(Typed(key, value)),
        }
    }

    pub(crate) async fn run(self, cache: Cache) {
        self.inner.write(cache).await;
    }
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Write")
            .field(&self.inner.describe())
            .finish()
    }
}
