//! [`ResponseFuture`]: the response of an [`Invalidation`](super::Invalidation): the inner
//! response, after the invalidations its success triggered; or the purge endpoint's answer.

crate::macros::boxed_response_future!("Invalidation");
