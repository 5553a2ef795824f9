//! [`RouteLabel`]: the route a request is counted under.

use http::request::Parts;

/// Tells the route label of a request: the matched path template (with axum,
/// `parts.extensions.get::<MatchedPath>()`), never the raw URI, so that labels stay few.
/// `None` counts the request under `all`.
///
/// Any `Fn(&Parts) -> Option<String>` is one; [`AllRoutes`] (the default) labels every request
/// `all`.
pub trait RouteLabel: Clone + Send + Sync + 'static {
    /// The route label of the request `parts`.
    fn route(&self, parts: &Parts) -> Option<String>;
}

impl<F> RouteLabel for F
where
    F: Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    fn route(&self, parts: &Parts) -> Option<String> {
        self(parts)
    }
}

/// Every request under one label, `all`: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllRoutes;

impl RouteLabel for AllRoutes {
    fn route(&self, _: &Parts) -> Option<String> {
        None
    }
}
