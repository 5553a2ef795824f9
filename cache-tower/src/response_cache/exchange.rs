//! One request's passage through the response cache: the [`Exchange`] (what the service lends
//! the request), what was asked ([`Asked`]), and the first decision, which stage answers.
//!
//! The stages are methods of the exchange, each in its own file: `lookup` (answer from
//! storage), `revalidate` (ask the origin whether a stored response is current), `fetch` (a
//! miss goes to the origin, collapsed), `store` (keep what the origin said) and `invalidation`
//! (unsafe methods, and what other layers call).

use std::sync::Arc;

use cache_core::Cache;
use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, Method, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::collapse::Flights;
use super::config::Config;
use super::entry::{ResponseKey, Stored, Variants};
use super::key::MakeCacheKey;
use super::rules::directives::Directives;
use super::rules::status::{CacheStatus, Fwd};
use super::rules::storable::StoreRules;
use crate::body::ResponseBody;

/// The services a response cache can wrap: what they must be for a request's work to run on
/// any thread, spelled once.
pub(crate) trait Origin<ReqBody>:
    Service<Request<ReqBody>, Response = Response<Self::Body>, Future: Send, Error: Send + 'static>
    + Send
    + 'static
{
    /// The body of the service's responses.
    type Body: Body<Error: Send> + Send + Unpin + 'static;
}

impl<S, ReqBody, B> Origin<ReqBody> for S
where
    S: Service<Request<ReqBody>, Response = Response<B>> + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    B: Body + Send + Unpin + 'static,
    B::Error: Send,
{
    type Body = B;
}

/// What a stage answers with.
pub(crate) type Out<B, E> = Result<Response<ResponseBody<B>>, E>;

/// What the service lends one request: the origin to call (the ready service, taken by
/// `call`) and the cache's side.
pub(crate) struct Exchange<S, K> {
    pub(crate) inner: S,
    pub(crate) storage: Storage<K>,
}

/// The cache's side of an exchange: the cache, the settings, request collapsing and the key
/// maker. Shared between threads while a stage waits on it, unlike the origin service.
pub(crate) struct Storage<K> {
    pub(crate) cache: Cache,
    pub(crate) config: Arc<Config>,
    pub(crate) flights: Arc<Flights>,
    pub(crate) make_key: K,
}

/// What is known of a cacheable request (a `GET` or `HEAD` with a primary key) once its body
/// has gone to the origin.
#[derive(Clone)]
pub(crate) struct Asked {
    pub(crate) head: bool,
    /// The request's headers, copied only on the way to the origin (a hit reads the request's).
    pub(crate) headers: HeaderMap,
    pub(crate) dirs: Directives,
    pub(crate) uri: String,
    /// The rules a response to the request is stored by (they depend on its path).
    pub(crate) rules: StoreRules,
}

impl Asked {
    /// The key of the responses stored for `GET` (or, with `head`, for `HEAD`) of the URI.
    pub(crate) fn key(&self, head: bool) -> ResponseKey {
        ResponseKey {
            head,
            uri: self.uri.clone(),
        }
    }

    /// Collapsing is per method and URI.
    pub(crate) fn flight(&self) -> Arc<str> {
        format!("{} {}", if self.head { "HEAD" } else { "GET" }, self.uri).into()
    }

    /// Whether the request carries conditionals or a range, which are never collapsed: the
    /// leader's answer to them would not be the waiters'.
    pub(crate) fn is_conditional(&self) -> bool {
        [
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_MATCH,
            IF_UNMODIFIED_SINCE,
            IF_RANGE,
            RANGE,
        ]
        .iter()
        .any(|h| self.headers.contains_key(h))
    }
}

/// A stored response chosen for a request, with the entry it came from.
pub(crate) struct Chosen {
    pub(crate) key: ResponseKey,
    pub(crate) variants: Arc<Variants>,
    pub(crate) stored: Arc<Stored>,
}

/// Where an origin's response is stored: under `key`, joining the `existing` variants.
pub(crate) struct Target {
    pub(crate) key: ResponseKey,
    pub(crate) existing: Option<Arc<Variants>>,
}

/// Whether a request may carry a body. The cache key does not cover a body, so such a request
/// (a `GET` with a search query in its body, say) is neither answered from nor stored in the
/// cache, and never collapsed with others.
pub(crate) fn may_have_body<B: Body>(req: &Request<B>) -> bool {
    let body = req.body();
    !(body.is_end_stream() || body.size_hint().upper() == Some(0))
}

/// The directives of a request, unless the cache ignores them.
pub(crate) fn request_directives(config: &Config, headers: &HeaderMap) -> Directives {
    if config.ignore_request_directives {
        Directives::default()
    } else {
        Directives::from_headers(headers)
    }
}

/// The primary key of a request, or `None` to bypass the cache (the key maker said so, or the
/// key is too long).
pub(crate) fn key_of<K: MakeCacheKey>(
    config: &Config,
    make_key: &K,
    parts: &http::request::Parts,
) -> Option<String> {
    let key = make_key.make_key(parts, &config.default_scheme)?;
    (key.len() <= config.max_key).then_some(key)
}

impl<S, K: MakeCacheKey> Exchange<S, K> {
    /// Handles one request; `near` is what the in-process tier held for its `GET` entry, when
    /// the service's fast path already looked.
    pub(crate) async fn handle<ReqBody>(
        mut self,
        req: Request<ReqBody>,
        near: Option<Arc<Variants>>,
    ) -> Out<S::Body, S::Error>
    where
        S: Origin<ReqBody>,
        ReqBody: Body + Send + 'static,
    {
        let config = self.storage.config.clone();
        // Layers inside (write-through, invalidation, purge) store and key with these settings.
        #[cfg(any(feature = "invalidate", feature = "write-through"))]
        let req = {
            let mut req = req;
            req.extensions_mut()
                .insert(super::config::Published(config.clone()));
            req
        };
        let method = req.method().clone();
        if method != Method::GET && method != Method::HEAD {
            return self.other_method(req).await;
        }
        if may_have_body(&req) {
            let mut status = CacheStatus::forwarded(Fwd::Bypass);
            status.detail = Some("request-body");
            return self.forward(req, status).await;
        }
        let (parts, body) = req.into_parts();
        let uri = key_of(&config, &self.storage.make_key, &parts);
        let req = Request::from_parts(parts, body);
        let Some(uri) = uri else {
            return self.forward(req, CacheStatus::forwarded(Fwd::Bypass)).await;
        };
        let dirs = request_directives(&config, req.headers());
        if dirs.no_store {
            return self
                .forward(req, CacheStatus::forwarded(Fwd::Request))
                .await;
        }
        let mut asked = Asked {
            head: method == Method::HEAD,
            headers: HeaderMap::new(),
            dirs,
            uri,
            rules: config.store_rules(Some(req.uri().path())),
        };
        let looked = self.storage.lookup(&asked, req.headers(), near).await;
        match looked.chosen {
            Some(chosen) => self.answer_stored(req, asked, chosen).await,
            None => {
                let fwd = if looked.entry.is_some() {
                    Fwd::VaryMiss
                } else {
                    Fwd::UriMiss
                };
                let mut status = CacheStatus::forwarded(fwd);
                if looked.store_failed {
                    status.detail = Some("store-error");
                }
                if asked.dirs.only_if_cached {
                    status.detail = Some("only-if-cached");
                    return Ok(super::lookup::gateway_timeout(&config, &status));
                }
                asked.headers = req.headers().clone();
                let target = Target {
                    key: asked.key(asked.head),
                    existing: looked
                        .entry
                        .filter(|(key, _)| key.head == asked.head)
                        .map(|(_, v)| v),
                };
                self.miss(req, asked, target, status).await
            }
        }
    }
}
