//! The boilerplate every middleware shares, written once.

/// `get_ref`, `get_mut` and `into_inner` of a middleware service whose wrapped service is its
/// field `inner` of type `S`, as tower-http's services have them.
#[cfg(any(
    feature = "response-cache",
    feature = "rate-limit",
    feature = "metrics"
))]
macro_rules! inner_accessors {
    () => {
        /// The wrapped service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The wrapped service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Unwraps the wrapped service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

/// Defines a middleware's `ResponseFuture<B, E>`: the boxed work of one call, which reads or
/// writes the cache on its way (so its steps are only known as it runs), resolving to the
/// response with a [`ResponseBody`](crate::body::ResponseBody).
#[cfg(any(
    feature = "invalidate",
    feature = "write-through",
    feature = "rate-limit"
))]
macro_rules! boxed_response_future {
    ($service:literal) => {
        type Boxed<B, E> = std::pin::Pin<
            Box<
                dyn std::future::Future<
                        Output = Result<http::Response<crate::body::ResponseBody<B>>, E>,
                    > + Send,
            >,
        >;

        #[doc = concat!("The future of a [`", $service, "`](super::", $service, ") call.")]
        pub struct ResponseFuture<B: http_body::Body, E> {
            inner: Boxed<B, E>,
        }

        impl<B: http_body::Body, E> ResponseFuture<B, E> {
            pub(crate) fn new(
                inner: impl std::future::Future<
                    Output = Result<http::Response<crate::body::ResponseBody<B>>, E>,
                > + Send
                + 'static,
            ) -> Self {
                Self {
                    inner: Box::pin(inner),
                }
            }
        }

        impl<B: http_body::Body, E> std::future::Future for ResponseFuture<B, E> {
            type Output = Result<http::Response<crate::body::ResponseBody<B>>, E>;

            fn poll(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Self::Output> {
                self.inner.as_mut().poll(cx)
            }
        }

        impl<B: http_body::Body, E> std::fmt::Debug for ResponseFuture<B, E> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("ResponseFuture").finish_non_exhaustive()
            }
        }
    };
}

#[cfg(any(
    feature = "invalidate",
    feature = "write-through",
    feature = "rate-limit"
))]
pub(crate) use boxed_response_future;
#[cfg(any(
    feature = "response-cache",
    feature = "rate-limit",
    feature = "metrics"
))]
pub(crate) use inner_accessors;
