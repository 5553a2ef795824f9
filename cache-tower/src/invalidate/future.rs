//! [`ResponseFuture`]: the response of an [`Invalidation`](super::Invalidation).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use http_body::Body;

use crate::response_cache::ResponseBody;

type Boxed<B, E> = Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

/// The future of an [`Invalidation`](super::Invalidation) call: the inner response, after the
/// invalidations its success triggered; or the purge endpoint's answer.
pub struct ResponseFuture<B: Body, E> {
    inner: Boxed<B, E>,
}

impl<B: Body, E> ResponseFuture<B, E> {
    pub(crate) fn new(inner: Boxed<B, E>) -> Self {
        Self { inner }
    }
}

impl<B: Body, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<B: Body, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
