//! Coherent in-process tiers ([`CacheBuilder::coherent`](super::CacheBuilder::coherent)):
//! each write and invalidation is announced on the far tier's invalidation channel after the
//! far tier took it, and every other instance removes its in-process copies of what the
//! announcement names.
//!
//! An announcement is one line of text: the sender's id (16 hex digits, so that an instance
//! skips its own), a kind, and what it names:
//!
//! - `k <rendered key>`: the entry under that key, of whichever key type;
//! - `t <tag>`: the entries written with that tag;
//! - `p <text>`: the entries whose rendered keys start with that text.
//!
//! An instance that is not subscribed hears nothing, so while its subscription is down (at
//! start, after a lost connection) it keeps no in-process copies it could not hear about: it
//! empties its in-process tier when the subscription is lost and again once it is back.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Cache, Inner};
use crate::key::KeyPrefix;

/// Where announcements are counted.
const NAMESPACE: &str = "(coherence)";

/// A coherent cache's part in the conversation.
pub(super) struct Coherence {
    /// This instance's id in what it announces.
    id: u64,
    /// Dropped with the cache, which ends the listening task.
    _stop: tokio::sync::watch::Sender<()>,
}

impl std::fmt::Debug for Coherence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coherence")
            .field("id", &format_args!("{:016x}", self.id))
            .finish_non_exhaustive()
    }
}

/// What an announcement names.
pub(super) enum Named<'a> {
    Keys(&'a [String]),
    Tag(&'a str),
    Prefix(&'a str),
}

impl Coherence {
    /// A new id and the stop signal; [`listen`] on the returned receiver once the cache's
    /// `Inner` exists.
    pub(super) fn new() -> (Self, tokio::sync::watch::Receiver<()>) {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let id = fastrand::u64(..);
        (Self { id, _stop: stop }, stopped)
    }

    pub(super) fn id(&self) -> u64 {
        self.id
    }

    fn messages(&self, named: &[Named<'_>]) -> Vec<Vec<u8>> {
        let line = |kind: char, text: &str| format!("{:016x} {kind} {text}", self.id).into_bytes();
        let mut messages = Vec::new();
        for named in named {
            match named {
                Named::Keys(keys) => messages.extend(keys.iter().map(|key| line('k', key))),
                Named::Tag(tag) => messages.push(line('t', tag)),
                Named::Prefix(prefix) => messages.push(line('p', prefix)),
            }
        }
        messages
    }
}

impl Cache {
    /// Tells the other instances to drop their copies of what `named` names, in one round
    /// trip; a no-op in a cache that is not coherent. A failed announcement is counted and
    /// logged by the far tier's failure policy; the other instances' copies then live out
    /// their `near_ttl`.
    pub(super) async fn announce(&self, named: &[Named<'_>]) {
        let (Some(coherence), Some(far)) = (&self.inner.coherence, &self.inner.far) else {
            return;
        };
        let Some(channel) = far.store.invalidations() else {
            return;
        };
        let messages = coherence.messages(named);
        let ns = self.inner.stats.namespace(NAMESPACE);
        let _ = self
            .far_call(ns, "PUBLISH", channel.publish(&messages))
            .await;
    }

    /// Announces a write or removal under `key` (rendered only in a coherent cache).
    pub(super) async fn announce_key<K: crate::key::CacheKey>(&self, key: &K) {
        if self.is_coherent() {
            self.announce(&[Named::Keys(&[key.render()])]).await;
        }
    }

    /// Announces a tag's invalidation: the tag (for copies written here with it) and the
    /// keys the far tier had under it (copies read from the far tier do not know their tags).
    pub(super) async fn announce_tag(&self, tag: &str, keys: &[String]) {
        self.announce(&[Named::Tag(tag), Named::Keys(keys)]).await;
    }

    /// Whether writes and invalidations are announced.
    pub(super) fn is_coherent(&self) -> bool {
        self.inner.coherence.is_some()
    }
}

/// Hears the other instances' announcements until the cache is dropped, resubscribing with a
/// backoff after a lost connection, and emptying the in-process tier whenever it may have
/// missed one.
pub(super) async fn listen(weak: Weak<Inner>, id: u64, mut stop: tokio::sync::watch::Receiver<()>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let subscribed = {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let Some(channel) = inner.far.as_ref().and_then(|far| far.store.invalidations()) else {
                return;
            };
            let subscribing = channel.subscribe();
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                subscribed = subscribing => subscribed,
            }
        };
        match subscribed {
            Ok(mut messages) => {
                // Whatever was announced before the subscription was missed.
                clear(&weak);
                backoff = Duration::from_millis(50);
                loop {
                    let next = std::future::poll_fn(|cx| messages.as_mut().poll_next(cx));
                    let message = tokio::select! {
                        biased;
                        _ = stop.changed() => return,
                        message = next => message,
                    };
                    let Some(message) = message else {
                        break;
                    };
                    let Some(inner) = weak.upgrade() else {
                        return;
                    };
                    apply(&inner, id, &message);
                }
                tracing::warn!(
                    "lost the invalidation channel; in-process copies dropped until it is back"
                );
                clear(&weak);
            }
            Err(e) => {
                tracing::debug!(error = %e, "subscribing to the invalidation channel failed; retrying");
                clear(&weak);
            }
        }
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Empties the in-process tier, if the cache still exists.
fn clear(weak: &Weak<Inner>) {
    if let Some(near) = weak
        .upgrade()
        .as_ref()
        .and_then(|inner| inner.near.as_ref())
    {
        near.clear();
    }
}

/// Removes what one announcement names, unless this instance sent it.
fn apply(inner: &Arc<Inner>, own: u64, message: &[u8]) {
    let Some(near) = &inner.near else {
        return;
    };
    let Ok(text) = std::str::from_utf8(message) else {
        return;
    };
    let mut parts = text.splitn(3, ' ');
    let (Some(sender), Some(kind), Some(named)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    if u64::from_str_radix(sender, 16).is_ok_and(|sender| sender == own) {
        return;
    }
    match kind {
        "k" => {
            near.remove_rendered(named);
        }
        "t" => {
            near.remove_tagged(named);
        }
        "p" if !named.is_empty() => {
            near.remove_prefix(&KeyPrefix::raw(named.to_owned(), NAMESPACE));
        }
        _ => {}
    }
}
