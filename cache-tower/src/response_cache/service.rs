//! [`ResponseCache`]: the service that answers from storage or forwards to the inner service.

use std::sync::Arc;
use std::task::{Context, Poll};

use cache_core::Cache;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::ResponseBody;
use super::collapse::Flights;
use super::config::{Config, DEFAULT_MEMORY};
use super::entry::ResponseKey;
use super::flow::{Ctx, fast_hit, handle};
use super::future::ResponseFuture;
use super::layer::ResponseCacheLayer;
use super::setters::config_setters;

/// A shared HTTP cache in front of `S`. See the [module docs](super) for what it follows.
#[derive(Debug, Clone)]
pub struct ResponseCache<S> {
    inner: S,
    cache: Cache,
    config: Arc<Config>,
    flights: Arc<Flights>,
}

impl<S> ResponseCache<S> {
    /// Caches `inner`'s responses in `cache`, with the defaults of a shared cache.
    pub fn new(inner: S, cache: Cache) -> Self {
        cache.set_memory_budget::<ResponseKey>(DEFAULT_MEMORY);
        Self::from_parts(inner, cache, Arc::default(), Arc::default())
    }

    /// A [`ResponseCacheLayer`] storing in `cache`.
    pub fn layer(cache: Cache) -> ResponseCacheLayer {
        ResponseCacheLayer::new(cache)
    }

    pub(crate) fn from_parts(
        inner: S,
        cache: Cache,
        config: Arc<Config>,
        flights: Arc<Flights>,
    ) -> Self {
        Self {
            inner,
            cache,
            config,
            flights,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    config_setters!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ResponseCache<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + Unpin + 'static,
    ResBody::Error: Send,
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
        let (req, near) = match fast_hit(&self.cache, &self.config, req) {
            Ok(response) => return ResponseFuture::ready(response),
            Err(back) => back,
        };
        // The ready service serves this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let ctx = Ctx {
            inner,
            cache: self.cache.clone(),
            config: self.config.clone(),
            flights: self.flights.clone(),
        };
        ResponseFuture::new(Box::pin(handle(ctx, req, near)))
    }
}
