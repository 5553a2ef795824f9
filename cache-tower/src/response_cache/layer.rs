//! [`ResponseCacheLayer`]: wraps services in a [`ResponseCache`].

use std::sync::Arc;

use cache_core::Cache;
use tower_layer::Layer;

use super::collapse::Flights;
use super::config::{Config, DEFAULT_MEMORY};
use super::entry::ResponseKey;
use super::service::ResponseCache;
use super::setters::config_setters;

/// Applies a shared HTTP cache, kept in a cache-core [`Cache`], to a service.
///
/// Every service this layer wraps shares the cache and its request collapsing.
#[derive(Debug, Clone)]
pub struct ResponseCacheLayer {
    cache: Cache,
    config: Arc<Config>,
    flights: Arc<Flights>,
}

impl ResponseCacheLayer {
    /// A layer storing responses in `cache`, with the defaults of a shared cache.
    pub fn new(cache: Cache) -> Self {
        cache.set_memory_budget::<ResponseKey>(DEFAULT_MEMORY);
        Self {
            cache,
            config: Arc::default(),
            flights: Arc::default(),
        }
    }

    config_setters!();
}

impl<S> Layer<S> for ResponseCacheLayer {
    type Service = ResponseCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseCache::from_parts(
            inner,
            self.cache.clone(),
            self.config.clone(),
            self.flights.clone(),
        )
    }
}
