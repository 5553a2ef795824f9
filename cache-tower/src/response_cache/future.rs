//! [`ResponseFuture`]: the response of a [`ResponseCache`](super::ResponseCache).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use http_body::Body;

use crate::body::ResponseBody;

type Boxed<B, E> = Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

/// The future of a [`ResponseCache`](super::ResponseCache) call.
///
/// A fresh hit held in process is ready at once. Anything else is one boxed state machine: a
/// request may read storage, wait for a collapsed request, call the origin and write storage,
/// in an order only known as it goes.
pub struct ResponseFuture<B: Body, E> {
    kind: Kind<B, E>,
}

// Boxing the ready response would cost the allocation this variant exists to save.
#[allow(clippy::large_enum_variant)]
enum Kind<B: Body, E> {
    Ready(Option<Response<ResponseBody<B>>>),
    Running(Boxed<B, E>),
}

impl<B: Body, E> ResponseFuture<B, E> {
    pub(crate) fn new(inner: Boxed<B, E>) -> Self {
        Self {
            kind: Kind::Running(inner),
        }
    }

    pub(crate) fn ready(response: Response<ResponseBody<B>>) -> Self {
        Self {
            kind: Kind::Ready(Some(response)),
        }
    }
}

impl<B: Body + Unpin, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().kind {
            Kind::Ready(response) => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            Kind::Running(inner) => inner.as_mut().poll(cx),
        }
    }
}

impl<B: Body, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
