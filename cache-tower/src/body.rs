//! [`ResponseBody`]: the body of a response that passed through a layer of this crate: bytes
//! served from storage or made by the layer, or the origin's body streamed through (its first
//! part perhaps read while deciding whether to store it).

use std::pin::Pin;
use std::task::{Context, Poll};

#[cfg(feature = "response-cache")]
use bytes::BytesMut;
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
#[cfg(feature = "response-cache")]
use http_body_util::BodyExt;
use pin_project_lite::pin_project;

pin_project! {
    /// The body of a response that passed through the cache: stored bytes, or the origin's body
    /// (whose first part may have been read while deciding whether to store it).
    #[project = Projection]
    pub struct ResponseBody<B: Body> {
        buffered: Option<Bytes>,
        pending: Option<Result<Frame<Bytes>, B::Error>>,
        #[pin]
        rest: Option<B>,
    }
}

impl<B: Body> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("buffered", &self.buffered.as_ref().map(Bytes::len))
            .field("streaming", &self.rest.is_some())
            .finish()
    }
}

impl<B: Body> ResponseBody<B> {
    /// A body of exactly `bytes`.
    pub fn full(bytes: Bytes) -> Self {
        Self {
            buffered: (!bytes.is_empty()).then_some(bytes),
            pending: None,
            rest: None,
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// `body`, streamed through untouched.
    pub fn stream(body: B) -> Self {
        Self {
            buffered: None,
            pending: None,
            rest: Some(body),
        }
    }
}

/// The outcome of reading a body up to a limit.
#[cfg(feature = "response-cache")]
pub(crate) enum Buffered<B: Body> {
    /// The whole body, within the limit and without trailers.
    Complete(Bytes),
    /// The body did not fit, carried trailers or failed: what was read, then the rest.
    Partial(ResponseBody<B>),
}

/// Reads `body` until its end or until more than `limit` bytes have been read.
#[cfg(feature = "response-cache")]
///
/// A complete body is held in an allocation of its own length: a stored body weighs what it
/// holds, and pins neither spare capacity from growing nor a connection's read buffer.
pub(crate) async fn buffer<B>(mut body: B, limit: usize) -> Buffered<B>
where
    B: Body + Unpin,
{
    let hint = body.size_hint();
    let expected = hint.exact().unwrap_or(hint.lower());
    let mut data = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(limit).min(limit));
    loop {
        let frame = body.frame().await;
        let frame = match frame {
            None => return Buffered::Complete(exact(data)),
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return partial(data, Some(Err(e)), body),
        };
        match frame.into_data() {
            Ok(mut chunk) => {
                let chunk = chunk.copy_to_bytes(chunk.remaining());
                if data.len() + chunk.len() > limit {
                    return partial(data, Some(Ok(Frame::data(chunk))), body);
                }
                data.extend_from_slice(&chunk);
            }
            Err(frame) => {
                let trailers = frame.into_trailers().map(Frame::trailers);
                return partial(data, trailers.ok().map(Ok), body);
            }
        }
    }
}

/// `data` in an allocation of its length, copied when growing it left more than an eighth
/// spare.
#[cfg(feature = "response-cache")]
fn exact(data: BytesMut) -> Bytes {
    if data.capacity() - data.len() > data.len() / 8 {
        Bytes::copy_from_slice(&data)
    } else {
        data.freeze()
    }
}

#[cfg(feature = "response-cache")]
fn partial<B: Body>(
    data: BytesMut,
    pending: Option<Result<Frame<Bytes>, B::Error>>,
    rest: B,
) -> Buffered<B> {
    Buffered::Partial(ResponseBody {
        buffered: (!data.is_empty()).then(|| data.freeze()),
        pending,
        rest: Some(rest),
    })
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        if let Some(bytes) = this.buffered.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        if let Some(frame) = this.pending.take() {
            return Poll::Ready(Some(frame));
        }
        let Some(rest) = this.rest.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        match rest.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(
                frame.map_data(|mut d| d.copy_to_bytes(d.remaining()))
            ))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                this.rest.set(None);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.buffered.is_none()
            && self.pending.is_none()
            && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let known = self.buffered.as_ref().map_or(0, |b| b.len() as u64)
            + match &self.pending {
                Some(Ok(frame)) => frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => 0,
            };
        match &self.rest {
            None => SizeHint::with_exact(known),
            Some(rest) => {
                let inner = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower() + known);
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper + known);
                }
                hint
            }
        }
    }
}

#[cfg(all(test, feature = "response-cache"))]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn a_complete_body_is_held_at_its_own_length() {
        // 100 chunks of 1 KB without a size hint: growing doubles the buffer, the result not.
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = (0..100)
            .map(|_| Ok(Frame::data(Bytes::from(vec![b'x'; 1000]))))
            .collect();
        let body = StreamBody::new(futures_lite_iter(chunks));
        let Buffered::Complete(bytes) = buffer(body, 1 << 20).await else {
            panic!("fits")
        };
        assert_eq!(bytes.len(), 100_000);
        let held = BytesMut::from(bytes);
        assert!(
            held.capacity() <= 100_000 + 100_000 / 8,
            "{} held",
            held.capacity()
        );
    }

    #[tokio::test]
    async fn small_bodies_are_complete_and_large_ones_stream_whole() {
        let Buffered::Complete(b) = buffer(Full::new(Bytes::from_static(b"hello")), 5).await else {
            panic!("fits")
        };
        assert_eq!(b, "hello");
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = (0..10)
            .map(|i| Ok(Frame::data(Bytes::from(vec![b'a' + i; 3]))))
            .collect();
        let body = StreamBody::new(futures_lite_iter(chunks));
        let Buffered::Partial(rest) = buffer(body, 7).await else {
            panic!("too large")
        };
        let all = rest.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), 30);
        assert_eq!(&all[..6], b"aaabbb");
        assert_eq!(&all[27..], b"jjj");
    }

    fn futures_lite_iter<T>(items: Vec<T>) -> impl futures_core::Stream<Item = T> + Unpin {
        struct Iter<T>(std::vec::IntoIter<T>);
        impl<T> Unpin for Iter<T> {}
        impl<T> futures_core::Stream for Iter<T> {
            type Item = T;
            fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
                Poll::Ready(self.0.next())
            }
        }
        Iter(items.into_iter())
    }
}
