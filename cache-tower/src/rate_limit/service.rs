//! [`RateLimit`]: counts each request in its client's window and refuses those past the limit.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cache_core::Cache;
use http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::layer::Settings;
use super::window::{BucketKey, Decision, WindowKey, decide, locate};
use crate::invalidate::ResponseFuture;
use crate::response_cache::ResponseBody;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The service of a [`RateLimitLayer`](super::RateLimitLayer).
#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    cache: Cache,
    settings: Arc<Settings>,
}

impl<S> RateLimit<S> {
    pub(crate) fn from_parts(inner: S, cache: Cache, settings: Arc<Settings>) -> Self {
        Self {
            inner,
            cache,
            settings,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

fn write_headers(headers: &mut HeaderMap, d: &Decision) {
    headers.insert(LIMIT, HeaderValue::from(d.limit));
    headers.insert(REMAINING, HeaderValue::from(d.remaining));
    headers.insert(RESET, HeaderValue::from(d.reset));
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
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
        let path = req.uri().path();
        let exempt = settings.exempt.iter().any(|e| {
            path == e
                || path
                    .strip_prefix(e.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        });
        let (parts, body) = req.into_parts();
        let client = if exempt {
            None
        } else {
            (settings.client)(&parts)
        };
        let req = Request::from_parts(parts, body);
        let Some(client) = client else {
            return ResponseFuture::new(Box::pin(async move {
                Ok(inner.call(req).await?.map(ResponseBody::stream))
            }));
        };
        let cache = self.cache.clone();
        ResponseFuture::new(Box::pin(async move {
            let decision = match settings.gcra {
                Some(burst) => {
                    let key = BucketKey {
                        scope: settings.scope.clone(),
                        client,
                    };
                    cache
                        .throttle(&key, settings.limit, settings.window, burst)
                        .await
                        .map(|t| Decision::from_throttle(&t, settings.limit))
                }
                None => {
                    let window_ms = u64::try_from(settings.window.as_millis()).unwrap_or(u64::MAX);
                    let (window, left_ms) = locate(now_ms(), window_ms);
                    let key = WindowKey {
                        scope: settings.scope.clone(),
                        client,
                        window,
                    };
                    // The counter expires with its window; the window's number in the key
                    // keeps a late increment from reviving an old count.
                    let ttl = std::time::Duration::from_millis(left_ms);
                    cache
                        .increment_within(&key, 1, Some(ttl))
                        .await
                        .map(|count| decide(count, settings.limit, left_ms))
                }
            };
            let decision = decision
                .inspect_err(|e| tracing::debug!(error = %e, "rate limit counter unavailable"))
                .ok();
            let Some(decision) = decision else {
                if settings.fail_open {
                    return Ok(inner.call(req).await?.map(ResponseBody::stream));
                }
                let mut response = Response::new(ResponseBody::full(Bytes::from_static(
                    b"rate limit unavailable\n",
                )));
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                return Ok(response);
            };
            if !decision.allowed {
                let mut response = Response::new(ResponseBody::full(Bytes::from_static(
                    b"too many requests\n",
                )));
                *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                write_headers(response.headers_mut(), &decision);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(decision.retry));
                return Ok(response);
            }
            let mut response = inner.call(req).await?.map(ResponseBody::stream);
            write_headers(response.headers_mut(), &decision);
            Ok(response)
        }))
    }
}
