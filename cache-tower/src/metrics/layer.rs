//! [`MetricsLayer`]: wraps services in a [`Metrics`] service.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tower_layer::Layer;

use super::outcome::Outcome;
use super::route::{AllRoutes, RouteLabel};
use super::service::Metrics;
use super::snapshot::{MetricsSnapshot, RouteCounts};

/// The most distinct route labels kept; past it, new labels are counted as `other`, so a
/// careless route function cannot grow memory or label cardinality without bound.
const MAX_ROUTES: usize = 1000;

/// The counts shared by a metrics layer, its services and their futures.
#[derive(Default)]
pub(crate) struct Shared {
    counts: Mutex<HashMap<String, RouteCounts>>,
}

impl Shared {
    /// Counts one outcome (and a failed store read); returns the label it was counted under.
    pub(crate) fn record(&self, label: String, outcome: Outcome, store_error: bool) -> String {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let label = if counts.len() >= MAX_ROUTES && !counts.contains_key(&label) {
            "other".to_owned()
        } else {
            label
        };
        counts
            .entry(label.clone())
            .or_insert_with(|| RouteCounts {
                route: label.clone(),
                ..RouteCounts::default()
            })
            .add(outcome, store_error);
        label
    }
}

/// Counts what the response cache did with each request, per route, through the `metrics`
/// facade and in a [`snapshot`](Self::snapshot). Place it outside the
/// [`ResponseCacheLayer`](crate::ResponseCacheLayer): it reads the `Cache-Status` member the
/// cache wrote.
///
/// Emitted: `http_cache_requests_total{route, outcome}` (counter) and
/// `http_cache_request_duration_seconds{route, outcome}` (histogram, until the response head),
/// with `outcome` one of `hit`, `stale`, `revalidated`, `miss`, `bypass`; and
/// `http_cache_store_errors_total{route}` when the cache could not read its store.
#[derive(Clone)]
pub struct MetricsLayer<R = AllRoutes> {
    shared: Arc<Shared>,
    route: R,
}

impl MetricsLayer {
    /// A layer labelling every request `all` until [`route_label`](Self::route_label) is set.
    pub fn new() -> Self {
        Self {
            shared: Arc::default(),
            route: AllRoutes,
        }
    }
}

impl<R> MetricsLayer<R> {
    /// How a request's route label is found: the matched path template, never the raw URI
    /// (with axum, `parts.extensions.get::<MatchedPath>()`); see [`RouteLabel`].
    ///
    /// The counts start afresh: set it before the layer is cloned or used.
    #[must_use]
    pub fn route_label<R2: RouteLabel>(self, route: R2) -> MetricsLayer<R2> {
        MetricsLayer {
            shared: Arc::default(),
            route,
        }
    }

    /// The counts so far, per route.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.shared.snapshot()
    }
}

impl Shared {
    /// The counts so far, per route, sorted by route.
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut routes: Vec<RouteCounts> = counts.values().cloned().collect();
        routes.sort_by(|a, b| a.route.cmp(&b.route));
        MetricsSnapshot { routes }
    }
}

impl Default for MetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S, R: Clone> Layer<S> for MetricsLayer<R> {
    type Service = Metrics<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics::from_parts(inner, self.shared.clone(), self.route.clone())
    }
}

impl<R> fmt::Debug for MetricsLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsLayer")
            .field("route", &std::any::type_name::<R>())
            .finish_non_exhaustive()
    }
}
