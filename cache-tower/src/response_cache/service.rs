//! [`ResponseCache`]: the service that answers from storage or forwards to the inner service.

use std::sync::Arc;
use std::task::{Context, Poll};

use cache_core::Cache;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::collapse::Flights;
use super::config::{Config, DEFAULT_MEMORY};
use super::entry::ResponseKey;
use super::exchange::{Exchange, Storage};
use super::future::ResponseFuture;
use super::key::{EffectiveUri, MakeCacheKey};
use super::layer::ResponseCacheLayer;
use super::lookup::fast_hit;
use super::setters::config_setters;
use crate::body::ResponseBody;
use crate::macros::inner_accessors;

/// A shared HTTP cache in front of `S`. See the [module docs](super) for what it follows.
#[derive(Debug, Clone)]
pub struct ResponseCache<S, K = EffectiveUri> {
    inner: S,
    cache: Cache,
    config: Arc<Config>,
    flights: Arc<Flights>,
    make_key: K,
}

impl<S> ResponseCache<S> {
    /// Caches `inner`'s responses in `cache`, with the defaults of a shared cache.
    pub fn new(inner: S, cache: Cache) -> Self {
        cache.set_memory_budget::<ResponseKey>(DEFAULT_MEMORY);
        Self::from_parts(inner, cache, Arc::default(), Arc::default(), EffectiveUri)
    }

    /// A [`ResponseCacheLayer`] storing in `cache`.
    pub fn layer(cache: Cache) -> ResponseCacheLayer {
        ResponseCacheLayer::new(cache)
    }
}

impl<S, K> ResponseCache<S, K> {
    pub(crate) fn from_parts(
        inner: S,
        cache: Cache,
        config: Arc<Config>,
        flights: Arc<Flights>,
        make_key: K,
    ) -> Self {
        Self {
            inner,
            cache,
            config,
            flights,
            make_key,
        }
    }

    inner_accessors!();
    config_setters!();

    /// Replaces how the primary cache key of a request is made, as
    /// [`ResponseCacheLayer::cache_key`] does.
    #[must_use]
    pub fn cache_key<K2: MakeCacheKey>(self, make_key: K2) -> ResponseCache<S, K2> {
        ResponseCache::from_parts(self.inner, self.cache, self.config, self.flights, make_key)
    }
}

impl<S, K, ReqBody, ResBody> Service<Request<ReqBody>> for ResponseCache<S, K>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ResBody: Body + Send + Unpin + 'static,
    ResBody::Error: Send,
    K: MakeCacheKey,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // A fresh hit in process is answered here: no allocation for a future, no clone of the
        // inner service (which stays ready for the next call).
        let (req, near) = match fast_hit(&self.cache, &self.config, &self.make_key, req) {
            Ok(response) => return ResponseFuture::ready(response),
            Err(back) => back,
        };
        // The ready service serves this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let exchange = Exchange {
            inner,
            storage: Storage {
                cache: self.cache.clone(),
                config: self.config.clone(),
                flights: self.flights.clone(),
                make_key: self.make_key.clone(),
            },
        };
        ResponseFuture::new(Box::pin(exchange.handle(req, near)))
    }
}
