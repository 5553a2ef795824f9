//! [`WriteThrough`]: forwards requests, then writes what a successful `PUT`/`PATCH` returned.

use std::sync::Arc;
use std::task::{Context, Poll};

use cache_core::Cache;
use http::header::CONTENT_LOCATION;
use http::request::Parts;
use http::{Method, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::{Action, Settings, WriteThroughLayer, settings_setters};
use crate::body::{Buffered, ResponseBody, buffer};
use crate::macros::inner_accessors;
use crate::response_cache::{Config, Published, WrittenThrough, write_representation};
use crate::uri::{effective_uri, head_copy, origin_of};

/// The service of a [`WriteThroughLayer`](super::WriteThroughLayer).
#[derive(Clone)]
pub struct WriteThrough<S> {
    inner: S,
    cache: Cache,
    settings: Arc<Settings>,
}

impl<S> WriteThrough<S> {
    /// Writes into `cache` what `inner`'s successful `PUT`s and `PATCH`es return, with the
    /// defaults of [`WriteThroughLayer::new`].
    pub fn new(inner: S, cache: Cache) -> Self {
        Self::from_parts(inner, cache, Arc::default())
    }

    /// A [`WriteThroughLayer`] writing into `cache`.
    pub fn layer(cache: Cache) -> WriteThroughLayer {
        WriteThroughLayer::new(cache)
    }

    pub(crate) fn from_parts(inner: S, cache: Cache, settings: Arc<Settings>) -> Self {
        Self {
            inner,
            cache,
            settings,
        }
    }

    inner_accessors!();
    settings_setters!();
}

impl<S: std::fmt::Debug> std::fmt::Debug for WriteThrough<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteThrough")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WriteThrough<S>
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
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.method() != Method::PUT && req.method() != Method::PATCH {
            return ResponseFuture::new(async move {
                Ok(inner.call(req).await?.map(ResponseBody::stream))
            });
        }
        let (parts, body) = req.into_parts();
        let head = head_copy(&parts);
        let config = Published::of(&parts.extensions);
        let req = Request::from_parts(parts, body);
        let cache = self.cache.clone();
        let settings = self.settings.clone();
        ResponseFuture::new(async move {
            let response = inner.call(req).await?;
            Ok(write_through(&cache, &settings, &config, &head, response).await)
        })
    }
}

/// The response for the client, with what it carries written into the cache when the rules
/// (and the settings `config` of the response cache in front) say so.
async fn write_through<B: Body + Unpin>(
    cache: &Cache,
    settings: &Settings,
    config: &Config,
    head: &Parts,
    response: Response<B>,
) -> Response<ResponseBody<B>> {
    if !response.status().is_success() {
        return response.map(ResponseBody::stream);
    }
    let mut store_at: Option<String> = None;
    let mut typed = Vec::new();
    for (action, matched) in crate::route::matching(&settings.rules, head) {
        match action {
            Action::Path(to) => store_at = store_at.or_else(|| to.path(&matched)),
            Action::Typed(writes) => typed.push((writes.clone(), matched)),
        }
    }
    let target = effective_uri(head, &config.default_scheme);
    let origin = target.as_deref().map(origin_of);
    let declared = response
        .headers()
        .get(CONTENT_LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|location| match (location.starts_with('/'), origin) {
            (true, Some(origin)) => format!("{origin}{location}"),
            _ => location.to_owned(),
        });
    let representation = match (store_at, origin) {
        (Some(path), Some(origin)) => Some(format!("{origin}{path}")),
        (Some(_), None) => None,
        (None, _) => declared.filter(|d| Some(d) == target.as_ref()),
    };
    if representation.is_none() && typed.is_empty() {
        return response.map(ResponseBody::stream);
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match buffer(body, settings.max_body).await {
        Buffered::Complete(bytes) => bytes,
        Buffered::Partial(body) => return Response::from_parts(parts, body),
    };
    if let Some(uri) = representation.filter(|_| !bytes.is_empty())
        && write_representation(
            cache,
            config,
            head,
            uri.clone(),
            &parts.headers,
            bytes.clone(),
            settings.fresh_for,
        )
        .await
    {
        parts.extensions.insert(WrittenThrough(uri));
    }
    for (writes, matched) in typed {
        for write in writes.writes(&matched, &bytes) {
            write.run(cache.clone()).await;
        }
    }
    Response::from_parts(parts, ResponseBody::full(bytes))
}
