//! [`ResponseFuture`]: records the outcome and latency when the response head is ready.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::Response;
use pin_project_lite::pin_project;

use super::layer::Shared;
use super::outcome::{Outcome, store_error};

pin_project! {
    /// The future of a [`Metrics`](super::Metrics) call.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        shared: Arc<Shared>,
        label: Option<String>,
        start: Instant,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, shared: Arc<Shared>, label: String, start: Instant) -> Self {
        Self {
            inner,
            shared,
            label: Some(label),
            start,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let (Ok(response), Some(label)) = (&result, this.label.take()) {
            let status = response.headers().get("cache-status").map(|v| v.as_bytes());
            let outcome = Outcome::from_cache_status(status);
            let failed = store_error(status);
            let route = this.shared.record(label, outcome, failed);
            if failed {
                metrics::counter!("http_cache_store_errors_total", "route" => route.clone())
                    .increment(1);
            }
            let labels = [("route", route), ("outcome", outcome.as_str().to_owned())];
            metrics::counter!("http_cache_requests_total", &labels).increment(1);
            metrics::histogram!("http_cache_request_duration_seconds", &labels)
                .record(this.start.elapsed().as_secs_f64());
        }
        Poll::Ready(result)
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}
