//! Redis streams of typed messages (feature `redis`): a producer ([`Stream::publish`], `XADD`)
//! and consumer groups ([`Consumer`], `XREADGROUP`) that acknowledge a message only after its
//! handler succeeded, redeliver the messages of consumers that died, and move a message that
//! keeps failing to a dead-letter stream.
//!
//! A message is a flat serde struct, stored as one stream field per struct field in the
//! [`Fields`] codec's text form: what another language writes with
//! `XADD stream * user_wallet 5Grw… result verified`, and reads back field by field.
//!
//! Delivery is at least once: a handler may see a message again after a crash, a timeout or a
//! failed acknowledgement, so handlers should be idempotent.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(store: cache_core::store::redis::RedisStore) -> Result<(), cache_core::Error> {
//! use cache_core::stream::Stream;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Verified { user_wallet: String, did_id: String, result: String }
//!
//! let stream = Stream::<Verified>::new(&store, "verification_stream")?.max_len(100_000);
//! stream
//!     .publish(&Verified { user_wallet: "5Grw".into(), did_id: "did:1".into(), result: "verified".into() })
//!     .await?;
//!
//! let consumer = stream.consumer("attestation_processors", "processor-1");
//! // Stops between batches when this completes (a signal, say); in-flight messages finish.
//! let shutdown = tokio::time::sleep(std::time::Duration::from_secs(60));
//! let report = consumer
//!     .run(
//!         |delivery| async move {
//!             println!("{} verified as {}", delivery.message.user_wallet, delivery.message.result);
//!             Ok::<(), std::convert::Infallible>(())
//!         },
//!         shutdown,
//!     )
//!     .await;
//! println!("acknowledged {}", report.acked);
//! # Ok(()) }
//! ```

mod consumer;
mod invalidation;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use consumer::{Consumer, Delivery, Report, StartFrom};
pub use invalidation::Invalidation;

use crate::codec::{Codec, Fields};
use crate::error::{Error, ErrorKind};
use crate::store::redis::RedisStore;

/// A Redis stream whose messages are `M`s. Cheap to clone.
pub struct Stream<M> {
    store: RedisStore,
    name: Arc<str>,
    max_len: Option<usize>,
    _message: PhantomData<fn() -> M>,
}

impl<M> Clone for Stream<M> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            name: self.name.clone(),
            max_len: self.max_len,
            _message: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Stream<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("name", &self.name)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

impl<M: Serialize + DeserializeOwned> Stream<M> {
    /// The stream under the Redis key `name` (used as it is, so that other services find it by
    /// the same name), on `store`'s connection.
    ///
    /// # Errors
    ///
    /// [`Config`](ErrorKind::Config) for an empty name.
    pub fn new(store: &RedisStore, name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::new(ErrorKind::Config, "a stream needs a name"));
        }
        Ok(Self {
            store: store.clone(),
            name: name.into(),
            max_len: None,
            _message: PhantomData,
        })
    }

    /// Trims the stream to about `max_len` messages on every publish (`MAXLEN ~`, which trims
    /// whole radix-tree nodes and so costs almost nothing). Without it a stream grows until it
    /// is trimmed some other way. Trimmed messages are gone even if a group has not read them.
    #[must_use]
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// The Redis key of the stream.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends `message` (`XADD`); returns the id Redis gave it.
    ///
    /// # Errors
    ///
    /// [`Codec`](ErrorKind::Codec) for a message that is not a flat struct; the store's
    /// error ([`Connection`](ErrorKind::Connection), [`Timeout`](ErrorKind::Timeout), …).
    pub async fn publish(&self, message: &M) -> Result<String, Error> {
        let fields = Fields::encode_fields(message)?;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&*self.name);
        if let Some(max_len) = self.max_len {
            cmd.arg("MAXLEN").arg("~").arg(max_len);
        }
        cmd.arg("*");
        if fields.is_empty() {
            // A stream entry needs at least one field.
            cmd.arg(EMPTY_FIELD).arg("");
        }
        for (field, value) in &fields {
            cmd.arg(field).arg(value);
        }
        self.store.command(&cmd).await
    }

    /// How many messages the stream holds (`XLEN`).
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn len(&self) -> Result<u64, Error> {
        self.store
            .command(redis::cmd("XLEN").arg(&*self.name))
            .await
    }

    /// Whether the stream holds no message.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }

    /// A consumer named `consumer` in the group `group` (created when it first reads, if
    /// missing), with the defaults of [`Consumer`]; each consumer of a group gets different
    /// messages. Give every process a name of its own that stays the same across restarts
    /// (a host name, a pod name): a restarted consumer first finishes the messages it had been
    /// given before it stopped.
    pub fn consumer(&self, group: impl Into<String>, consumer: impl Into<String>) -> Consumer<M> {
        Consumer::new(self.clone(), group.into(), consumer.into())
    }
}

/// The field of a message whose struct has no field written (every field `None`).
const EMPTY_FIELD: &str = "_empty";

/// The fields of a stream entry as text, without the dead-letter bookkeeping fields and the
/// placeholder of an empty message. `None` when a value is not UTF-8 text.
fn text_fields(map: HashMap<String, redis::Value>) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::with_capacity(map.len());
    for (field, value) in map {
        if field == EMPTY_FIELD {
            continue;
        }
        let text = match value {
            redis::Value::BulkString(bytes) => String::from_utf8(bytes).ok()?,
            redis::Value::SimpleString(text) => text,
            redis::Value::Int(n) => n.to_string(),
            _ => return None,
        };
        fields.push((field, text));
    }
    Some(fields)
}
