//! [`Invalidation`]: stream messages that name cache entries to remove.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{Consumer, Report};
use crate::cache::Cache;
use crate::error::{Error, ErrorKind};
use crate::key::{CacheKey, KeyPrefix};

/// What to remove from a cache: an entry by its rendered key, the entries written with a tag,
/// the entries whose rendered keys start with a text prefix (any of the three, in one message).
///
/// Published by whatever changes the data (another service, a database trigger relay, a
/// script), consumed by [`Consumer::run_invalidations`]. As stream fields it is `key`, `tag`
/// and `prefix`, so any language can write one:
/// `XADD cache-invalidations * tag merchant:coffee-corner`.
///
/// A prefix is matched as text: `merchant:co` also names `merchant:coffee`, and a prefix
/// built with [`KeyPrefix::segment`] names a little more than the segment (`user:7` also
/// names `user:70`), never less. A message with nothing to remove, or an empty key, tag or
/// prefix, does not decode (it would name nothing, or every key), and goes to the dead-letter
/// stream.
///
/// # Example
///
/// ```no_run
/// # async fn demo(store: cache_core::store::redis::RedisStore, cache: cache_core::Cache) -> Result<(), cache_core::Error> {
/// use cache_core::stream::{Invalidation, Stream};
///
/// let invalidations = Stream::<Invalidation>::new(&store, "cache-invalidations")?.max_len(10_000);
/// invalidations.publish(&Invalidation::tag("merchant:coffee-corner")).await?;
///
/// // In every process that keeps copies: a group of its own, so that each sees every message.
/// let consumer = invalidations.consumer("invalidate-web-1", "web-1");
/// let shutdown = tokio::time::sleep(std::time::Duration::from_secs(60));
/// consumer.run_invalidations(&cache, shutdown).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Named")]
pub struct Invalidation {
    /// A rendered key ([`CacheKey::render`]), of whichever key type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A tag the entries were written with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The start of rendered keys, as text; never empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// The fields as they arrive, before the checks.
#[derive(Deserialize)]
struct Named {
    key: Option<String>,
    tag: Option<String>,
    prefix: Option<String>,
}

impl TryFrom<Named> for Invalidation {
    type Error = String;

    fn try_from(named: Named) -> Result<Self, String> {
        for (field, value) in [
            ("key", &named.key),
            ("tag", &named.tag),
            ("prefix", &named.prefix),
        ] {
            if value.as_deref() == Some("") {
                return Err(format!("an invalidation with an empty {field}"));
            }
        }
        if named.key.is_none() && named.tag.is_none() && named.prefix.is_none() {
            return Err("an invalidation names no key, tag or prefix".to_owned());
        }
        Ok(Self {
            key: named.key,
            tag: named.tag,
            prefix: named.prefix,
        })
    }
}

impl Invalidation {
    /// Removes the entry of `key`.
    pub fn key<K: CacheKey>(key: &K) -> Self {
        Self {
            key: Some(key.render()),
            ..Self::default()
        }
    }

    /// Removes the entries written with `tag`.
    pub fn tag(tag: impl Into<String>) -> Self {
        Self {
            tag: Some(tag.into()),
            ..Self::default()
        }
    }

    /// Removes the entries whose rendered keys start with `prefix`'s text (exclusions are not
    /// carried).
    pub fn prefix(prefix: &KeyPrefix) -> Self {
        Self {
            prefix: Some(prefix.as_str().to_owned()),
            ..Self::default()
        }
    }
}

impl Cache {
    /// Removes what `invalidation` names from every tier; returns how many entries were
    /// removed.
    ///
    /// # Errors
    ///
    /// The far tier's error (the in-process copies are removed either way);
    /// [`UnboundedPrefix`](ErrorKind::UnboundedPrefix) for an empty prefix.
    pub async fn apply_invalidation(&self, invalidation: &Invalidation) -> Result<u64, Error> {
        let mut removed = 0;
        if let Some(key) = invalidation.key.as_deref().filter(|k| !k.is_empty()) {
            removed += self.try_invalidate_rendered(key).await?;
        }
        if let Some(tag) = &invalidation.tag {
            removed += self.try_invalidate_tag(tag).await?;
        }
        if let Some(prefix) = &invalidation.prefix {
            if prefix.is_empty() {
                return Err(Error::new(
                    ErrorKind::UnboundedPrefix,
                    "an invalidation with an empty prefix would name every key",
                ));
            }
            removed += self.try_invalidate_rendered_prefix(prefix).await?;
        }
        Ok(removed)
    }
}

impl Consumer<Invalidation> {
    /// Applies every invalidation message to `cache` until `shutdown` completes, as
    /// [`run`](Self::run) does with a handler: a message is acknowledged once its entries are
    /// gone from every tier; a far-tier failure leaves it pending, to be applied again.
    pub async fn run_invalidations(
        self,
        cache: &Cache,
        shutdown: impl Future<Output = ()>,
    ) -> Report {
        self.run(
            |delivery| async move { cache.apply_invalidation(&delivery.message).await.map(drop) },
            shutdown,
        )
        .await
    }
}
