//! Answering from storage: the fast path inside `call`, the lookup of a request's stored
//! responses, and what a chosen stored response allows (serve it, serve it stale and
//! revalidate behind it, or validate it first).

use std::sync::Arc;

use cache_core::Cache;
use http::header::{AGE, CONTENT_LENGTH, CONTENT_RANGE, HeaderValue, RANGE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;

use super::collapse::Join;
use super::config::Config;
use super::entry::{ResponseKey, Stored, Variants};
use super::exchange::{
    Asked, Chosen, Exchange, Origin, Out, Storage, Target, key_of, may_have_body,
    request_directives,
};
use super::key::MakeCacheKey;
use super::rules::conditional;
use super::rules::freshness::{Reuse, reuse};
use super::rules::range::{self, Ranged};
use super::rules::status::{CacheStatus, Fwd};
use crate::body::ResponseBody;

/// A request [`fast_hit`] could not answer, with what the in-process tier held for its URI.
pub(crate) type Declined<ReqBody> = (Request<ReqBody>, Option<Arc<Variants>>);

/// Answers a fresh hit held in process without waiting (no far tier, no origin), or hands the
/// request back with what the in-process tier holds for its URI.
#[allow(clippy::result_large_err)]
pub(crate) fn fast_hit<ReqBody: Body, B: Body, K: MakeCacheKey>(
    cache: &Cache,
    config: &Config,
    make_key: &K,
    req: Request<ReqBody>,
) -> Result<Response<ResponseBody<B>>, Declined<ReqBody>> {
    if req.method() != Method::GET && req.method() != Method::HEAD || may_have_body(&req) {
        return Err((req, None));
    }
    let (parts, body) = req.into_parts();
    let uri = key_of(config, make_key, &parts);
    let req = Request::from_parts(parts, body);
    let Some(uri) = uri else {
        return Err((req, None));
    };
    let dirs = request_directives(config, req.headers());
    if dirs.no_store {
        return Err((req, None));
    }
    let key = ResponseKey { head: false, uri };
    let Some(variants) = cache.get_in_process(&key) else {
        return Err((req, None));
    };
    let Some(stored) = variants.select(req.headers()) else {
        return Err((req, Some(variants)));
    };
    let now = config.now();
    let age = stored.age(now);
    if reuse(&stored.freshness, age, &dirs) != Reuse::Fresh
        || !conditional::preconditions_hold(req.headers(), stored)
    {
        return Err((req, Some(variants)));
    }
    let head = req.method() == Method::HEAD;
    let status = CacheStatus::hit(ttl_of(stored, now));
    Ok(serve(config, stored, age, head, req.headers(), status))
}

/// What a lookup found.
pub(crate) struct Looked {
    /// The stored response the request selects, if any.
    pub(crate) chosen: Option<Chosen>,
    /// Else the entry of the request's URI (of its own method when there is one), whose
    /// variants a new response joins.
    pub(crate) entry: Option<(ResponseKey, Arc<Variants>)>,
    /// Whether the store failed (read as a miss, reported as `detail=store-error`).
    pub(crate) store_failed: bool,
}

impl<K: MakeCacheKey> Storage<K> {
    /// The stored responses for the request's URI and the one its headers select. A `HEAD` is
    /// answered from a stored `GET` first, then from a stored `HEAD`.
    pub(crate) async fn lookup(
        &self,
        asked: &Asked,
        request: &HeaderMap,
        mut near: Option<Arc<Variants>>,
    ) -> Looked {
        let mut looked = Looked {
            chosen: None,
            entry: None,
            store_failed: false,
        };
        let tries: &[bool] = if asked.head { &[false, true] } else { &[false] };
        for &head in tries {
            let key = asked.key(head);
            let found = match near.take().filter(|_| !head) {
                Some(variants) => Some(variants),
                // Fail open, but know it: the failure was counted and logged by the cache.
                None => self.cache.strict().get(&key).await.unwrap_or_else(|_| {
                    looked.store_failed = true;
                    None
                }),
            };
            let Some(variants) = found else {
                continue;
            };
            if let Some(stored) = variants.select(request).cloned() {
                looked.chosen = Some(Chosen {
                    key,
                    variants,
                    stored,
                });
                return looked;
            }
            // Keep the entry of the request's own method for merging in a new variant.
            if head == asked.head || looked.entry.is_none() {
                looked.entry = Some((key, variants));
            }
        }
        looked
    }
}

impl<S, K: MakeCacheKey> Exchange<S, K> {
    /// A stored response was chosen: reuse it, or validate it first.
    pub(crate) async fn answer_stored<ReqBody>(
        self,
        req: Request<ReqBody>,
        mut asked: Asked,
        chosen: Chosen,
    ) -> Out<S::Body, S::Error>
    where
        S: Origin<ReqBody>,
        ReqBody: Send + 'static,
    {
        let config = self.storage.config.clone();
        if !conditional::preconditions_hold(req.headers(), &chosen.stored) {
            // The client's If-Match or If-Unmodified-Since fails for what is stored: the origin
            // answers it (a 412 is not stored; a 200 is the new representation).
            asked.headers = req.headers().clone();
            let mut status = CacheStatus::forwarded(Fwd::Request);
            status.detail = Some("precondition");
            let target = Target {
                key: asked.key(asked.head),
                existing: (chosen.key.head == asked.head).then_some(chosen.variants),
            };
            let mut this = self;
            return Ok(this.fetch(req, &asked, target, status).await?.0);
        }
        let now = config.now();
        let stored = &chosen.stored;
        let age = stored.age(now);
        let ttl = ttl_of(stored, now);
        let serve_now = |detail| {
            let mut status = CacheStatus::hit(ttl);
            status.detail = detail;
            serve(&config, stored, age, asked.head, req.headers(), status)
        };
        match reuse(&stored.freshness, age, &asked.dirs) {
            Reuse::Fresh => Ok(serve_now(None)),
            Reuse::StaleAccepted => Ok(serve_now(Some("max-stale"))),
            Reuse::StaleWhileRevalidate => {
                let response = serve_now(Some("stale-while-revalidate"));
                asked.headers = req.headers().clone();
                self.revalidate_behind(req, asked, chosen);
                Ok(response)
            }
            Reuse::Validate => {
                if asked.dirs.only_if_cached {
                    let mut status = CacheStatus::forwarded(Fwd::Stale);
                    status.detail = Some("only-if-cached");
                    return Ok(gateway_timeout(&config, &status));
                }
                let fwd = if asked.dirs.no_cache {
                    Fwd::Request
                } else {
                    Fwd::Stale
                };
                asked.headers = req.headers().clone();
                let status = CacheStatus::forwarded(fwd);
                // Concurrent validations of one key send one request; the others reuse what
                // it freshened or stored. A client's `no-cache` asks for the origin itself.
                if !config.collapse || asked.dirs.no_cache {
                    return self.validate(req, asked, chosen, status).await;
                }
                match self.storage.flights.join(&asked.flight(), config.now()) {
                    Join::Alone => self.validate(req, asked, chosen, status).await,
                    Join::Leader(flight) => {
                        let answer = self.validate(req, asked, chosen, status).await;
                        drop(flight);
                        answer
                    }
                    Join::Waiter(rx) => match self.storage.after_flight(rx, &asked).await {
                        Some(answer) => Ok(answer),
                        None => self.validate(req, asked, chosen, status).await,
                    },
                }
            }
        }
    }
}

/// Seconds of freshness left (negative when stale).
pub(crate) fn ttl_of(stored: &Stored, now: u64) -> i64 {
    i64::try_from(stored.freshness.lifetime).unwrap_or(i64::MAX)
        - i64::try_from(stored.age(now)).unwrap_or(i64::MAX)
}

/// The answer built from a stored response: a `304` when the client's conditionals say its copy
/// is current; for a `GET` with a `Range` of a stored `200`, a `206` with the part or a `416`;
/// else the stored response (without a body for `HEAD`). Each with `Age` and `Cache-Status`.
pub(crate) fn serve<B: Body>(
    config: &Config,
    stored: &Stored,
    age: u64,
    head: bool,
    request: &HeaderMap,
    status: CacheStatus,
) -> Response<ResponseBody<B>> {
    let ranged = if !head && stored.status == StatusCode::OK && request.contains_key(RANGE) {
        range::ranged(request, &stored.headers, stored.body.len() as u64)
    } else {
        Ranged::Whole
    };
    let (code, mut headers, body) = if stored.status.is_success()
        && conditional::client_has_current(request, stored)
    {
        (
            StatusCode::NOT_MODIFIED,
            conditional::not_modified_headers(stored),
            ResponseBody::empty(),
        )
    } else if let Ranged::Part { first, last } = ranged {
        let len = stored.body.len() as u64;
        let mut headers = stored.headers.clone();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(last - first + 1));
        if let Ok(value) = HeaderValue::try_from(range::content_range(first, last, len)) {
            headers.insert(CONTENT_RANGE, value);
        }
        // Both positions are inside the body, which is in memory: they fit a usize.
        let part = stored
            .body
            .slice(usize::try_from(first).unwrap_or(0)..=usize::try_from(last).unwrap_or(0));
        (
            StatusCode::PARTIAL_CONTENT,
            headers,
            ResponseBody::full(part),
        )
    } else if ranged == Ranged::Unsatisfiable {
        // Only what describes the failure: a 416 is one client's answer, not to be stored
        // by a cache downstream.
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        if let Ok(value) = HeaderValue::try_from(range::unsatisfied_range(stored.body.len() as u64))
        {
            headers.insert(CONTENT_RANGE, value);
        }
        (
            StatusCode::RANGE_NOT_SATISFIABLE,
            headers,
            ResponseBody::empty(),
        )
    } else if head {
        let mut headers = stored.headers.clone();
        if !headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(stored.body.len()));
        }
        (stored.status, headers, ResponseBody::empty())
    } else {
        (
            stored.status,
            stored.headers.clone(),
            ResponseBody::full(stored.body.clone()),
        )
    };
    headers.insert(AGE, HeaderValue::from(age));
    status.write(&config.name, &mut headers);
    let mut response = Response::new(body);
    *response.status_mut() = code;
    *response.headers_mut() = headers;
    response
}

/// A `504` from the cache itself (`only-if-cached` with nothing usable, or a required
/// validation that could not reach the origin).
pub(crate) fn gateway_timeout<B: Body>(
    config: &Config,
    status: &CacheStatus,
) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    status.write(&config.name, response.headers_mut());
    response
}

/// The origin's response as it is, with `Cache-Status`.
pub(crate) fn pass<B: Body>(
    config: &Config,
    response: Response<B>,
    status: &CacheStatus,
) -> Response<ResponseBody<B>> {
    let (mut parts, body) = response.into_parts();
    super::rules::tags::take(&mut parts.headers, config.expose_tags);
    status.write(&config.name, &mut parts.headers);
    Response::from_parts(parts, ResponseBody::stream(body))
}
