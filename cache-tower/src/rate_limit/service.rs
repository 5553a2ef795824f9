//! [`RateLimit`]: counts each request against its client's limit and refuses those past it.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cache_core::{Cache, Error};
use http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::client::IdentifyClient;
use super::future::ResponseFuture;
use super::layer::{RateLimitLayer, Settings, settings_setters};
use super::window::{BucketKey, Decision, WindowKey};
use crate::body::ResponseBody;
use crate::macros::inner_accessors;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The service of a [`RateLimitLayer`].
pub struct RateLimit<S, C> {
    inner: S,
    cache: Cache,
    settings: Arc<Settings>,
    client: C,
}

impl<S, C: IdentifyClient> RateLimit<S, C> {
    /// At most `limit` requests per `window` to `inner` for each client, as
    /// [`RateLimitLayer::new`] says.
    pub fn new(inner: S, cache: Cache, limit: u64, window: Duration, client: C) -> Self {
        Self::from_parts(inner, cache, Arc::new(Settings::new(limit, window)), client)
    }

    /// A [`RateLimitLayer`], as [`RateLimitLayer::new`] makes it.
    pub fn layer(cache: Cache, limit: u64, window: Duration, client: C) -> RateLimitLayer<C> {
        RateLimitLayer::new(cache, limit, window, client)
    }

    settings_setters!();
}

impl<S, C> RateLimit<S, C> {
    pub(crate) fn from_parts(inner: S, cache: Cache, settings: Arc<Settings>, client: C) -> Self {
        Self {
            inner,
            cache,
            settings,
            client,
        }
    }

    inner_accessors!();
}

impl<S: Clone, C: Clone> Clone for RateLimit<S, C> {
    fn clone(&self) -> Self {
        Self::from_parts(
            self.inner.clone(),
            self.cache.clone(),
            self.settings.clone(),
            self.client.clone(),
        )
    }
}

impl<S: std::fmt::Debug, C> std::fmt::Debug for RateLimit<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn write_headers(headers: &mut HeaderMap, d: &Decision) {
    headers.insert(LIMIT, HeaderValue::from(d.limit));
    headers.insert(REMAINING, HeaderValue::from(d.remaining));
    headers.insert(RESET, HeaderValue::from(d.reset));
}

/// Counts one request of `client` under `settings`.
async fn decide(cache: &Cache, settings: &Settings, client: String) -> Result<Decision, Error> {
    let scope = settings.scope.clone();
    match settings.gcra {
        Some(burst) => {
            let key = BucketKey { scope, client };
            let throttle = cache
                .throttle(&key, settings.limit, settings.window, burst)
                .await?;
            Ok(Decision::from_throttle(&throttle, settings.limit))
        }
        None => {
            let key = WindowKey { scope, client };
            let window = cache.count_in_window(&key, settings.window, 1).await?;
            Ok(Decision::from_window(&window, settings.limit))
        }
    }
}

/// The limiter's own answer: `status` with `body`.
fn refuse<B: Body>(status: StatusCode, body: &'static [u8]) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::full(Bytes::from_static(body)));
    *response.status_mut() = status;
    response
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
    C: IdentifyClient,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = self.settings.clone();
        let (parts, body) = req.into_parts();
        let client = if settings.exempts(parts.uri.path()) {
            None
        } else {
            self.client.client(&parts)
        };
        let req = Request::from_parts(parts, body);
        let Some(client) = client else {
            return ResponseFuture::new(async move {
                Ok(inner.call(req).await?.map(ResponseBody::stream))
            });
        };
        let cache = self.cache.clone();
        ResponseFuture::new(async move {
            let decision = match decide(&cache, &settings, client).await {
                Ok(decision) => decision,
                Err(e) => {
                    tracing::debug!(error = %e, "rate limit counts unavailable");
                    if settings.fail_open {
                        return Ok(inner.call(req).await?.map(ResponseBody::stream));
                    }
                    return Ok(refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        b"rate limit unavailable\n",
                    ));
                }
            };
            if !decision.allowed {
                let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, b"too many requests\n");
                write_headers(response.headers_mut(), &decision);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(decision.retry));
                return Ok(response);
            }
            let mut response = inner.call(req).await?.map(ResponseBody::stream);
            write_headers(response.headers_mut(), &decision);
            Ok(response)
        })
    }
}
