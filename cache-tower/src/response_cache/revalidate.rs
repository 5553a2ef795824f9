//! Revalidation: asking the origin whether a stored response is still current, with the stored
//! validators, and answering from what it says (RFC 9111 section 4.3): a `304` freshens the
//! stored responses it matches, another answer replaces them; an origin that cannot be reached
//! serves the stored one when its directives allow serving it stale (else the cache answers
//! `504`), and so does a `5xx` inside `stale-if-error`.

use std::sync::Arc;

use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH, SET_COOKIE};
use http::{HeaderMap, Method, Request, StatusCode};

use super::config::Config;
use super::entry::{Stored, Variants};
use super::exchange::{Asked, Chosen, Exchange, Origin, Out, Target};
use super::key::MakeCacheKey;
use super::lookup::{gateway_timeout, pass, serve, ttl_of};
use super::rules::conditional;
use super::rules::freshness::{Freshness, initial_age};
use super::rules::status::{CacheStatus, Fwd};
use super::rules::storable::{SetCookie, stored_headers};
use crate::body::ResponseBody;

impl<S, K: MakeCacheKey> Exchange<S, K> {
    /// Serves stale inside `stale-while-revalidate` was decided: revalidates `chosen` in the
    /// background, once however many requests see it stale meanwhile. Needs a Tokio runtime;
    /// without one nothing is revalidated (the entry is validated when it leaves the window).
    pub(crate) fn revalidate_behind<ReqBody>(
        self,
        req: Request<ReqBody>,
        asked: Asked,
        chosen: Chosen,
    ) where
        S: Origin<ReqBody>,
        ReqBody: Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current();
        if let (Ok(runtime), Some(flight)) =
            (runtime, self.storage.flights.try_lead(&asked.flight()))
        {
            runtime.spawn(async move {
                let _flight = flight;
                let status = CacheStatus::forwarded(Fwd::Stale);
                // The client already has its answer; the result only refreshes storage.
                let _ = self.validate(req, asked, chosen, status).await;
            });
        }
    }

    /// Asks the origin whether `chosen` is still current, with conditionals built from every
    /// stored variant's validators, and answers from what it says.
    pub(crate) async fn validate<ReqBody>(
        mut self,
        mut req: Request<ReqBody>,
        mut asked: Asked,
        chosen: Chosen,
        mut status: CacheStatus,
    ) -> Out<S::Body, S::Error>
    where
        S: Origin<ReqBody>,
        ReqBody: Send + 'static,
    {
        let config = self.storage.config.clone();
        let Chosen {
            key,
            variants,
            stored,
        } = chosen;
        // A HEAD that validates a stored GET asks the origin with GET: a 200 then brings the
        // body that replaces the stored one, and a HEAD's empty answer never does (the client
        // still gets no body).
        let client_head = asked.head;
        if asked.head && !key.head {
            *req.method_mut() = Method::GET;
            asked.head = false;
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
        let result = self.inner.call(req).await;
        let now = config.now();
        let age = stored.age(now);
        let detail = match result {
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
                    asked.rules.set_cookie,
                    request_time,
                    now,
                );
                let chosen = fresh
                    .select(&asked.headers)
                    .cloned()
                    .unwrap_or_else(|| fresh.0[updated[0]].clone());
                self.storage.save(key, fresh).await;
                status.stored = true;
                status.ttl = Some(ttl_of(&chosen, now));
                let mut answer = serve(
                    &config,
                    &chosen,
                    chosen.age(now),
                    client_head,
                    &asked.headers,
                    status,
                );
                if asked.rules.set_cookie != SetCookie::Replay {
                    // Cookies the origin set with its 304 are this client's, and only its.
                    for cookie in response.headers().get_all(SET_COOKIE) {
                        answer.headers_mut().append(SET_COOKIE, cookie.clone());
                    }
                }
                return Ok(answer);
            }
            Ok(response) => {
                if !matches!(response.status().as_u16(), 500 | 502 | 503 | 504)
                    || !stored.freshness.stale_on_error(age)
                {
                    let target = Target {
                        key,
                        existing: Some(variants),
                    };
                    let (response, _) = self
                        .storage
                        .store_response(response, &asked, target, request_time, status)
                        .await;
                    if client_head && !asked.head {
                        return Ok(response.map(|_| ResponseBody::empty()));
                    }
                    return Ok(response);
                }
                status.fwd_status = Some(response.status().as_u16());
                "stale-if-error"
            }
            Err(_) => {
                // The origin could not be reached (refused, reset, closed before answering):
                // a disconnected cache may serve a stale response unless its directives forbid
                // that (RFC 9111 section 4.2.4), and then answers 504 itself.
                tracing::debug!(uri = %asked.uri, "the origin failed to answer a validation");
                if stored.freshness.stale_on_error(age) {
                    "stale-if-error"
                } else if stored.freshness.may_serve_stale() {
                    "origin-unreachable"
                } else {
                    status.detail = Some("origin-unreachable");
                    return Ok(gateway_timeout(&config, &status));
                }
            }
        };
        status.hit = true;
        status.ttl = Some(ttl_of(&stored, now));
        status.detail = Some(detail);
        Ok(serve(
            &config,
            &stored,
            age,
            client_head,
            &asked.headers,
            status,
        ))
    }
}

/// The variants with those at `updated` freshened by a `304` carrying `headers` (RFC 9111
/// section 4.3.4): their header fields merged (`Set-Cookie` only when `set_cookie` replays
/// cookies), their age and freshness worked out anew.
fn freshen(
    config: &Config,
    variants: &Variants,
    updated: &[usize],
    headers: &HeaderMap,
    set_cookie: SetCookie,
    request_time: u64,
    now: u64,
) -> Variants {
    let update = stored_headers(headers, set_cookie);
    let mut out = variants.clone();
    for &i in updated {
        let old = &variants.0[i];
        let merged = conditional::merge_headers(&old.headers, &update);
        let (dirs, targeted) = config.response_directives(&merged);
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
