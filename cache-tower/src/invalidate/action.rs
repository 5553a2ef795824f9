//! [`Invalidate`]: one thing a successful mutation removes from the cache.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use cache_core::{Cache, CacheKey, KeyPrefix};

type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A typed key with its type erased, so that rules can return keys of several types.
trait ErasedKey: Send + Sync {
    fn invalidate<'a>(&'a self, cache: &'a Cache) -> BoxFuture<'a>;
    fn describe(&self) -> String;
}

impl<K: CacheKey> ErasedKey for K {
    fn invalidate<'a>(&'a self, cache: &'a Cache) -> BoxFuture<'a> {
        Box::pin(cache.invalidate(self))
    }

    fn describe(&self) -> String {
        self.render()
    }
}

/// What a rule removes when its mutation succeeds.
///
/// Built with [`key`](Self::key), [`tag`](Self::tag), [`prefix`](Self::prefix) or
/// [`path`](Self::path).
pub struct Invalidate {
    what: What,
}

enum What {
    Key(Box<dyn ErasedKey>),
    Tag(String),
    Prefix(KeyPrefix),
    Path(String),
}

impl Invalidate {
    /// The entry under a typed key, in every tier.
    pub fn key<K: CacheKey>(key: K) -> Self {
        Self {
            what: What::Key(Box::new(key)),
        }
    }

    /// Every entry written with `tag`: typed entries tagged by their key type, and HTTP
    /// responses that carried it in `Surrogate-Key` or `Cache-Tag`.
    pub fn tag(tag: impl Into<String>) -> Self {
        Self {
            what: What::Tag(tag.into()),
        }
    }

    /// Every entry under a key prefix (a namespace, or a namespace and leading segments).
    pub fn prefix(prefix: KeyPrefix) -> Self {
        Self {
            what: What::Prefix(prefix),
        }
    }

    /// The stored HTTP responses (`GET` and `HEAD`) of `path` (with its query, if any) on the
    /// mutating request's host, under the response cache's default key.
    pub fn path(path: impl Into<String>) -> Self {
        Self {
            what: What::Path(path.into()),
        }
    }

    /// Carries the invalidation out; `origin` is the mutating request's `scheme://authority`.
    pub(crate) async fn run(&self, cache: &Cache, origin: Option<&str>) {
        match &self.what {
            What::Key(key) => key.invalidate(cache).await,
            What::Tag(tag) => {
                cache.invalidate_tag(tag).await;
            }
            What::Prefix(prefix) => {
                // Fail open like the rest of the cache: a failed far tier was counted and logged.
                let _ = cache.invalidate_prefix(prefix).await;
            }
            What::Path(path) => {
                if let Some(origin) = origin {
                    let path = if path.starts_with('/') {
                        path.clone()
                    } else {
                        format!("/{path}")
                    };
                    crate::response_cache::invalidate_uri(cache, &format!("{origin}{path}")).await;
                }
            }
        }
    }
}

impl fmt::Debug for Invalidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::Key(key) => f.debug_tuple("Key").field(&key.describe()).finish(),
            What::Tag(tag) => f.debug_tuple("Tag").field(tag).finish(),
            What::Prefix(prefix) => f.debug_tuple("Prefix").field(&prefix.as_str()).finish(),
            What::Path(path) => f.debug_tuple("Path").field(path).finish(),
        }
    }
}
