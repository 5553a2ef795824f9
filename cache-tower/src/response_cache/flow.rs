//! What happens to one request: lookup, reuse, validation, forwarding and storing. The rules
//! come from the pure modules beside this one; this file only sequences them.

use std::sync::Arc;
use std::time::Duration;

use cache_core::Cache;
use http::header::{
    AGE, CONTENT_LENGTH, CONTENT_LOCATION, COOKIE, DATE, ETAG, HeaderValue, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, LOCATION,
    RANGE,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::body::{Buffered, ResponseBody, buffer};
use super::collapse::{Flights, Join, landed};
use super::conditional;
use super::config::Config;
use super::directives::Directives;
use super::entry::{ResponseKey, Stored, Variants, reserve_answer_fields};
use super::freshness::{Freshness, Reuse, initial_age, reuse};
use super::status::{CacheStatus, Fwd};
use super::storable::{Exchange, check, stored_headers};
use super::vary;

/// Everything one request needs from the service.
pub(crate) struct Ctx<S> {
    pub(crate) inner: S,
    pub(crate) cache: Cache,
    pub(crate) config: Arc<Config>,
    pub(crate) flights: Arc<Flights>,
}

pub(crate) type Out<B, E> = Result<Response<ResponseBody<B>>, E>;

/// What is kept of a request once it has been handed to the origin.
#[derive(Clone)]
struct Meta {
    head: bool,
    /// The request's headers, copied only on the way to the origin (a hit reads the request's).
    headers: HeaderMap,
    dirs: Directives,
    uri: String,
}

impl Meta {
    fn key(&self, head: bool) -> ResponseKey {
        ResponseKey {
            head,
            uri: self.uri.clone(),
        }
    }

    /// Collapsing is per method and URI.
    fn flight(&self) -> Arc<str> {
        format!("{} {}", if self.head { "HEAD" } else { "GET" }, self.uri).into()
    }
}

/// A stored response chosen for a request, with the entry it came from.
struct Found {
    key: ResponseKey,
    variants: Arc<Variants>,
    stored: Option<Arc<Stored>>,
}

/// A request [`fast_hit`] could not answer, with what the in-process tier held for its URI.
pub(crate) type Declined<ReqBody> = (Request<ReqBody>, Option<Arc<Variants>>);

/// Answers a fresh hit held in process without waiting (no far tier, no origin), or hands the
/// request back with what the in-process tier holds for its URI.
#[allow(clippy::result_large_err)]
pub(crate) fn fast_hit<ReqBody, B: Body>(
    cache: &Cache,
    config: &Config,
    req: Request<ReqBody>,
) -> Result<Response<ResponseBody<B>>, Declined<ReqBody>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err((req, None));
    }
    let (parts, body) = req.into_parts();
    let uri = config.key_of(&parts);
    let req = Request::from_parts(parts, body);
    let Some(uri) = uri else {
        return Err((req, None));
    };
    let dirs = if config.ignore_request_directives {
        Directives::default()
    } else {
        Directives::from_headers(req.headers())
    };
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

/// Handles one request; `near` is what the in-process tier held for its `GET` entry, when
/// [`fast_hit`] already looked.
pub(crate) async fn handle<S, ReqBody, ResBody>(
    mut ctx: Ctx<S>,
    req: Request<ReqBody>,
    near: Option<Arc<Variants>>,
) -> Out<ResBody, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + Unpin + 'static,
    ResBody::Error: Send,
{
    let config = ctx.config.clone();
    // Layers inside (write-through, invalidation, purge) store and key with these settings.
    #[cfg(feature = "invalidate")]
    let req = {
        let mut req = req;
        req.extensions_mut()
            .insert(super::config::Published(config.clone()));
        req
    };
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return other_method(ctx, req).await;
    }
    let (parts, body) = req.into_parts();
    let key = config.key_of(&parts);
    let req = Request::from_parts(parts, body);
    let Some(uri) = key else {
        return forward(&mut ctx, req, CacheStatus::forwarded(Fwd::Bypass)).await;
    };
    let dirs = if config.ignore_request_directives {
        Directives::default()
    } else {
        Directives::from_headers(req.headers())
    };
    if dirs.no_store {
        return forward(&mut ctx, req, CacheStatus::forwarded(Fwd::Request)).await;
    }
    let mut meta = Meta {
        head: method == Method::HEAD,
        headers: HeaderMap::new(),
        dirs,
        uri,
    };
    let (found, store_failed) = lookup(&ctx.cache, &meta, req.headers(), near).await;
    match found {
        Some(Found {
            key,
            variants,
            stored: Some(stored),
        }) => with_stored(ctx, req, meta, key, variants, stored).await,
        other => {
            let (fwd, existing) = match other {
                Some(found) if found.key.head == meta.head => (Fwd::VaryMiss, Some(found.variants)),
                Some(_) => (Fwd::VaryMiss, None),
                None => (Fwd::UriMiss, None),
            };
            if meta.dirs.only_if_cached {
                let mut status = CacheStatus::forwarded(fwd);
                status.detail = Some("only-if-cached");
                return Ok(gateway_timeout(&config, &status));
            }
            meta.headers = req.headers().clone();
            miss(ctx, req, meta, existing, fwd, store_failed).await
        }
    }
}

/// The stored responses for the request's URI and the one its headers select. A `HEAD` is
/// answered from a stored `GET` first, then from a stored `HEAD`.
///
/// Also says whether the store failed (read as a miss, and reported as
/// `Cache-Status: ...; detail=store-error`).
async fn lookup(
    cache: &Cache,
    meta: &Meta,
    request: &HeaderMap,
    mut near: Option<Arc<Variants>>,
) -> (Option<Found>, bool) {
    let mut first = None;
    let mut failed = false;
    let tries: &[bool] = if meta.head { &[false, true] } else { &[false] };
    for &head in tries {
        let key = meta.key(head);
        let found = match near.take().filter(|_| !head) {
            Some(variants) => Some(variants),
            // Fail open, but know it: the failure was counted and logged by the cache.
            None => cache.strict().get(&key).await.unwrap_or_else(|_| {
                failed = true;
                None
            }),
        };
        let Some(variants) = found else {
            continue;
        };
        let stored = variants.select(request).cloned();
        let found = Found {
            key,
            variants,
            stored,
        };
        if found.stored.is_some() {
            return (Some(found), failed);
        }
        // Keep the entry of the request's own method for merging in a new variant.
        if head == meta.head || first.is_none() {
            first = Some(found);
        }
    }
    (first, failed)
}

/// A stored response was selected: reuse it, or validate it first.
async fn with_stored<S, ReqBody, ResBody>(
    ctx: Ctx<S>,
    req: Request<ReqBody>,
    mut meta: Meta,
    key: ResponseKey,
    variants: Arc<Variants>,
    stored: Arc<Stored>,
) -> Out<ResBody, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + Unpin + 'static,
    ResBody::Error: Send,
{
    let config = ctx.config.clone();
    if !conditional::preconditions_hold(req.headers(), &stored) {
        // The client's If-Match or If-Unmodified-Since fails for what is stored: the origin
        // answers it (a 412 is not stored; a 200 is the new representation).
        meta.headers = req.headers().clone();
        let mut status = CacheStatus::forwarded(Fwd::Request);
        status.detail = Some("precondition");
        let existing = (key.head == meta.head).then_some(variants);
        let mut ctx = ctx;
        let own = meta.key(meta.head);
        return Ok(fetch(&mut ctx, req, &meta, own, existing, status).await?.0);
    }
    let now = config.now();
    let age = stored.age(now);
    let ttl = ttl_of(&stored, now);
    match reuse(&stored.freshness, age, &meta.dirs) {
        Reuse::Fresh => Ok(serve(
            &config,
            &stored,
            age,
            meta.head,
            req.headers(),
            CacheStatus::hit(ttl),
        )),
        Reuse::StaleAccepted => {
            let mut status = CacheStatus::hit(ttl);
            status.detail = Some("max-stale");
            Ok(serve(
                &config,
                &stored,
                age,
                meta.head,
                req.headers(),
                status,
            ))
        }
        Reuse::StaleWhileRevalidate => {
            let mut status = CacheStatus::hit(ttl);
            status.detail = Some("stale-while-revalidate");
            let response = serve(&config, &stored, age, meta.head, req.headers(), status);
            meta.headers = req.headers().clone();
            let runtime = tokio::runtime::Handle::try_current();
            if let (Ok(runtime), Some(flight)) = (runtime, ctx.flights.try_lead(&meta.flight())) {
                runtime.spawn(async move {
                    let _flight = flight;
                    let status = CacheStatus::forwarded(Fwd::Stale);
                    // The client already has its answer; the result only refreshes storage.
                    let _ = validate(ctx, req, meta, key, variants, stored, status).await;
                });
            }
            Ok(response)
        }
        Reuse::Validate => {
            if meta.dirs.only_if_cached {
                let mut status = CacheStatus::forwarded(Fwd::Stale);
                status.detail = Some("only-if-cached");
                return Ok(gateway_timeout(&config, &status));
            }
            let fwd = if meta.dirs.no_cache {
                Fwd::Request
            } else {
                Fwd::Stale
            };
            meta.headers = req.headers().clone();
            validate(
                ctx,
                req,
                meta,
                key,
                variants,
                stored,
                CacheStatus::forwarded(fwd),
            )
            .await
        }
    }
}

/// Asks the origin whether `stored` is still current, with conditionals built from every stored
/// variant's validators, and answers from what it says.
#[allow(clippy::too_many_arguments)]
async fn validate<S, ReqBody, ResBody>(
    mut ctx: Ctx<S>,
    mut req: Request<ReqBody>,
    mut meta: Meta,
    key: ResponseKey,
    variants: Arc<Variants>,
    stored: Arc<Stored>,
    mut status: CacheStatus,
) -> Out<ResBody, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + Unpin + 'static,
    ResBody::Error: Send,
{
    let config = ctx.config.clone();
    // A HEAD that validates a stored GET asks the origin with GET: a 200 then brings the body
    // that replaces the stored one, and a HEAD's empty answer never does (the client still
    // gets no body).
    let client_head = meta.head;
    if meta.head && !key.head {
        *req.method_mut() = Method::GET;
        meta.head = false;
    }
    // The client's own conditionals are answered here, from the validated response.
    let headers = req.headers_mut();
    headers.remove(IF_NONE_MATCH);
    headers.remove(IF_MODIFIED_SINCE);
    let validators = conditional::validators(&stored, &variants.0);
    let conditional = !validators.is_empty();
    for (name, value) in validators {
        headers.insert(name, value);
    }
    let request_time = config.now();
    let result = ctx.inner.call(req).await;
    let now = config.now();
    let age = stored.age(now);
    let origin_down = match result {
        Ok(response) if response.status() == StatusCode::NOT_MODIFIED && conditional => {
            status.fwd_status = Some(304);
            let validated = variants
                .0
                .iter()
                .position(|v| Arc::ptr_eq(v, &stored))
                .unwrap_or(usize::MAX);
            let updated =
                conditional::select_for_update(&variants.0, response.headers(), validated);
            if updated.is_empty() {
                // A 304 for none of ours updates nothing; it goes to the client as it is.
                status.detail = Some("unmatched-304");
                return Ok(pass(&config, response, &status));
            }
            let fresh = freshen(
                &config,
                &variants,
                &updated,
                response.headers(),
                request_time,
                now,
            );
            let chosen = fresh
                .select(&meta.headers)
                .cloned()
                .unwrap_or_else(|| fresh.0[updated[0]].clone());
            save(&ctx.cache, &config, key, fresh).await;
            status.stored = true;
            status.ttl = Some(ttl_of(&chosen, now));
            return Ok(serve(
                &config,
                &chosen,
                chosen.age(now),
                client_head,
                &meta.headers,
                status,
            ));
        }
        Ok(response) => {
            if !matches!(response.status().as_u16(), 500 | 502 | 503 | 504)
                || !stored.freshness.stale_on_error(age)
            {
                let (response, _) = store_response(
                    &ctx.cache,
                    &config,
                    response,
                    &meta,
                    key,
                    Some(variants),
                    request_time,
                    status,
                )
                .await;
                if client_head && !meta.head {
                    return Ok(response.map(|_| ResponseBody::empty()));
                }
                return Ok(response);
            }
            status.fwd_status = Some(response.status().as_u16());
            None
        }
        Err(e) => {
            if stored.freshness.stale_on_error(age) {
                None
            } else if stored.freshness.no_stale || stored.freshness.no_cache {
                // Validation was required and the origin cannot be reached: no stale answer.
                status.detail = Some("origin-unreachable");
                return Ok(gateway_timeout(&config, &status));
            } else {
                Some(e)
            }
        }
    };
    match origin_down {
        Some(e) => Err(e),
        None => {
            status.hit = true;
            status.ttl = Some(ttl_of(&stored, now));
            status.detail = Some("stale-if-error");
            Ok(serve(
                &config,
                &stored,
                age,
                client_head,
                &meta.headers,
                status,
            ))
        }
    }
}

/// Seconds a URI whose response was not stored skips request collapsing.
const PASS_FOR: u64 = 30;

/// Nothing stored matched: one origin request per key at a time (request collapsing); callers
/// that waited reuse what the first stored, or go to the origin themselves.
async fn miss<S, ReqBody, ResBody>(
    mut ctx: Ctx<S>,
    req: Request<ReqBody>,
    meta: Meta,
    existing: Option<Arc<Variants>>,
    fwd: Fwd,
    store_failed: bool,
) -> Out<ResBody, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + Unpin + 'static,
    ResBody::Error: Send,
{
    let config = ctx.config.clone();
    let mut status = CacheStatus::forwarded(fwd);
    if store_failed {
        status.detail = Some("store-error");
    }
    let key = meta.key(meta.head);
    let conditional = [
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_MATCH,
        IF_UNMODIFIED_SINCE,
        IF_RANGE,
        RANGE,
    ]
    .iter()
    .any(|h| meta.headers.contains_key(h));
    if !config.collapse || conditional {
        return Ok(fetch(&mut ctx, req, &meta, key, existing, status).await?.0);
    }
    let flight_key = meta.flight();
    match ctx.flights.join(&flight_key, config.now()) {
        Join::Alone => Ok(fetch(&mut ctx, req, &meta, key, existing, status).await?.0),
        Join::Leader(flight) => {
            let (response, stored) = fetch(&mut ctx, req, &meta, key, existing, status).await?;
            if !stored {
                // Hit-for-pass: while this URI answers uncacheably, its misses are not queued
                // behind one another.
                ctx.flights.pass(&flight_key, config.now() + PASS_FOR);
            }
            drop(flight);
            Ok(response)
        }
        Join::Waiter(rx) => {
            landed(rx).await;
            if let (
                Some(Found {
                    stored: Some(stored),
                    ..
                }),
                _,
            ) = lookup(&ctx.cache, &meta, &meta.headers, None).await
            {
                let now = config.now();
                let age = stored.age(now);
                if matches!(reuse(&stored.freshness, age, &meta.dirs), Reuse::Fresh) {
                    let mut status = CacheStatus::hit(ttl_of(&stored, now));
                    status.collapsed = true;
                    return Ok(serve(
                        &config,
                        &stored,
                        age,
                        meta.head,
                        &meta.headers,
                        status,
                    ));
                }
            }
            // The leader's response was not stored (or not for us): ask the origin ourselves.
            Ok(fetch(&mut ctx, req, &meta, key, existing, status).await?.0)
        }
    }
}

/// Sends `req` to the origin and stores the response if the rules allow; says whether it did.
async fn fetch<S, ReqBody, ResBody>(
    ctx: &mut Ctx<S>,
    req: Request<ReqBody>,
    meta: &Meta,
    key: ResponseKey,
    existing: Option<Arc<Variants>>,
    status: CacheStatus,
) -> Result<(Response<ResponseBody<ResBody>>, bool), S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body + Unpin,
{
    let config = ctx.config.clone();
    let request_time = config.now();
    let response = ctx.inner.call(req).await?;
    Ok(store_response(
        &ctx.cache,
        &config,
        response,
        meta,
        key,
        existing,
        request_time,
        status,
    )
    .await)
}

/// The origin's response for the client, stored on the way when the rules allow and the body
/// fits; and whether it was stored.
#[allow(clippy::too_many_arguments)]
async fn store_response<B>(
    cache: &Cache,
    config: &Config,
    response: Response<B>,
    meta: &Meta,
    key: ResponseKey,
    existing: Option<Arc<Variants>>,
    request_time: u64,
    mut status: CacheStatus,
) -> (Response<ResponseBody<B>>, bool)
where
    B: Body + Unpin,
{
    let response_time = config.now();
    let (mut parts, body) = response.into_parts();
    status.fwd_status = Some(parts.status.as_u16());
    let tags = super::tags::take(&mut parts.headers, config.expose_tags);
    let candidate = storable(config, meta, &parts, response_time, None);
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = match candidate {
        Some(_) if declared.is_some_and(|n| n > config.max_body as u64) => {
            status.detail = Some("too-large");
            ResponseBody::stream(body)
        }
        Some((freshness, secondary)) => match buffer(body, config.max_body).await {
            Buffered::Complete(bytes) => {
                let headers = headers_to_store(&parts.headers, &bytes, meta.head, response_time);
                let stored = Stored {
                    status: parts.status,
                    headers,
                    body: bytes.clone(),
                    response_time,
                    initial_age: initial_age(&parts.headers, request_time, response_time),
                    freshness,
                    secondary,
                    tags,
                };
                let variants = existing
                    .as_deref()
                    .map_or_else(Variants::default, |v| live(v, config, response_time))
                    .with(Arc::new(stored), config.max_variants);
                save(cache, config, key, variants).await;
                status.stored = true;
                ResponseBody::full(bytes)
            }
            Buffered::Partial(body) => {
                status.detail = Some("too-large");
                body
            }
        },
        None => ResponseBody::stream(body),
    };
    status.write(&config.name, &mut parts.headers);
    (Response::from_parts(parts, body), status.stored)
}

/// The fields a response is stored with: without those never stored (section 3.1), with a
/// `Date`, the length of a whole body, and the placeholders every answer rewrites.
fn headers_to_store(
    response: &HeaderMap,
    body: &[u8],
    head: bool,
    response_time: u64,
) -> HeaderMap {
    let mut headers = stored_headers(response);
    if !headers.contains_key(DATE) {
        headers.insert(DATE, http_date(response_time));
    }
    if !head && !headers.contains_key(CONTENT_LENGTH) {
        // The stored body is whole; saying so spares every answer a header insert (and a copy
        // of the map growing) downstream.
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    reserve_answer_fields(&mut headers);
    headers
}

/// The freshness and secondary key of a response the rules allow to store, else `None`.
/// `default_lifetime` is the freshness given to a response that states none (write-through's).
fn storable(
    config: &Config,
    meta: &Meta,
    parts: &http::response::Parts,
    response_time: u64,
    default_lifetime: Option<u64>,
) -> Option<(Freshness, vary::Secondary)> {
    let (dirs, targeted) = match Directives::targeted(&parts.headers, &config.targeted) {
        Some(dirs) => (dirs, true),
        None => (Directives::from_headers(&parts.headers), false),
    };
    let mut freshness = Freshness::of(
        parts.status,
        &parts.headers,
        &dirs,
        targeted,
        config.freshness_rules(),
        response_time,
    );
    if let Some(lifetime) = default_lifetime
        && freshness.lifetime == 0
        && !dirs.no_cache
        && dirs.max_age.is_none()
        && dirs.s_maxage.is_none()
    {
        freshness.lifetime = lifetime;
    }
    let method = if meta.head { Method::HEAD } else { Method::GET };
    let verdict = check(
        &Exchange {
            method: &method,
            request: &meta.headers,
            request_dirs: &meta.dirs,
            status: parts.status,
            response: &parts.headers,
            dirs: &dirs,
            targeted,
            freshness: &freshness,
            has_validator: parts.headers.contains_key(ETAG)
                || parts.headers.contains_key(LAST_MODIFIED),
        },
        config.store_rules(),
    );
    if let Err(reason) = verdict {
        tracing::trace!(uri = %meta.uri, reason, "response not stored");
        return None;
    }
    let mut names = vary::names(&parts.headers)?;
    if !config.shared {
        // In private mode every response is reused only for the same credentials, whether
        // the origin marked it `private` or forgot to.
        for name in [http::header::AUTHORIZATION, COOKIE] {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Some((freshness, vary::secondary(&meta.headers, &names)))
}

/// The variants still worth keeping at `now`.
fn live(variants: &Variants, config: &Config, now: u64) -> Variants {
    Variants(
        variants
            .0
            .iter()
            .filter(|v| {
                let keep = if v.has_validator() {
                    config.keep_stale
                } else {
                    0
                };
                v.freshness.useful_for(keep) > v.age(now)
            })
            .cloned()
            .collect(),
    )
}

/// Writes a URI's variants, to live as long as the longest-lived is useful.
async fn save(cache: &Cache, config: &Config, key: ResponseKey, variants: Variants) {
    let ttl = variants
        .keep_for(config.now(), config.keep_stale)
        .min(config.max_ttl);
    cache
        .insert_expiring(key, Arc::new(variants), Duration::from_secs(ttl))
        .await;
}

/// The variants with those at `updated` freshened by a `304` carrying `headers` (RFC 9111
/// section 4.3.4): their header fields merged, their age and freshness worked out anew.
fn freshen(
    config: &Config,
    variants: &Variants,
    updated: &[usize],
    headers: &HeaderMap,
    request_time: u64,
    now: u64,
) -> Variants {
    let update = stored_headers(headers);
    let mut out = variants.clone();
    for &i in updated {
        let old = &variants.0[i];
        let merged = conditional::merge_headers(&old.headers, &update);
        let (dirs, targeted) = match Directives::targeted(&merged, &config.targeted) {
            Some(dirs) => (dirs, true),
            None => (Directives::from_headers(&merged), false),
        };
        let freshness = Freshness::of(
            old.status,
            &merged,
            &dirs,
            targeted,
            config.freshness_rules(),
            now,
        );
        out.0[i] = Arc::new(Stored {
            status: old.status,
            headers: merged,
            body: old.body.clone(),
            response_time: now,
            initial_age: initial_age(headers, request_time, now),
            freshness,
            secondary: old.secondary.clone(),
            tags: old.tags.clone(),
        });
    }
    out
}

/// Seconds of freshness left (negative when stale).
fn ttl_of(stored: &Stored, now: u64) -> i64 {
    i64::try_from(stored.freshness.lifetime).unwrap_or(i64::MAX)
        - i64::try_from(stored.age(now)).unwrap_or(i64::MAX)
}

/// The answer built from a stored response: a `304` when the client's conditionals say its copy
/// is current, else the stored response (without a body for `HEAD`), with `Age` and
/// `Cache-Status`.
fn serve<B: Body>(
    config: &Config,
    stored: &Stored,
    age: u64,
    head: bool,
    request: &HeaderMap,
    status: CacheStatus,
) -> Response<ResponseBody<B>> {
    let (code, mut headers, body) =
        if stored.status.is_success() && conditional::client_has_current(request, stored) {
            (
                StatusCode::NOT_MODIFIED,
                conditional::not_modified_headers(stored),
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
fn gateway_timeout<B: Body>(config: &Config, status: &CacheStatus) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    status.write(&config.name, response.headers_mut());
    response
}

/// The origin's response as it is, with `Cache-Status`.
fn pass<B: Body>(
    config: &Config,
    response: Response<B>,
    status: &CacheStatus,
) -> Response<ResponseBody<B>> {
    let (mut parts, body) = response.into_parts();
    super::tags::take(&mut parts.headers, config.expose_tags);
    status.write(&config.name, &mut parts.headers);
    Response::from_parts(parts, ResponseBody::stream(body))
}

/// Forwards without looking at storage.
async fn forward<S, ReqBody, ResBody>(
    ctx: &mut Ctx<S>,
    req: Request<ReqBody>,
    mut status: CacheStatus,
) -> Out<ResBody, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    let response = ctx.inner.call(req).await?;
    status.fwd_status = Some(response.status().as_u16());
    Ok(pass(&ctx.config, response, &status))
}

/// Methods the cache does not serve. A non-error response to an unsafe one invalidates the
/// stored responses of the target URI and of a same-origin `Location` or `Content-Location`
/// (RFC 9111 section 4.4).
async fn other_method<S, ReqBody, ResBody>(
    mut ctx: Ctx<S>,
    req: Request<ReqBody>,
) -> Out<ResBody, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    let safe = matches!(*req.method(), Method::OPTIONS | Method::TRACE);
    let (parts, body) = req.into_parts();
    let target = (!safe).then(|| super::key::head_copy(&parts));
    let req = Request::from_parts(parts, body);
    let response = ctx.inner.call(req).await?;
    if let Some(target) = target {
        let code = response.status();
        if code.is_success() || code.is_redirection() {
            let config = &ctx.config;
            let mut uris: Vec<String> = config.key_of(&target).into_iter().collect();
            for name in [LOCATION, CONTENT_LOCATION] {
                let Some(value) = response.headers().get(name) else {
                    continue;
                };
                let other =
                    super::key::same_origin(&target, value.as_bytes(), &config.default_scheme);
                uris.extend(other.and_then(|p| config.key_of(&p)));
            }
            // A representation the write-through layer just stored is the new state, not a
            // stale one.
            let written = response.extensions().get::<WrittenThrough>();
            for uri in uris {
                if written.is_some_and(|w| w.0 == uri) {
                    continue;
                }
                invalidate_uri(&ctx.cache, &uri).await;
            }
        }
    }
    let mut status = CacheStatus::forwarded(Fwd::Method);
    status.fwd_status = Some(response.status().as_u16());
    Ok(pass(&ctx.config, response, &status))
}

/// An HTTP date for `secs` since the epoch.
fn http_date(secs: u64) -> HeaderValue {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    HeaderValue::from_str(&httpdate::fmt_http_date(time)).unwrap_or(HeaderValue::from_static(""))
}

/// Removes the stored `GET` and `HEAD` responses under the primary key `uri`, in every tier.
pub(crate) async fn invalidate_uri(cache: &Cache, uri: &str) {
    for head in [false, true] {
        let key = ResponseKey {
            head,
            uri: uri.to_owned(),
        };
        cache.invalidate(&key).await;
    }
}

/// The prefix of every stored `GET` response whose primary key starts with `uri_prefix`.
#[cfg(feature = "invalidate")]
pub(crate) fn uri_prefix(uri_prefix: &str) -> cache_core::KeyPrefix {
    cache_core::KeyPrefix::of::<ResponseKey>()
        .segment("GET")
        .partial(uri_prefix)
}

/// Marks a response whose representation was stored as the `GET` entry of this primary key by
/// the write-through layer, so that the unsafe-method invalidation spares it.
#[derive(Debug, Clone)]
pub(crate) struct WrittenThrough(pub(crate) String);

/// Stores `body` with the response `headers` as the fresh `GET` response of `uri` (RFC 9111
/// section 4.4 allows a cache to store what an unsafe request's response says the new state
/// is), under the rules and settings `config` of the response cache that will serve it: what a
/// `GET` of `uri` with the mutating `request`'s headers would have been allowed to store, fresh
/// for what its headers say, else for `fallback` seconds. Says whether it was stored.
#[cfg(feature = "write-through")]
pub(crate) async fn write_representation(
    cache: &Cache,
    config: &Config,
    request: &http::request::Parts,
    uri: String,
    response: &HeaderMap,
    body: bytes::Bytes,
    fallback: u64,
) -> bool {
    if vary::names(response).is_none_or(|names| !names.is_empty()) {
        // Which request headers a later GET would vary on is unknown here; store nothing
        // rather than a variant for the wrong ones.
        return false;
    }
    let now = config.now();
    let meta = Meta {
        head: false,
        headers: request.headers.clone(),
        dirs: if config.ignore_request_directives {
            Directives::default()
        } else {
            Directives::from_headers(&request.headers)
        },
        uri,
    };
    let (mut parts, ()) = Response::new(()).into_parts();
    parts.headers = response.clone();
    let Some((freshness, secondary)) = storable(config, &meta, &parts, now, Some(fallback)) else {
        return false;
    };
    let mut headers = headers_to_store(&parts.headers, &body, false, now);
    let tags = super::tags::take(&mut headers, false);
    headers.remove(CONTENT_LOCATION);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let stored = Stored {
        status: StatusCode::OK,
        headers,
        body,
        response_time: now,
        initial_age: 0,
        freshness,
        secondary,
        tags,
    };
    let key = meta.key(false);
    save(cache, config, key, Variants(vec![Arc::new(stored)])).await;
    true
}
