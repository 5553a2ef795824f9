//! [`ResponseFuture`]: the response of a [`WriteThrough`](super::WriteThrough), after what it
//! carried was written.

crate::macros::boxed_response_future!("WriteThrough");
