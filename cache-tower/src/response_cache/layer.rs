//! [`ResponseCacheLayer`]: wraps services in a [`ResponseCache`].

use std::sync::Arc;

use cache_core::Cache;
use tower_layer::Layer;

use super::collapse::Flights;
use super::config::{Config, DEFAULT_MEMORY};
use super::entry::ResponseKey;
use super::key::{EffectiveUri, MakeCacheKey};
use super::service::ResponseCache;
use super::setters::config_setters;

/// Applies a shared HTTP cache, kept in a cache-core [`Cache`], to a service.
///
/// Every service this layer wraps shares the cache and its request collapsing. `K` makes the
/// primary cache key of a request ([`EffectiveUri`] by default; see
/// [`cache_key`](Self::cache_key)).
#[derive(Debug, Clone)]
pub struct ResponseCacheLayer<K = EffectiveUri> {
    cache: Cache,
    config: Arc<Config>,
    flights: Arc<Flights>,
    make_key: K,
}

impl ResponseCacheLayer {
    /// A layer storing responses in `cache`, with the defaults of a shared cache. It sets the
    /// in-process memory budget of stored responses on `cache` (64 MiB; see
    /// [`max_memory`](Self::max_memory)).
    pub fn new(cache: Cache) -> Self {
        cache.set_memory_budget::<ResponseKey>(DEFAULT_MEMORY);
        Self {
            cache,
            config: Arc::default(),
            flights: Arc::default(),
            make_key: EffectiveUri,
        }
    }
}

impl<K> ResponseCacheLayer<K> {
    config_setters!();

    /// Replaces how the primary cache key of a request is made (the effective request URI by
    /// default) with `make_key`, such as a closure `Fn(&Parts) -> Option<String>`. Returning
    /// `None` sends the request to the origin and stores nothing.
    #[must_use]
    pub fn cache_key<K2: MakeCacheKey>(self, make_key: K2) -> ResponseCacheLayer<K2> {
        ResponseCacheLayer {
            cache: self.cache,
            config: self.config,
            flights: self.flights,
            make_key,
        }
    }
}

impl<S, K: Clone> Layer<S> for ResponseCacheLayer<K> {
    type Service = ResponseCache<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseCache::from_parts(
            inner,
            self.cache.clone(),
            self.config.clone(),
            self.flights.clone(),
            self.make_key.clone(),
        )
    }
}
