//! Storing what the origin said: when the rules allow it and the body fits, a response joins
//! its URI's variants and is written to the cache for as long as it stays useful.

use std::sync::Arc;
use std::time::Duration;

use cache_core::Cache;
use http::header::{CONTENT_LENGTH, COOKIE, DATE, ETAG, HeaderValue, LAST_MODIFIED};
use http::{HeaderMap, Method, Response};
use http_body::Body;

use super::config::Config;
use super::entry::{ResponseKey, Stored, Variants, reserve_answer_fields};
use super::exchange::{Asked, Storage, Target};
use super::rules::freshness::{Freshness, initial_age};
use super::rules::status::CacheStatus;
use super::rules::storable::{Exchange as Rules, check, stored_headers};
use super::rules::{tags, vary};
use crate::body::{Buffered, ResponseBody, buffer};

impl<K> Storage<K> {
    /// The origin's response for the client, stored under `target` on the way when the rules
    /// allow and the body fits; and whether it was stored.
    pub(crate) async fn store_response<B>(
        &self,
        response: Response<B>,
        asked: &Asked,
        target: Target,
        request_time: u64,
        mut status: CacheStatus,
    ) -> (Response<ResponseBody<B>>, bool)
    where
        B: Body + Unpin,
    {
        let config = &self.config;
        let response_time = config.now();
        let (mut parts, body) = response.into_parts();
        status.fwd_status = Some(parts.status.as_u16());
        let tags = tags::take(&mut parts.headers, config.expose_tags);
        let candidate = storable(config, asked, &parts, response_time, None);
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
                    let stored = Stored {
                        status: parts.status,
                        headers: headers_to_store(&parts.headers, &bytes, asked, response_time),
                        body: bytes.clone(),
                        response_time,
                        initial_age: initial_age(&parts.headers, request_time, response_time),
                        freshness,
                        secondary,
                        tags,
                    };
                    let variants = target
                        .existing
                        .as_deref()
                        .map_or_else(Variants::default, |v| live(v, config, response_time))
                        .with(Arc::new(stored), config.max_variants);
                    self.save(target.key, variants).await;
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

    /// Writes a URI's variants, to live as long as the longest-lived is useful.
    pub(crate) async fn save(&self, key: ResponseKey, variants: Variants) {
        save(&self.cache, &self.config, key, variants).await;
    }
}

/// Writes a URI's variants, to live as long as the longest-lived is useful, at most the
/// configured maximum TTL. The entry is tagged with its variants' tags
/// ([`CacheKey::value_tags`](cache_core::CacheKey::value_tags)).
async fn save(cache: &Cache, config: &Config, key: ResponseKey, variants: Variants) {
    let ttl = variants
        .keep_for(config.now(), config.keep_stale)
        .min(config.max_ttl);
    cache
        .insert_expiring(key, Arc::new(variants), Duration::from_secs(ttl))
        .await;
}

/// The fields a response is stored with: without those never stored (section 3.1), with a
/// `Date`, the length of a whole body, and the placeholders every answer rewrites.
fn headers_to_store(
    response: &HeaderMap,
    body: &[u8],
    asked: &Asked,
    response_time: u64,
) -> HeaderMap {
    let head = asked.head;
    let mut headers = stored_headers(response, asked.rules.set_cookie);
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
    asked: &Asked,
    parts: &http::response::Parts,
    response_time: u64,
    default_lifetime: Option<u64>,
) -> Option<(Freshness, vary::Secondary)> {
    let (dirs, targeted) = config.response_directives(&parts.headers);
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
    let method = if asked.head {
        Method::HEAD
    } else {
        Method::GET
    };
    let verdict = check(
        &Rules {
            method: &method,
            request: &asked.headers,
            request_dirs: &asked.dirs,
            status: parts.status,
            response: &parts.headers,
            dirs: &dirs,
            targeted,
            freshness: &freshness,
            has_validator: parts.headers.contains_key(ETAG)
                || parts.headers.contains_key(LAST_MODIFIED),
        },
        asked.rules,
    );
    if let Err(reason) = verdict {
        tracing::trace!(uri = %asked.uri, reason, "response not stored");
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
    Some((freshness, vary::secondary(&asked.headers, &names)))
}

/// The variants still worth keeping at `now`.
fn live(variants: &Variants, config: &Config, now: u64) -> Variants {
    Variants(
        variants
            .0
            .iter()
            .filter(|v| v.useful_for(config.keep_stale) > v.age(now))
            .cloned()
            .collect(),
    )
}

/// An HTTP date for `secs` since the epoch.
fn http_date(secs: u64) -> HeaderValue {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    HeaderValue::from_str(&httpdate::fmt_http_date(time)).unwrap_or(HeaderValue::from_static(""))
}

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
    let asked = Asked {
        head: false,
        headers: request.headers.clone(),
        dirs: super::exchange::request_directives(config, &request.headers),
        uri,
        rules: config.store_rules(None),
    };
    let (mut parts, ()) = Response::new(()).into_parts();
    parts.headers = response.clone();
    let Some((freshness, secondary)) = storable(config, &asked, &parts, now, Some(fallback)) else {
        return false;
    };
    let mut headers = headers_to_store(&parts.headers, &body, &asked, now);
    let tags = tags::take(&mut headers, false);
    headers.remove(http::header::CONTENT_LOCATION);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let stored = Stored {
        status: http::StatusCode::OK,
        headers,
        body,
        response_time: now,
        initial_age: 0,
        freshness,
        secondary,
        tags,
    };
    let key = asked.key(false);
    save(cache, config, key, Variants(vec![Arc::new(stored)])).await;
    true
}
