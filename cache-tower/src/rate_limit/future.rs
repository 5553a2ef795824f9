//! [`ResponseFuture`]: the response of a [`RateLimit`](super::RateLimit): the inner service's,
//! or the limiter's own `429` or `503`.

crate::macros::boxed_response_future!("RateLimit");
