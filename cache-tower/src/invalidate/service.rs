//! [`Invalidation`]: forwards requests, then invalidates what a successful mutation changed.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use cache_core::Cache;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::action::Invalidate;
use super::future::ResponseFuture;
use super::layer::Rules;
use super::purge::Purge;
use super::rules::Matched;
use crate::response_cache::{Published, ResponseBody, effective_uri, invalidate_uri, uri_prefix};

/// The service of an [`InvalidationLayer`](super::InvalidationLayer).
#[derive(Clone)]
pub struct Invalidation<S> {
    inner: S,
    cache: Cache,
    rules: Arc<Rules>,
}

impl<S> Invalidation<S> {
    pub(crate) fn from_parts(inner: S, cache: Cache, rules: Arc<Rules>) -> Self {
        Self {
            inner,
            cache,
            rules,
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

impl<S: std::fmt::Debug> std::fmt::Debug for Invalidation<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invalidation")
            .field("inner", &self.inner)
            .field("rules", &self.rules.rules.len())
            .finish_non_exhaustive()
    }
}

/// `scheme://authority` of a request, when it has one.
fn origin_of(parts: &Parts, scheme: &str) -> Option<String> {
    effective_uri(parts, scheme).map(|uri| crate::response_cache::origin_of(&uri).to_owned())
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Invalidation<S>
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
        let (parts, body) = req.into_parts();
        // The scheme of origin-form targets is the response cache's in front, if any.
        let scheme = &Published::of(&parts.extensions).default_scheme;
        let origin = origin_of(&parts, scheme);
        let cache = self.cache.clone();
        if let Some(purge) = self.rules.purge.as_ref().filter(|p| p.is_purge(&parts)) {
            let authorized = (purge.authorize)(&parts);
            let purge = purge.clone();
            return ResponseFuture::new(Box::pin(async move {
                Ok(answer_purge(&cache, &purge, &parts, authorized, origin.as_deref()).await)
            }));
        }
        let path = parts.uri.path().to_owned();
        let actions: Vec<Invalidate> = self
            .rules
            .rules
            .iter()
            .filter(|rule| rule.method == parts.method)
            .filter_map(|rule| {
                let params = rule.template.matches(&path)?;
                Some((rule.action)(&Matched {
                    params,
                    parts: &parts,
                }))
            })
            .flatten()
            .collect();
        let req = Request::from_parts(parts, body);
        // The ready service serves this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(Box::pin(async move {
            let response = inner.call(req).await?;
            if response.status().is_success() {
                for action in &actions {
                    action.run(&cache, origin.as_deref()).await;
                }
            }
            Ok(response.map(ResponseBody::stream))
        }))
    }
}

/// The purge endpoint's answer: `403` and nothing removed without authorization, else the
/// removals and `200` with how many entries the cache reported gone.
async fn answer_purge<B: Body>(
    cache: &Cache,
    purge: &Purge,
    parts: &Parts,
    authorized: bool,
    origin: Option<&str>,
) -> Response<ResponseBody<B>> {
    let (status, body) = if !authorized {
        (StatusCode::FORBIDDEN, "purge not authorized\n".to_owned())
    } else if let Some(origin) = origin {
        let targets = purge.targets(parts);
        let mut removed = 0u64;
        for path in &targets.paths {
            invalidate_uri(cache, &format!("{origin}{path}")).await;
            removed += 1;
        }
        for tag in &targets.tags {
            removed += cache.invalidate_tag(tag).await;
        }
        for prefix in &targets.prefixes {
            removed += cache
                .invalidate_prefix(&uri_prefix(&format!("{origin}{prefix}")))
                .await
                .unwrap_or(0);
        }
        (StatusCode::OK, format!("purged {removed}\n"))
    } else {
        (
            StatusCode::BAD_REQUEST,
            "purge request without a host\n".to_owned(),
        )
    };
    let mut response = Response::new(ResponseBody::full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
