//! [`InvalidationLayer`]: wraps services in an [`Invalidation`].

use std::fmt;
use std::sync::Arc;

use cache_core::Cache;
use tower_layer::Layer;

use super::purge::{Authorize, NoPurge, Purge};
use super::rule::InvalidationRule;
use super::service::Invalidation;
use crate::route::Route;

/// The rules and purge endpoint shared by an invalidation layer and its services.
pub(crate) struct Settings<A> {
    pub(crate) rules: Vec<Route<Arc<dyn InvalidationRule>>>,
    pub(crate) purge: Option<Purge<A>>,
}

impl<A: Clone> Clone for Settings<A> {
    fn clone(&self) -> Self {
        Self {
            rules: self.rules.clone(),
            purge: self.purge.clone(),
        }
    }
}

impl<A> Settings<A> {
    /// No rules and no purge endpoint.
    pub(crate) fn empty() -> Self {
        Self {
            rules: Vec::new(),
            purge: None,
        }
    }

    /// These settings with `purge` as the purge endpoint.
    pub(crate) fn with_purge<B>(self, purge: Purge<B>) -> Settings<B> {
        Settings {
            rules: self.rules,
            purge: Some(purge),
        }
    }
}

/// The builder methods shared by [`InvalidationLayer`] and [`Invalidation`]: both hold an
/// `Arc<Settings<A>>` named `settings`.
macro_rules! settings_setters {
    ($name:ident $(<$s:ident>)?) => {
        /// When a `method` request whose path matches `template` (`/admin/merchants/{slug}`,
        /// one `{name}` per path segment) succeeds, invalidates what `rule` returns for it.
        ///
        /// # Panics
        ///
        /// When `template` has an empty or unclosed `{}`: a rule that could never match is a
        /// mistake to see at start-up, as axum's `route` treats a bad path.
        #[must_use]
        pub fn rule<R: InvalidationRule>(
            mut self,
            method: http::Method,
            template: &str,
            rule: R,
        ) -> Self {
            std::sync::Arc::make_mut(&mut self.settings)
                .rules
                .push(crate::route::Route::new(method, template, std::sync::Arc::new(rule)));
            self
        }

        /// Mounts the purge endpoint `purge` (off by default).
        #[must_use]
        pub fn purge<B: Authorize>(self, purge: Purge<B>) -> $name<$($s,)? B> {
            self.map_settings(|settings| settings.with_purge(purge))
        }
    };
}

pub(crate) use settings_setters;

/// Turns successful mutations into cache invalidations, and serves the purge endpoint; see
/// the [module docs](super). `A` authorizes purges ([`NoPurge`] until one is mounted).
pub struct InvalidationLayer<A = NoPurge> {
    cache: Cache,
    settings: Arc<Settings<A>>,
}

impl InvalidationLayer {
    /// A layer invalidating entries of `cache`, with no rules and no purge endpoint yet.
    pub fn new(cache: Cache) -> Self {
        Self {
            cache,
            settings: Arc::new(Settings::empty()),
        }
    }
}

impl<A: Authorize> InvalidationLayer<A> {
    settings_setters!(InvalidationLayer);

    fn map_settings<B>(self, f: impl FnOnce(Settings<A>) -> Settings<B>) -> InvalidationLayer<B> {
        InvalidationLayer {
            cache: self.cache,
            settings: Arc::new(f(Arc::unwrap_or_clone(self.settings))),
        }
    }
}

impl<A> Clone for InvalidationLayer<A> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<S, A> Layer<S> for InvalidationLayer<A> {
    type Service = Invalidation<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        Invalidation::from_parts(inner, self.cache.clone(), self.settings.clone())
    }
}

impl<A> fmt::Debug for InvalidationLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvalidationLayer")
            .field("rules", &self.settings.rules.len())
            .field("purge", &self.settings.purge)
            .finish_non_exhaustive()
    }
}
