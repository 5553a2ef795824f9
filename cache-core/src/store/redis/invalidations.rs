//! [`RedisStore`](super::RedisStore) as [`Invalidations`]: Redis pub/sub on one channel,
//! published through the store's connection and heard on a connection of its own.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::{RedisStore, store_error};
use crate::error::Error;
use crate::store::{Invalidations, StoreFuture, Subscription};

/// The pub/sub channel of invalidations.
pub(crate) const CHANNEL: &str = "cache-core:invalidations";

impl Invalidations for RedisStore {
    fn publish<'a>(&'a self, messages: &'a [Vec<u8>]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if messages.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for message in messages {
                pipe.cmd("PUBLISH").arg(CHANNEL).arg(message).ignore();
            }
            self.query_pipe::<()>(&pipe).await
        })
    }

    fn subscribe(&self) -> StoreFuture<'_, Subscription> {
        Box::pin(async move {
            let connect = async {
                let mut pubsub = self
                    .inner
                    .client
                    .get_async_pubsub()
                    .await
                    .map_err(store_error)?;
                pubsub.subscribe(CHANNEL).await.map_err(store_error)?;
                Ok::<_, Error>(pubsub.into_on_message())
            };
            let stream = self
                .connecting("subscribing to invalidations", connect)
                .await?;
            Ok(Box::pin(Payloads(stream)) as Subscription)
        })
    }
}

/// The payloads of the channel's messages.
struct Payloads(redis::aio::PubSubStream);

impl futures_core::Stream for Payloads {
    type Item = Vec<u8>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|message| message.map(|m| m.get_payload_bytes().to_vec()))
    }
}
