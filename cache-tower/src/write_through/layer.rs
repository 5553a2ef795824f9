//! [`WriteThroughLayer`]: wraps services in a [`WriteThrough`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_core::Cache;
use http::Method;
use tower_layer::Layer;

use super::service::WriteThrough;
use super::write::Write;
use crate::invalidate::Matched;
use crate::invalidate::rules::Template;

type MapFn = Arc<dyn Fn(&Matched<'_>) -> Option<String> + Send + Sync>;
type TypedFn = Arc<dyn Fn(&Matched<'_>, &Bytes) -> Vec<Write> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Action {
    /// Store the representation under this path instead of relying on `Content-Location`.
    Map(MapFn),
    /// Write typed values taken from the response body.
    Typed(TypedFn),
}

#[derive(Clone)]
pub(crate) struct Rule {
    pub(crate) method: Method,
    pub(crate) template: Template,
    pub(crate) action: Action,
}

#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) rules: Vec<Rule>,
    pub(crate) fresh_for: u64,
    pub(crate) max_body: usize,
}

/// Writes what successful `PUT` and `PATCH` requests return into the cache, so that the next
/// read is a hit with the new data. Place it inside the
/// [`ResponseCacheLayer`](crate::ResponseCacheLayer), which then keeps what this layer wrote
/// instead of invalidating it:
///
/// - a `2xx` response with a body and `Content-Location` equal to the request's path (RFC 9110
///   section 8.7: it *is* the new representation) is stored as that path's `GET` response;
/// - [`map`](Self::map) names the path to store it under when the origin does not send
///   `Content-Location`;
/// - [`typed`](Self::typed) writes values taken from the body into typed keys.
///
/// A representation is stored only where the response cache in front would have stored the
/// answer to a `GET` of it with the mutating request's headers, and with that cache's settings
/// (its maximum TTL, clock, private mode, `Set-Cookie` rule, default scheme and targeted
/// fields): never a `no-store` response, never a `private` one in a shared cache, never one
/// that sets cookies (unless that cache stores them, stripped), never one to a request with
/// `Authorization` unless the response is `public`, `s-maxage` or `must-revalidate`. It is
/// fresh for what its own headers say, else for [`fresh_for`](Self::fresh_for).
#[derive(Clone)]
pub struct WriteThroughLayer {
    cache: Cache,
    settings: Arc<Settings>,
}

impl WriteThroughLayer {
    /// A layer writing into `cache`: representations with `Content-Location`, fresh for 60 s
    /// when they do not say, bodies up to 1 MiB.
    pub fn new(cache: Cache) -> Self {
        Self {
            cache,
            settings: Arc::new(Settings {
                rules: Vec::new(),
                fresh_for: 60,
                max_body: 1 << 20,
            }),
        }
    }

    /// Stores the representation returned by a successful `method` request matching `template`
    /// as the `GET` response of the path `to` returns (`None`: not stored).
    ///
    /// # Panics
    ///
    /// When `template` has an empty or unclosed `{}`.
    #[must_use]
    pub fn map<F>(self, method: Method, template: &str, to: F) -> Self
    where
        F: Fn(&Matched<'_>) -> Option<String> + Send + Sync + 'static,
    {
        self.push(method, template, Action::Map(Arc::new(to)))
    }

    /// Writes the values `write` takes from a successful `method` response body (such as a
    /// JSON document parsed into a typed value) under their typed keys.
    ///
    /// # Panics
    ///
    /// When `template` has an empty or unclosed `{}`.
    #[must_use]
    pub fn typed<F>(self, method: Method, template: &str, write: F) -> Self
    where
        F: Fn(&Matched<'_>, &Bytes) -> Vec<Write> + Send + Sync + 'static,
    {
        self.push(method, template, Action::Typed(Arc::new(write)))
    }

    fn push(mut self, method: Method, template: &str, action: Action) -> Self {
        let Some(parsed) = Template::parse(template) else {
            panic!(
                "invalid route template {template:?}: captures are `{{name}}`, one path segment each"
            );
        };
        Arc::make_mut(&mut self.settings).rules.push(Rule {
            method,
            template: parsed,
            action,
        });
        self
    }

    /// How long a stored representation is fresh when its headers do not say (60 s).
    #[must_use]
    pub fn fresh_for(mut self, lifetime: Duration) -> Self {
        Arc::make_mut(&mut self.settings).fresh_for = lifetime.as_secs();
        self
    }

    /// The largest body written (1 MiB); a larger one streams through unwritten.
    #[must_use]
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.settings).max_body = bytes;
        self
    }
}

impl<S> Layer<S> for WriteThroughLayer {
    type Service = WriteThrough<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WriteThrough::from_parts(inner, self.cache.clone(), self.settings.clone())
    }
}

impl fmt::Debug for WriteThroughLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteThroughLayer")
            .field("rules", &self.settings.rules.len())
            .field("fresh_for", &self.settings.fresh_for)
            .finish_non_exhaustive()
    }
}
