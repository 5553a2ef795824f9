//! [`Invalidation`]: forwards requests, then invalidates what a successful mutation changed;
//! answers purge requests.

use std::fmt::Write as _;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use cache_core::{Cache, Error};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::action::Invalidate;
use super::future::ResponseFuture;
use super::layer::{InvalidationLayer, Settings, settings_setters};
use super::purge::{Authorize, NoPurge, Purge};
use super::rule::InvalidationRule;
use crate::body::ResponseBody;
use crate::macros::inner_accessors;
use crate::response_cache::{Published, invalidate_uri_strictly, uri_prefix};

/// The service of an [`InvalidationLayer`].
pub struct Invalidation<S, A = NoPurge> {
    inner: S,
    cache: Cache,
    settings: Arc<Settings<A>>,
}

impl<S> Invalidation<S> {
    /// Invalidates entries of `cache` after `inner`'s successful mutations, with no rules and
    /// no purge endpoint yet.
    pub fn new(inner: S, cache: Cache) -> Self {
        Self::from_parts(inner, cache, Arc::new(Settings::empty()))
    }

    /// An [`InvalidationLayer`] over `cache`.
    pub fn layer(cache: Cache) -> InvalidationLayer {
        InvalidationLayer::new(cache)
    }
}

impl<S, A> Invalidation<S, A> {
    pub(crate) fn from_parts(inner: S, cache: Cache, settings: Arc<Settings<A>>) -> Self {
        Self {
            inner,
            cache,
            settings,
        }
    }

    fn map_settings<B>(self, f: impl FnOnce(Settings<A>) -> Settings<B>) -> Invalidation<S, B>
    where
        A: Clone,
    {
        Invalidation {
            inner: self.inner,
            cache: self.cache,
            settings: Arc::new(f(Arc::unwrap_or_clone(self.settings))),
        }
    }

    inner_accessors!();
}

impl<S, A: Authorize> Invalidation<S, A> {
    settings_setters!(Invalidation<S>);
}

impl<S: Clone, A> Clone for Invalidation<S, A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<S: std::fmt::Debug, A> std::fmt::Debug for Invalidation<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invalidation")
            .field("inner", &self.inner)
            .field("rules", &self.settings.rules.len())
            .finish_non_exhaustive()
    }
}

impl<S, A, ReqBody, ResBody> Service<Request<ReqBody>> for Invalidation<S, A>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
    A: Authorize,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        // URLs are named as the response cache in front names them, with its scheme.
        let scheme = Published::of(&parts.extensions).default_scheme.clone();
        let origin = crate::uri::effective_uri(&parts, &scheme)
            .map(|uri| crate::uri::origin_of(&uri).to_owned());
        let cache = self.cache.clone();
        if let Some(purge) = self.settings.purge.as_ref().filter(|p| p.is_purge(&parts)) {
            let authorized = purge.authorize.authorize(&parts);
            let settings = self.settings.clone();
            return ResponseFuture::new(async move {
                let Some(purge) = &settings.purge else {
                    unreachable!("matched a purge endpoint above");
                };
                Ok(answer_purge(&cache, purge, &parts, authorized, origin.as_deref()).await)
            });
        }
        let actions: Vec<Invalidate> = crate::route::matching(&self.settings.rules, &parts)
            .flat_map(|(rule, matched)| rule.invalidations(&matched))
            .collect();
        let req = Request::from_parts(parts, body);
        // The ready service serves this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(async move {
            let response = inner.call(req).await?;
            if response.status().is_success() {
                for action in &actions {
                    action.run(&cache, origin.as_deref()).await;
                }
            }
            Ok(response.map(ResponseBody::stream))
        })
    }
}

/// The purge endpoint's answer: `403` and nothing removed without authorization; else the
/// removals, and `200` with how many entries the cache reported gone, or `503` saying what could
/// not be purged when the far tier failed (the in-process entries are gone either way; send
/// the purge again).
async fn answer_purge<B: Body, A: Authorize>(
    cache: &Cache,
    purge: &Purge<A>,
    parts: &Parts,
    authorized: bool,
    origin: Option<&str>,
) -> Response<ResponseBody<B>> {
    let (status, body) = match (authorized, origin) {
        (false, _) => (StatusCode::FORBIDDEN, "purge not authorized\n".to_owned()),
        (true, None) => (
            StatusCode::BAD_REQUEST,
            "purge request without a single host\n".to_owned(),
        ),
        (true, Some(origin)) => {
            let targets = purge.targets(parts);
            let mut removed = 0u64;
            let mut failed: Vec<(String, Error)> = Vec::new();
            for path in &targets.paths {
                match invalidate_uri_strictly(cache, &format!("{origin}{path}")).await {
                    Ok(()) => removed += 1,
                    Err(e) => failed.push((format!("url {path}"), e)),
                }
            }
            for tag in &targets.tags {
                match cache.strict().invalidate_tag(tag).await {
                    Ok(n) => removed += n,
                    Err(e) => failed.push((format!("tag {tag}"), e)),
                }
            }
            for prefix in &targets.prefixes {
                let keys = uri_prefix(&format!("{origin}{prefix}"));
                match cache.strict().invalidate_prefix(&keys).await {
                    Ok(n) => removed += n,
                    Err(e) => failed.push((format!("prefix {prefix}"), e)),
                }
            }
            let mut body = format!("purged {removed}\n");
            if failed.is_empty() {
                (StatusCode::OK, body)
            } else {
                body.push_str("not purged from the shared store, retry:\n");
                for (what, e) in &failed {
                    let _ = writeln!(body, "  {what}: {e}");
                }
                (StatusCode::SERVICE_UNAVAILABLE, body)
            }
        }
    };
    let mut response = Response::new(ResponseBody::full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_closures_or_types() {
        struct Nothing;
        impl InvalidationRule for Nothing {
            fn invalidations(&self, _: &crate::route::Matched<'_>) -> Vec<Invalidate> {
                Vec::new()
            }
        }
        let layer = InvalidationLayer::new(Cache::new(10))
            .rule(http::Method::PUT, "/a/{id}", Nothing)
            .rule(
                http::Method::PUT,
                "/b/{id}",
                |_: &crate::route::Matched<'_>| vec![Invalidate::tag("b")],
            );
        assert!(format!("{layer:?}").contains("rules: 2"));
    }
}
