//! [`Invalidations`]: a channel that every instance sharing a store hears, so that an
//! instance's write or invalidation removes the other instances' in-process copies.

use std::pin::Pin;

use super::StoreFuture;

/// The messages published on a store's invalidation channel from the moment of subscribing,
/// until the connection is lost (then the stream ends).
pub type Subscription = Pin<Box<dyn futures_core::Stream<Item = Vec<u8>> + Send>>;

/// A broadcast channel beside a store: what one instance publishes, every subscribed instance
/// (itself included) receives, in order, while its subscription lives. Messages published
/// while an instance is not subscribed are lost to it, so an instance that loses its
/// subscription must assume it missed some.
///
/// [`RedisStore`](super::redis::RedisStore) implements it with Redis pub/sub on the channel
/// `cache-core:invalidations`.
pub trait Invalidations: Send + Sync {
    /// Publishes `messages`, in order.
    fn publish<'a>(&'a self, messages: &'a [Vec<u8>]) -> StoreFuture<'a, ()>;

    /// Subscribes on a connection of its own.
    fn subscribe(&self) -> StoreFuture<'_, Subscription>;
}
