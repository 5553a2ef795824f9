//! [`Purge`]: where purge requests arrive, who may send them ([`Authorize`]), and what one
//! names.

use std::fmt;

use http::request::Parts;
use http::{HeaderName, Method};

/// Decides whether a purge request may proceed, from its head.
///
/// Any `Fn(&Parts) -> bool` is one; [`Bearer`] checks a shared secret in constant time.
pub trait Authorize: Clone + Send + Sync + 'static {
    /// Whether the purge request `parts` is allowed.
    fn authorize(&self, parts: &Parts) -> bool;
}

impl<F> Authorize for F
where
    F: Fn(&Parts) -> bool + Clone + Send + Sync + 'static,
{
    fn authorize(&self, parts: &Parts) -> bool {
        self(parts)
    }
}

/// Allows a purge whose `Authorization` is `Bearer <secret>`, compared in constant time, so
/// that the time an answer takes tells nothing about how much of a guess was right (only
/// whether its length was).
#[derive(Clone)]
pub struct Bearer {
    secret: Vec<u8>,
}

impl Authorize for Bearer {
    fn authorize(&self, parts: &Parts) -> bool {
        use subtle::ConstantTimeEq;
        let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
            return false;
        };
        let Some(token) = value
            .as_bytes()
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
            .map(|_| &value.as_bytes()[7..])
        else {
            return false;
        };
        !self.secret.is_empty()
            && token.len() == self.secret.len()
            && bool::from(token.ct_eq(&self.secret))
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer").finish_non_exhaustive()
    }
}

/// No purge endpoint: the authorization of an [`InvalidationLayer`](super::InvalidationLayer)
/// without [`purge`](super::InvalidationLayer::purge). It allows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPurge;

impl Authorize for NoPurge {
    fn authorize(&self, _: &Parts) -> bool {
        false
    }
}

/// Where purge requests arrive and who may send them.
///
/// There is no constructor without an authorization check: a purge endpoint open to anyone
/// would let any client empty the cache.
///
/// With axum, layers added by `Router::layer` see only requests some route (or the router's
/// own fallback) handles; a `PURGE /` that no route matches reaches the layer when the layered
/// router is nested as another router's `fallback_service`, or when the layer wraps the whole
/// router as a service.
#[derive(Clone)]
pub struct Purge<A> {
    trigger: Trigger,
    pub(crate) authorize: A,
}

#[derive(Debug, Clone)]
enum Trigger {
    /// `PURGE <url>`: the URL, or the tags / prefix named in its headers.
    Method,
    /// `POST <path>?url=...&tag=...&prefix=...`.
    Path(String),
}

/// What one purge request asks to remove.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Targets {
    /// Paths (with query) on the request's host.
    pub(crate) paths: Vec<String>,
    pub(crate) tags: Vec<String>,
    /// Path prefixes on the request's host.
    pub(crate) prefixes: Vec<String>,
}

const PURGE_PREFIX: HeaderName = HeaderName::from_static("purge-prefix");

impl<A: Authorize> Purge<A> {
    /// Purges with the `PURGE` method: `PURGE /offers` removes that URL's stored responses;
    /// with `Surrogate-Key` or `Cache-Tag` headers it removes those tags instead, and with a
    /// `Purge-Prefix: /offers/` header every URL under that path. `authorize` decides from the
    /// request head; a refused purge is answered `403` and changes nothing.
    pub fn method(authorize: A) -> Self {
        Self {
            trigger: Trigger::Method,
            authorize,
        }
    }

    /// Purges with `POST <path>?url=/offers&tag=merchant:42&prefix=/offers/` (each parameter
    /// may repeat), for clients that cannot send custom methods.
    pub fn path(path: impl Into<String>, authorize: A) -> Self {
        Self {
            trigger: Trigger::Path(path.into()),
            authorize,
        }
    }

    /// Whether `parts` is a purge request.
    pub(crate) fn is_purge(&self, parts: &Parts) -> bool {
        match &self.trigger {
            Trigger::Method => parts.method.as_str() == "PURGE",
            Trigger::Path(path) => parts.method == Method::POST && parts.uri.path() == path,
        }
    }

    /// What the purge request `parts` names.
    pub(crate) fn targets(&self, parts: &Parts) -> Targets {
        let mut targets = Targets::default();
        match &self.trigger {
            Trigger::Method => {
                for (name, split) in [
                    (HeaderName::from_static("surrogate-key"), ' '),
                    (HeaderName::from_static("cache-tag"), ','),
                ] {
                    for value in parts.headers.get_all(name) {
                        let Ok(text) = value.to_str() else { continue };
                        targets.tags.extend(
                            text.split(split)
                                .map(str::trim)
                                .filter(|t| !t.is_empty())
                                .map(str::to_owned),
                        );
                    }
                }
                for value in parts.headers.get_all(PURGE_PREFIX) {
                    if let Ok(text) = value.to_str() {
                        targets.prefixes.push(text.trim().to_owned());
                    }
                }
                if targets.tags.is_empty() && targets.prefixes.is_empty() {
                    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                    targets.paths.push(path.to_owned());
                }
            }
            Trigger::Path(_) => {
                let query = parts.uri.query().unwrap_or("");
                for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                    let value = value.into_owned();
                    match name.as_ref() {
                        "url" => targets.paths.push(value),
                        "tag" => targets.tags.push(value),
                        "prefix" => targets.prefixes.push(value),
                        _ => {}
                    }
                }
            }
        }
        targets
    }
}

impl Purge<Bearer> {
    /// Purges with the `PURGE` method (as [`method`](Self::method)) when the request carries
    /// `Authorization: Bearer <secret>`, compared in constant time. An empty secret allows
    /// nothing.
    pub fn bearer(secret: impl Into<Vec<u8>>) -> Self {
        Self::method(Bearer {
            secret: secret.into(),
        })
    }
}

impl<A> fmt::Debug for Purge<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Purge")
            .field("trigger", &self.trigger)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn purge_requests_name_urls_tags_and_prefixes() {
        let purge = Purge::method(|_: &Parts| true);
        let p = parts("PURGE", "/offers?page=2", &[]);
        assert!(purge.is_purge(&p));
        assert_eq!(purge.targets(&p).paths, ["/offers?page=2"]);
        let p = parts(
            "PURGE",
            "/",
            &[("surrogate-key", "a b"), ("cache-tag", "c, d")],
        );
        let t = purge.targets(&p);
        assert_eq!(t.tags, ["a", "b", "c", "d"]);
        assert!(t.paths.is_empty());
        assert!(!purge.is_purge(&parts("GET", "/offers", &[])));

        let purge = Purge::path("/_purge", |_: &Parts| true);
        let p = parts("POST", "/_purge?url=%2Fx&tag=m%3A1&prefix=/p/&tag=t", &[]);
        assert!(purge.is_purge(&p));
        let t = purge.targets(&p);
        assert_eq!(
            (t.paths, t.tags, t.prefixes),
            (
                vec!["/x".to_owned()],
                vec!["m:1".to_owned(), "t".to_owned()],
                vec!["/p/".to_owned()]
            )
        );
        assert!(!purge.is_purge(&parts("GET", "/_purge", &[])));
    }

    #[test]
    fn a_bearer_secret_must_match_exactly() {
        let purge = Purge::bearer("s3cret");
        let allowed = |auth: &str| {
            purge
                .authorize
                .authorize(&parts("PURGE", "/", &[("authorization", auth)]))
        };
        assert!(allowed("Bearer s3cret"));
        assert!(allowed("bearer s3cret"));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cretx",
            "Bearer S3CRET",
            "Basic s3cret",
            "s3cret",
            "Bearer ",
        ] {
            assert!(!allowed(wrong), "{wrong}");
        }
        assert!(!purge.authorize.authorize(&parts("PURGE", "/", &[])));
        let empty = Purge::bearer("");
        assert!(
            !empty
                .authorize
                .authorize(&parts("PURGE", "/", &[("authorization", "Bearer ")]))
        );
    }
}
