//! Whether a response may be stored (RFC 9111 section 3), and the header fields it is stored
//! with (section 3.1).

use http::header::{AUTHORIZATION, CONNECTION, CONTENT_RANGE, HeaderName, SET_COOKIE};
use http::{HeaderMap, Method, StatusCode};

use super::directives::Directives;
use super::freshness::{Freshness, heuristically_cacheable};

/// The storing rules a layer was configured with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreRules {
    /// A shared cache (the default) never stores `private` responses.
    pub(crate) shared: bool,
    /// What becomes of a response that sets cookies.
    pub(crate) set_cookie: SetCookie,
    /// Request directives are ignored.
    pub(crate) ignore_request: bool,
}

/// What becomes of a response with `Set-Cookie`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetCookie {
    /// Not stored (the default).
    Refuse,
    /// Stored without its `Set-Cookie` fields: only the client that asked gets the cookies.
    Strip,
    /// Stored with them, and replayed to every client the stored response answers.
    Replay,
}

/// What the storing rules look at.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    pub(crate) method: &'a Method,
    pub(crate) request: &'a HeaderMap,
    pub(crate) request_dirs: &'a Directives,
    pub(crate) status: StatusCode,
    pub(crate) response: &'a HeaderMap,
    /// The effective response directives (from a targeted field when one was valid).
    pub(crate) dirs: &'a Directives,
    /// Whether `dirs` came from a targeted field (then `Expires` does not count).
    pub(crate) targeted: bool,
    pub(crate) freshness: &'a Freshness,
    pub(crate) has_validator: bool,
}

/// `Ok` when the response may be stored; otherwise why not, for logs and `Cache-Status`.
pub(crate) fn check(x: &Exchange<'_>, rules: StoreRules) -> Result<(), &'static str> {
    if *x.method != Method::GET && *x.method != Method::HEAD {
        return Err("method");
    }
    if !rules.ignore_request && x.request_dirs.no_store {
        return Err("request no-store");
    }
    if !shareable(x.status) {
        return Err("status");
    }
    if x.dirs.must_understand && !understood(x.status) {
        return Err("status not understood");
    }
    // must-understand overrides no-store for a status the cache understands (section 5.2.2.3).
    if x.dirs.no_store && !x.dirs.must_understand {
        return Err("no-store");
    }
    if x.dirs.private && rules.shared {
        return Err("private");
    }
    if rules.shared
        && x.request.contains_key(AUTHORIZATION)
        && !(x.dirs.public || x.dirs.s_maxage.is_some() || x.dirs.must_revalidate)
    {
        return Err("authorization");
    }
    if x.response.contains_key(SET_COOKIE) && rules.set_cookie == SetCookie::Refuse {
        return Err("set-cookie");
    }
    if x.response.contains_key(CONTENT_RANGE) {
        return Err("partial");
    }
    if super::vary::names(x.response).is_none() {
        return Err("vary");
    }
    let explicit = x.dirs.max_age.is_some()
        || x.dirs.s_maxage.is_some() && rules.shared
        || !x.targeted && x.response.contains_key(http::header::EXPIRES)
        || x.dirs.public
        || x.dirs.private && !rules.shared
        || heuristically_cacheable(x.status);
    if !explicit {
        return Err("no freshness");
    }
    let f = x.freshness;
    let reusable = f.lifetime > 0
        || x.has_validator
        || f.stale_if_error > 0 && !f.no_stale && !f.no_cache
        || f.stale_while_revalidate > 0 && !f.no_stale && !f.no_cache;
    if !reusable {
        return Err("never reusable");
    }
    Ok(())
}

/// Final statuses whose responses may be shared: any `2xx` or `3xx` but `206` (a part, for one
/// client's `Range`) and `304` (never stored as such); of the registered error statuses only
/// those defined as heuristically cacheable (`404`, `405`, `410`, `414`, `501`); and statuses
/// no specification defines (`299`, `499`, `599`), which the freshness rules then decide:
/// stored only with explicit freshness, like any status. The other registered errors (`400`,
/// `401`, `403`, `412` and `416` answering one client's precondition or range, `429`, `500`,
/// `503`...) describe one client's request or a passing state of the server, and are not
/// stored even when the origin sends a blanket `max-age`.
fn shareable(status: StatusCode) -> bool {
    match status.as_u16() {
        206 | 304 => false,
        200..=399 => true,
        code if registered_error(code) => heuristically_cacheable(status),
        _ => true,
    }
}

/// The `4xx` and `5xx` statuses of the IANA HTTP status code registry.
fn registered_error(code: u16) -> bool {
    matches!(
        code,
        400..=418 | 421..=426 | 428 | 429 | 431 | 451 | 500..=508 | 510 | 511
    )
}

/// Final statuses whose semantics the cache knows (RFC 9110 section 15), except `206` and `304`,
/// which are never stored as such; `must-understand` responses need one of these.
fn understood(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200..=205 | 300..=303 | 305 | 307 | 308 | 400..=417 | 421 | 422 | 426 | 500..=505
    )
}

/// Fields that describe one connection (RFC 9110 section 7.6.1), never stored or replayed.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `headers` as they are stored: without hop-by-hop fields, the fields named in `Connection`,
/// `Age` (recomputed on every reuse), `Cache-Status` (a fresh one is written on every answer)
/// and, unless `set_cookie` is [`SetCookie::Replay`], `Set-Cookie` (one client's cookies are
/// never replayed to another).
///
/// Every name and value is copied into an allocation of its own: a server or client parses
/// them as slices of its connection's read buffer, and a stored copy of such a slice would keep
/// that whole buffer alive for as long as the response is stored, unweighed.
pub(crate) fn stored_headers(headers: &HeaderMap, set_cookie: SetCookie) -> HeaderMap {
    let keep_cookies = set_cookie == SetCookie::Replay;
    let named = connection_named(headers);
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let drop = HOP_BY_HOP.contains(&name.as_str())
            || named.contains(name)
            || name == http::header::AGE
            || name == SET_COOKIE && !keep_cookies
            || name.as_str() == "cache-status";
        if !drop {
            out.append(owned_name(name), owned_value(value));
        }
    }
    out
}

/// The fields a `Connection` header of `headers` names (hop-by-hop by that naming).
fn connection_named(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .filter_map(|n| HeaderName::from_bytes(n.trim_ascii()).ok())
        .collect()
}

/// Removes from `headers` the fields that describe one connection and not the message
/// (RFC 9110 section 7.6.1): `Connection`, `Keep-Alive`, `Transfer-Encoding`, `Upgrade` and
/// the others, and every field a `Connection` header names. What a proxy does to each message
/// it forwards, in both directions; the response cache stores responses without them.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    for name in connection_named(headers) {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// `name` in an allocation of its own (a standard name is a constant, and copies nothing).
fn owned_name(name: &HeaderName) -> HeaderName {
    HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone())
}

/// `value` in an allocation of its own.
fn owned_value(value: &http::HeaderValue) -> http::HeaderValue {
    let mut owned =
        http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
    owned.set_sensitive(value.is_sensitive());
    owned
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    const SHARED: StoreRules = StoreRules {
        shared: true,
        set_cookie: SetCookie::Refuse,
        ignore_request: false,
    };

    fn verdict(
        method: Method,
        req: &HeaderMap,
        status: u16,
        resp: &HeaderMap,
        rules: StoreRules,
    ) -> Result<(), &'static str> {
        let dirs = Directives::from_headers(resp);
        let request_dirs = Directives::from_headers(req);
        let status = StatusCode::from_u16(status).unwrap();
        let freshness = Freshness::of(
            status,
            resp,
            &dirs,
            false,
            super::super::freshness::Rules {
                shared: rules.shared,
                heuristic: None,
            },
            0,
        );
        check(
            &Exchange {
                method: &method,
                request: req,
                request_dirs: &request_dirs,
                status,
                response: resp,
                dirs: &dirs,
                targeted: false,
                freshness: &freshness,
                has_validator: resp.contains_key(http::header::ETAG),
            },
            rules,
        )
    }

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(*n, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn the_basic_rules() {
        let none = HeaderMap::new();
        let ok = h(&[("cache-control", "max-age=60")]);
        assert_eq!(verdict(Method::GET, &none, 200, &ok, SHARED), Ok(()));
        assert_eq!(
            verdict(Method::POST, &none, 200, &ok, SHARED),
            Err("method")
        );
        assert_eq!(verdict(Method::GET, &none, 206, &ok, SHARED), Err("status"));
        // An unknown status with explicit freshness may be stored; without, it may not.
        assert_eq!(verdict(Method::GET, &none, 299, &ok, SHARED), Ok(()));
        assert_eq!(
            verdict(Method::GET, &none, 299, &h(&[("etag", "\"x\"")]), SHARED),
            Err("no freshness")
        );
        let mu = h(&[("cache-control", "max-age=60, must-understand")]);
        assert_eq!(
            verdict(Method::GET, &none, 299, &mu, SHARED),
            Err("status not understood")
        );
        let nostore = h(&[("cache-control", "no-store")]);
        assert_eq!(
            verdict(Method::GET, &ok_req("no-store"), 200, &ok, SHARED),
            Err("request no-store")
        );
        assert_eq!(
            verdict(Method::GET, &none, 200, &nostore, SHARED),
            Err("no-store")
        );
        let mu = h(&[("cache-control", "max-age=5, no-store, must-understand")]);
        assert_eq!(verdict(Method::GET, &none, 200, &mu, SHARED), Ok(()));
        let private = h(&[("cache-control", "private, max-age=60")]);
        assert_eq!(
            verdict(Method::GET, &none, 200, &private, SHARED),
            Err("private")
        );
        let private_mode = StoreRules {
            shared: false,
            ..SHARED
        };
        assert_eq!(
            verdict(Method::GET, &none, 200, &private, private_mode),
            Ok(())
        );
        let cookie = h(&[("cache-control", "max-age=60"), ("set-cookie", "a=b")]);
        assert_eq!(
            verdict(Method::GET, &none, 200, &cookie, SHARED),
            Err("set-cookie")
        );
        for set_cookie in [SetCookie::Strip, SetCookie::Replay] {
            let cookies_ok = StoreRules {
                set_cookie,
                ..SHARED
            };
            assert_eq!(
                verdict(Method::GET, &none, 200, &cookie, cookies_ok),
                Ok(())
            );
        }
        let star = h(&[("cache-control", "max-age=60"), ("vary", "*")]);
        assert_eq!(verdict(Method::GET, &none, 200, &star, SHARED), Err("vary"));
        // 302 has no heuristic freshness and no explicit one.
        assert_eq!(
            verdict(Method::GET, &none, 302, &none, SHARED),
            Err("no freshness")
        );
        assert_eq!(
            verdict(Method::GET, &none, 200, &none, SHARED),
            Err("never reusable")
        );
        let tagged = h(&[("etag", "\"x\"")]);
        assert_eq!(verdict(Method::GET, &none, 200, &tagged, SHARED), Ok(()));
    }

    #[test]
    fn only_errors_any_client_would_get_are_stored() {
        let none = HeaderMap::new();
        let blanket = h(&[("cache-control", "max-age=3600")]);
        for status in [400, 401, 403, 409, 412, 416, 429, 451, 500, 502, 503, 504] {
            assert_eq!(
                verdict(Method::GET, &none, status, &blanket, SHARED),
                Err("status"),
                "{status}"
            );
        }
        for status in [404, 405, 410, 414, 501, 301, 308] {
            assert_eq!(
                verdict(Method::GET, &none, status, &blanket, SHARED),
                Ok(()),
                "{status}"
            );
        }
        // Statuses no specification defines: stored with explicit freshness, never without.
        for status in [299, 499, 599] {
            assert_eq!(
                verdict(Method::GET, &none, status, &blanket, SHARED),
                Ok(()),
                "{status}"
            );
            let validated = h(&[
                ("etag", "\"x\""),
                ("last-modified", "Tue, 01 Dec 2026 00:00:00 GMT"),
            ]);
            assert_eq!(
                verdict(Method::GET, &none, status, &validated, SHARED),
                Err("no freshness"),
                "{status}"
            );
        }
    }

    fn ok_req(cc: &'static str) -> HeaderMap {
        h(&[("cache-control", cc)])
    }

    #[test]
    fn authorization_needs_an_explicit_permission() {
        let auth = h(&[("authorization", "Bearer x")]);
        let plain = h(&[("cache-control", "max-age=60")]);
        assert_eq!(
            verdict(Method::GET, &auth, 200, &plain, SHARED),
            Err("authorization")
        );
        for cc in [
            "public, max-age=60",
            "s-maxage=60",
            "max-age=60, must-revalidate",
        ] {
            let resp = h(&[("cache-control", cc)]);
            assert_eq!(
                verdict(Method::GET, &auth, 200, &resp, SHARED),
                Ok(()),
                "{cc}"
            );
        }
    }

    #[test]
    fn stored_headers_own_their_bytes() {
        // As a server parses them: slices of one large read buffer.
        let buffer = bytes::Bytes::from(format!("x-trace: abc{}", " ".repeat(64 * 1024)));
        let mut parsed = HeaderMap::new();
        parsed.insert(
            HeaderName::from_static("x-trace"),
            HeaderValue::from_maybe_shared(buffer.slice(9..12)).unwrap(),
        );
        let stored = stored_headers(&parsed, SetCookie::Refuse);
        drop(parsed);
        assert_eq!(stored["x-trace"], "abc");
        // The buffer is free again: nothing stored points into it.
        assert!(
            buffer.try_into_mut().is_ok(),
            "the stored value pins the buffer"
        );
    }

    #[test]
    fn stored_headers_drop_connection_fields() {
        let resp = h(&[
            ("connection", "x-conn, keep-alive"),
            ("x-conn", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("age", "10"),
            ("set-cookie", "a=b"),
            ("cache-status", "upstream; hit"),
            ("content-type", "text/plain"),
        ]);
        for set_cookie in [SetCookie::Refuse, SetCookie::Strip] {
            let kept = stored_headers(&resp, set_cookie);
            assert_eq!(kept.len(), 1);
            assert_eq!(kept["content-type"], "text/plain");
        }
        let replayed = stored_headers(&resp, SetCookie::Replay);
        assert_eq!(replayed.len(), 2);
        assert_eq!(replayed["set-cookie"], "a=b");
    }

    proptest! {
        #[test]
        fn no_store_and_private_are_never_stored_in_shared_mode(
            extra in "(max-age=[0-9]{1,4}|s-maxage=[0-9]{1,3}|public|must-revalidate|no-cache|stale-if-error=9)(, (max-age=[0-9]{1,4}|public|immutable|must-understand)){0,3}",
            which in 0usize..3,
            status in prop_oneof![Just(200u16), Just(404), Just(301), Just(500)],
            auth: bool,
        ) {
            let marker = ["no-store", "private", "no-store, private"][which];
            let cc = format!("{extra}, {marker}");
            let mut resp = HeaderMap::new();
            resp.insert("cache-control", HeaderValue::from_str(&cc).unwrap());
            let mut req = HeaderMap::new();
            if auth {
                req.insert("authorization", HeaderValue::from_static("Basic eA=="));
            }
            let v = verdict(Method::GET, &req, status, &resp, SHARED);
            // must-understand lifts no-store only; private always blocks a shared cache.
            if marker.contains("private") || !cc.contains("must-understand") {
                prop_assert!(v.is_err(), "{} stored", cc);
            }
        }
    }
}
