//! [`InvalidationLayer`]: wraps services in an [`Invalidation`].

use std::fmt;
use std::sync::Arc;

use cache_core::Cache;
use http::Method;
use tower_layer::Layer;

use super::action::Invalidate;
use super::purge::Purge;
use super::rules::{Matched, Template};
use super::service::Invalidation;

type Action = Arc<dyn Fn(&Matched<'_>) -> Vec<Invalidate> + Send + Sync>;

/// One rule: a method and route template, and what a match invalidates.
#[derive(Clone)]
pub(crate) struct Rule {
    pub(crate) method: Method,
    pub(crate) template: Template,
    pub(crate) action: Action,
}

/// The rules and purge endpoint shared by every service the layer wraps.
#[derive(Clone, Default)]
pub(crate) struct Rules {
    pub(crate) rules: Vec<Rule>,
    pub(crate) purge: Option<Purge>,
}

/// Turns successful mutations into cache invalidations; see the [module docs](super).
#[derive(Clone)]
pub struct InvalidationLayer {
    cache: Cache,
    rules: Arc<Rules>,
}

impl InvalidationLayer {
    /// A layer invalidating entries of `cache`, with no rules and no purge endpoint yet.
    pub fn new(cache: Cache) -> Self {
        Self {
            cache,
            rules: Arc::default(),
        }
    }

    /// When a `method` request whose path matches `template` (`/admin/merchants/{slug}`, one
    /// `{name}` per path segment) succeeds, invalidates what `action` returns for it.
    ///
    /// # Panics
    ///
    /// When `template` has an empty or unclosed `{}`: a rule that could never match is a
    /// mistake to see at start-up, as axum's `route` treats a bad path.
    #[must_use]
    pub fn rule<F>(mut self, method: Method, template: &str, action: F) -> Self
    where
        F: Fn(&Matched<'_>) -> Vec<Invalidate> + Send + Sync + 'static,
    {
        let Some(parsed) = Template::parse(template) else {
            panic!(
                "invalid route template {template:?}: captures are `{{name}}`, one path segment each"
            );
        };
        Arc::make_mut(&mut self.rules).rules.push(Rule {
            method,
            template: parsed,
            action: Arc::new(action),
        });
        self
    }

    /// Mounts the purge endpoint (off by default).
    #[must_use]
    pub fn purge(mut self, purge: Purge) -> Self {
        Arc::make_mut(&mut self.rules).purge = Some(purge);
        self
    }
}

impl<S> Layer<S> for InvalidationLayer {
    type Service = Invalidation<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Invalidation::from_parts(inner, self.cache.clone(), self.rules.clone())
    }
}

impl fmt::Debug for InvalidationLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvalidationLayer")
            .field("rules", &self.rules.rules.len())
            .field("purge", &self.rules.purge)
            .finish_non_exhaustive()
    }
}
