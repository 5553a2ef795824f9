//! [`Metrics`]: times and classifies each response.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::{MetricsLayer, Shared};
use super::route::{AllRoutes, RouteLabel};
use super::snapshot::MetricsSnapshot;
use crate::macros::inner_accessors;

/// The service of a [`MetricsLayer`].
#[derive(Clone)]
pub struct Metrics<S, R = AllRoutes> {
    inner: S,
    shared: Arc<Shared>,
    route: R,
}

impl<S> Metrics<S> {
    /// Counts what the response cache inside `inner` did with each request, all under `all`
    /// until [`route_label`](Self::route_label) is set.
    pub fn new(inner: S) -> Self {
        Self::from_parts(inner, Arc::default(), AllRoutes)
    }

    /// A [`MetricsLayer`].
    pub fn layer() -> MetricsLayer {
        MetricsLayer::new()
    }
}

impl<S, R> Metrics<S, R> {
    pub(crate) fn from_parts(inner: S, shared: Arc<Shared>, route: R) -> Self {
        Self {
            inner,
            shared,
            route,
        }
    }

    inner_accessors!();

    /// How a request's route label is found, as [`MetricsLayer::route_label`] says; the counts
    /// start afresh.
    #[must_use]
    pub fn route_label<R2: RouteLabel>(self, route: R2) -> Metrics<S, R2> {
        Metrics::from_parts(self.inner, Arc::default(), route)
    }

    /// The counts so far, per route.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.shared.snapshot()
    }
}

impl<S: std::fmt::Debug, R> std::fmt::Debug for Metrics<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: RouteLabel,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let label = self.route.route(&parts).unwrap_or_else(|| "all".to_owned());
        let start = Instant::now();
        let future = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture::new(future, self.shared.clone(), label, start)
    }
}
