//! [`WriteThroughLayer`]: wraps services in a [`WriteThrough`].

use std::fmt;
use std::sync::Arc;

use cache_core::Cache;
use tower_layer::Layer;

use super::rule::{RepresentationPath, TypedWrites};
use super::service::WriteThrough;
use crate::route::Route;

/// What a rule does on a match.
#[derive(Clone)]
pub(crate) enum Action {
    /// Store the representation under this path instead of relying on `Content-Location`.
    Path(Arc<dyn RepresentationPath>),
    /// Write typed values taken from the response body.
    Typed(Arc<dyn TypedWrites>),
}

/// The rules and limits shared by a write-through layer and its services.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) rules: Vec<Route<Action>>,
    pub(crate) fresh_for: u64,
    pub(crate) max_body: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            fresh_for: 60,
            max_body: 1 << 20,
        }
    }
}

/// The builder methods shared by [`WriteThroughLayer`] and [`WriteThrough`]: both hold an
/// `Arc<Settings>` named `settings`.
macro_rules! settings_setters {
    () => {
        /// Stores the representation returned by a successful `method` request matching
        /// `template` as the `GET` response of the path `to` returns (`None`: not stored), when
        /// the origin does not send `Content-Location`.
        ///
        /// # Panics
        ///
        /// When `template` has an empty or unclosed `{}`.
        #[must_use]
        pub fn map<P: super::rule::RepresentationPath>(
            mut self,
            method: http::Method,
            template: &str,
            to: P,
        ) -> Self {
            let action = super::layer::Action::Path(std::sync::Arc::new(to));
            std::sync::Arc::make_mut(&mut self.settings)
                .rules
                .push(crate::route::Route::new(method, template, action));
            self
        }

        /// Writes the values `writes` takes from a successful `method` response body under
        /// their typed keys, with their key types' TTLs and tags.
        ///
        /// # Panics
        ///
        /// When `template` has an empty or unclosed `{}`.
        #[must_use]
        pub fn typed<W: super::rule::TypedWrites>(
            mut self,
            method: http::Method,
            template: &str,
            writes: W,
        ) -> Self {
            let action = super::layer::Action::Typed(std::sync::Arc::new(writes));
            std::sync::Arc::make_mut(&mut self.settings)
                .rules
                .push(crate::route::Route::new(method, template, action));
            self
        }

        /// How long a stored representation is fresh when its headers do not say (60 s).
        #[must_use]
        pub fn fresh_for(mut self, lifetime: std::time::Duration) -> Self {
            std::sync::Arc::make_mut(&mut self.settings).fresh_for = lifetime.as_secs();
            self
        }

        /// The largest body written (1 MiB); a larger one streams through unwritten.
        #[must_use]
        pub fn max_body_size(mut self, bytes: usize) -> Self {
            std::sync::Arc::make_mut(&mut self.settings).max_body = bytes;
            self
        }
    };
}

pub(crate) use settings_setters;

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
            settings: Arc::default(),
        }
    }

    settings_setters!();
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
