//! [`RedisStore`](super::RedisStore) as [`Invalidations`]: Redis pub/sub on one channel,
//! published through the store's connection and heard on a connection of its own (to one
//! node of a cluster, which forwards every `PUBLISH` to all of its nodes).

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
            // On a cluster, any node hears every PUBLISH: the first seed that answers will do.
            let mut failed = None;
            for client in self.subscription_clients() {
                let connect = async {
                    let mut pubsub = client.get_async_pubsub().await.map_err(store_error)?;
                    pubsub.subscribe(CHANNEL).await.map_err(store_error)?;
                    Ok::<_, Error>(pubsub.into_on_message())
                };
                match self
                    .connecting("subscribing to invalidations", connect)
                    .await
                {
                    Ok(stream) => return Ok(Box::pin(Payloads(stream)) as Subscription),
                    Err(e) => failed = Some(e),
                }
            }
            Err(failed.unwrap_or_else(|| Error::config("no Redis node to subscribe through")))
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
