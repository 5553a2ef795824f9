//! [`Purge`]: the opt-in purge endpoint, always behind a caller-supplied authorization check.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderName, Method};

type Authorize = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// Where purge requests arrive and who may send them.
///
/// There is no constructor without an authorization check: a purge endpoint open to anyone
/// would let any client empty the cache.
///
/// With axum, layers added by `Router::layer` see only requests some route (or the router's
/// own fallback) handles; a `PURGE /` that no route matches reaches the layer when the layered
/// router is nested as another router's `fallback_service` (see the `axum_shop` example), or
/// when the layer wraps the whole router as a service.
#[derive(Clone)]
pub struct Purge {
    pub(crate) trigger: Trigger,
    pub(crate) authorize: Authorize,
}

#[derive(Debug, Clone)]
pub(crate) enum Trigger {
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

impl Purge {
    /// Purges with the `PURGE` method: `PURGE /offers` removes that URL's stored responses;
    /// with `Surrogate-Key` or `Cache-Tag` headers it removes those tags instead, and with a
    /// `Purge-Prefix: /offers/` header every URL under that path. `authorize` decides from the
    /// request head; a refused purge is answered `403` and changes nothing.
    pub fn method<F>(authorize: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        Self {
            trigger: Trigger::Method,
            authorize: Arc::new(authorize),
        }
    }

    /// Purges with `POST <path>?url=/offers&tag=merchant:42&prefix=/offers/` (each parameter
    /// may repeat), for clients that cannot send custom methods.
    pub fn path<F>(path: impl Into<String>, authorize: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        Self {
            trigger: Trigger::Path(path.into()),
            authorize: Arc::new(authorize),
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

impl fmt::Debug for Purge {
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
        let purge = Purge::method(|_| true);
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

        let purge = Purge::path("/_purge", |_| true);
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
}
