//! [`Consumer`]: one member of a stream's consumer group.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamPendingReply, StreamReadReply,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Stream, text_fields};
use crate::codec::{Codec, Fields};
use crate::error::Error;
use crate::store::redis::{reply_code, store_error};

/// Where a group that does not exist yet starts reading when a consumer creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartFrom {
    /// At the first message the stream holds, so that messages published before any consumer
    /// ran are handled too (the default).
    #[default]
    Beginning,
    /// At the next message published.
    NewMessages,
}

/// A message handed to a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<M> {
    /// The stream id Redis gave the message.
    pub id: String,
    /// The message.
    pub message: M,
    /// How many times the group has handed this message to a consumer, this time included: 1
    /// the first time, more after a failed handler or a consumer that died with it.
    pub deliveries: u64,
}

/// What a consumer did with the messages it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// Handled and acknowledged.
    pub acked: u64,
    /// Handler calls that failed (each one left its message pending, to be delivered again).
    pub failed: u64,
    /// Moved to the dead-letter stream and acknowledged: failed on their last delivery,
    /// delivered more often than allowed, or undecodable.
    pub dead_lettered: u64,
}

/// One consumer of a consumer group, reading a [`Stream`] of `M`s.
///
/// Each message goes to one consumer of the group. [`run`](Self::run) (or
/// [`poll`](Self::poll), one round at a time) hands every message to the handler, then:
///
/// - on success, acknowledges it (`XACK`): the group forgets it;
/// - on failure, leaves it pending; after [`claim_idle`](Self::claim_idle) without an
///   acknowledgement any consumer of the group claims it (`XAUTOCLAIM`) and handles it again;
/// - when it failed on its [`max_deliveries`](Self::max_deliveries)-th delivery, or has been
///   delivered more often than that (its consumers kept dying with it), or does not decode as
///   an `M`, it is copied to the [dead-letter stream](Self::dead_letter) with the fields
///   `_source_id`, `_deliveries` and `_reason` added, and acknowledged.
///
/// A consumer first finishes the messages its name was given before it last stopped (read
/// back with `XREADGROUP … 0`), then claims the stale messages of others, then reads new ones
/// with `XREADGROUP … >` on a connection of its own, blocking up to [`block`](Self::block).
/// The group is created (`XGROUP CREATE … MKSTREAM`) when it does not exist.
pub struct Consumer<M> {
    stream: Stream<M>,
    group: String,
    name: String,
    batch: usize,
    block: Duration,
    claim_idle: Duration,
    max_deliveries: u64,
    dead_letter: String,
    start: StartFrom,
    /// The connection for `XREADGROUP`, made when first needed and dropped after an error.
    connection: Option<crate::store::redis::OwnConnection>,
    group_ready: bool,
    /// Whether this consumer's own pending messages are still to be read back, and after
    /// which id.
    recovering: Option<String>,
    claim_cursor: String,
    last_claim: Option<Instant>,
}

impl<M> std::fmt::Debug for Consumer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.stream.name)
            .field("group", &self.group)
            .field("name", &self.name)
            .field("dead_letter", &self.dead_letter)
            .finish_non_exhaustive()
    }
}

/// A message as read, before it is decoded.
struct Entry {
    id: String,
    /// `None` when a value is not UTF-8 text.
    fields: Option<Vec<(String, String)>>,
    /// Whether the message was deleted from the stream (trimmed, say) while it was pending.
    deleted: bool,
    deliveries: u64,
}

impl<M: Serialize + DeserializeOwned> Consumer<M> {
    pub(super) fn new(stream: Stream<M>, group: String, name: String) -> Self {
        let dead_letter = format!("{}:dead", stream.name());
        Self {
            stream,
            group,
            name,
            batch: 10,
            block: Duration::from_secs(1),
            claim_idle: Duration::from_secs(30),
            max_deliveries: 5,
            dead_letter,
            start: StartFrom::default(),
            connection: None,
            group_ready: false,
            recovering: Some("0".to_owned()),
            claim_cursor: "0-0".to_owned(),
            last_claim: None,
        }
    }

    /// How many messages one read asks for (`COUNT`; default 10, at least 1).
    #[must_use]
    pub fn batch(mut self, messages: usize) -> Self {
        self.batch = messages.max(1);
        self
    }

    /// How long a read waits for a new message (`BLOCK`; default 1 s, at least 1 ms). A
    /// shutdown does not wait for it.
    #[must_use]
    pub fn block(mut self, wait: Duration) -> Self {
        self.block = wait.max(Duration::from_millis(1));
        self
    }

    /// How long a message stays pending without an acknowledgement before another consumer
    /// (or this one) takes it over (default 30 s). Longer than the slowest handler call, or a
    /// slow message is handled twice at once.
    #[must_use]
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle.max(Duration::from_millis(1));
        self
    }

    /// How many deliveries a message gets before it goes to the dead-letter stream (default 5,
    /// at least 1).
    #[must_use]
    pub fn max_deliveries(mut self, deliveries: u64) -> Self {
        self.max_deliveries = deliveries.max(1);
        self
    }

    /// The stream that failed messages are moved to (default `<stream>:dead`).
    #[must_use]
    pub fn dead_letter(mut self, stream: impl Into<String>) -> Self {
        self.dead_letter = stream.into();
        self
    }

    /// Where the group starts when this consumer creates it (default
    /// [`Beginning`](StartFrom::Beginning)).
    #[must_use]
    pub fn start_from(mut self, start: StartFrom) -> Self {
        self.start = start;
        self
    }

    /// The consumer's name in its group.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many of the group's messages are delivered and not yet acknowledged, by any of its
    /// consumers (`XPENDING`).
    ///
    /// # Errors
    ///
    /// The store's error; none when the group does not exist yet (0 pending).
    pub async fn pending(&self) -> Result<u64, Error> {
        let reply: Result<StreamPendingReply, Error> = self
            .stream
            .store
            .command(
                redis::cmd("XPENDING")
                    .arg(self.stream.name())
                    .arg(&self.group),
            )
            .await;
        match reply {
            Ok(reply) => Ok(u64::try_from(reply.count()).unwrap_or(u64::MAX)),
            Err(e) if reply_code(&e) == Some("NOGROUP") => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Handles messages until `shutdown` completes, then returns what was done. A batch that
    /// is being handled when `shutdown` completes is finished first; a read that is waiting
    /// for new messages is given up (a message it was being handed stays pending under this
    /// consumer's name, and is handled when the consumer runs again or claimed by another).
    ///
    /// Store failures do not end the run: they are logged, and the consumer retries with a
    /// backoff from 100 ms to 5 s.
    pub async fn run<F, Fut, E>(
        mut self,
        mut handler: F,
        shutdown: impl Future<Output = ()>,
    ) -> Report
    where
        F: FnMut(Delivery<M>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut report = Report::default();
        let mut backoff = Duration::from_millis(100);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let fetched = tokio::select! {
                biased;
                () = &mut shutdown => break,
                fetched = self.fetch() => fetched,
            };
            let result = match fetched {
                Ok(entries) => self.handle(entries, &mut handler, &mut report).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(stream = %self.stream.name(), group = %self.group, consumer = %self.name, error = %e, "stream consumer: retrying after a store failure");
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        report
    }

    /// One round: reads one batch (this consumer's own unfinished messages first, then
    /// messages idle past [`claim_idle`](Self::claim_idle), then new ones, waiting up to
    /// [`block`](Self::block) for them) and handles it.
    ///
    /// # Errors
    ///
    /// The store's error; messages not acknowledged by then stay pending.
    pub async fn poll<F, Fut, E>(&mut self, mut handler: F) -> Result<Report, Error>
    where
        F: FnMut(Delivery<M>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut report = Report::default();
        let entries = self.fetch().await?;
        self.handle(entries, &mut handler, &mut report).await?;
        Ok(report)
    }

    async fn fetch(&mut self) -> Result<Vec<Entry>, Error> {
        if !self.group_ready {
            self.create_group().await?;
        }
        if let Some(after) = self.recovering.clone() {
            let mut entries = self.read(&after, None).await?;
            match entries.last() {
                None => self.recovering = None,
                Some(last) => {
                    self.recovering = Some(last.id.clone());
                    self.count_deliveries(&mut entries).await?;
                    return Ok(entries);
                }
            }
        }
        let claim_every = (self.claim_idle / 2).max(Duration::from_millis(50));
        if self.last_claim.is_none_or(|at| at.elapsed() >= claim_every) {
            let mut entries = self.claim().await?;
            if !entries.is_empty() {
                self.count_deliveries(&mut entries).await?;
                return Ok(entries);
            }
        }
        self.read(">", Some(self.block)).await
    }

    /// `XGROUP CREATE … MKSTREAM`, where the group is missing.
    async fn create_group(&mut self) -> Result<(), Error> {
        let start = match self.start {
            StartFrom::Beginning => "0",
            StartFrom::NewMessages => "$",
        };
        let created: Result<(), Error> = self
            .stream
            .store
            .command(
                redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(self.stream.name())
                    .arg(&self.group)
                    .arg(start)
                    .arg("MKSTREAM"),
            )
            .await;
        match created {
            Err(e) if reply_code(&e) != Some("BUSYGROUP") => return Err(e),
            _ => self.group_ready = true,
        }
        Ok(())
    }

    /// `XREADGROUP` after `id` (`>` for new messages), on the consumer's own connection.
    async fn read(&mut self, id: &str, block: Option<Duration>) -> Result<Vec<Entry>, Error> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.name)
            .arg("COUNT")
            .arg(self.batch);
        if let Some(block) = block {
            cmd.arg("BLOCK")
                .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX));
        }
        cmd.arg("STREAMS").arg(self.stream.name()).arg(id);
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self
                .connection
                .insert(self.stream.store.dedicated_connection(self.block).await?),
        };
        let reply: Result<Option<StreamReadReply>, _> = cmd.query_async(connection).await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                if e.code() == Some("NOGROUP") {
                    // The group (or the stream) was deleted: create it again on the next read.
                    self.group_ready = false;
                } else {
                    self.connection = None;
                }
                return Err(store_error(e));
            }
        };
        let deliveries = u64::from(id == ">");
        Ok(reply
            .into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|key| key.ids)
            .map(|message| entry(message, deliveries))
            .collect())
    }

    /// `XAUTOCLAIM`: takes over messages idle past `claim_idle`, walking the group's pending
    /// list a batch at a time.
    async fn claim(&mut self) -> Result<Vec<Entry>, Error> {
        let reply: StreamAutoClaimReply = self
            .stream
            .store
            .command(
                redis::cmd("XAUTOCLAIM")
                    .arg(self.stream.name())
                    .arg(&self.group)
                    .arg(&self.name)
                    .arg(u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX))
                    .arg(&self.claim_cursor)
                    .arg("COUNT")
                    .arg(self.batch),
            )
            .await?;
        // A walk that is not finished goes on at the next round; a finished one waits.
        self.last_claim = (reply.next_stream_id == "0-0").then(Instant::now);
        self.claim_cursor = reply.next_stream_id;
        Ok(reply
            .claimed
            .into_iter()
            .map(|message| entry(message, 0))
            .collect())
    }

    /// Fills in how often each of `entries` (this consumer's pending messages) was delivered,
    /// from `XPENDING`.
    async fn count_deliveries(&self, entries: &mut [Entry]) -> Result<(), Error> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(());
        };
        let reply: StreamPendingCountReply = self
            .stream
            .store
            .command(
                redis::cmd("XPENDING")
                    .arg(self.stream.name())
                    .arg(&self.group)
                    .arg(&first.id)
                    .arg(&last.id)
                    .arg(entries.len())
                    .arg(&self.name),
            )
            .await?;
        let counts: HashMap<String, usize> = reply
            .ids
            .into_iter()
            .map(|pending| (pending.id, pending.times_delivered))
            .collect();
        for entry in entries {
            entry.deliveries = counts
                .get(&entry.id)
                .map_or(1, |&n| u64::try_from(n).unwrap_or(u64::MAX));
        }
        Ok(())
    }

    async fn handle<F, Fut, E>(
        &mut self,
        entries: Vec<Entry>,
        handler: &mut F,
        report: &mut Report,
    ) -> Result<(), Error>
    where
        F: FnMut(Delivery<M>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        for entry in entries {
            if entry.deleted {
                // Deleted from the stream while it was pending: nothing is left to handle.
                self.ack(&entry.id).await?;
                continue;
            }
            let Some(fields) = &entry.fields else {
                self.bury(&entry, "a field is not UTF-8 text", report)
                    .await?;
                continue;
            };
            if entry.deliveries > self.max_deliveries {
                let reason = format!(
                    "delivered {} times without an acknowledgement",
                    entry.deliveries
                );
                self.bury(&entry, &reason, report).await?;
                continue;
            }
            let message = match <Fields as Codec<M>>::decode_fields(fields) {
                Ok(message) => message,
                Err(e) => {
                    self.bury(&entry, &format!("undecodable: {}", with_causes(&e)), report)
                        .await?;
                    continue;
                }
            };
            let delivery = Delivery {
                id: entry.id.clone(),
                message,
                deliveries: entry.deliveries,
            };
            match handler(delivery).await {
                Ok(()) => {
                    self.ack(&entry.id).await?;
                    report.acked += 1;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(stream = %self.stream.name(), id = %entry.id, deliveries = entry.deliveries, error = %e, "stream message handler failed");
                    if entry.deliveries >= self.max_deliveries {
                        self.bury(&entry, &e.to_string(), report).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn ack(&self, id: &str) -> Result<(), Error> {
        let _: u64 = self
            .stream
            .store
            .command(
                redis::cmd("XACK")
                    .arg(self.stream.name())
                    .arg(&self.group)
                    .arg(id),
            )
            .await?;
        Ok(())
    }

    /// Copies `entry` to the dead-letter stream and acknowledges it: in one transaction where
    /// both streams share a slot (always on one server), else copied first and acknowledged
    /// after, so that a failure in between leaves a duplicate and loses nothing.
    async fn bury(&self, entry: &Entry, reason: &str, report: &mut Report) -> Result<(), Error> {
        tracing::error!(stream = %self.stream.name(), id = %entry.id, deliveries = entry.deliveries, reason, dead_letter = %self.dead_letter, "stream message moved to the dead-letter stream");
        let mut add = redis::cmd("XADD");
        add.arg(&self.dead_letter).arg("*");
        for (field, value) in entry.fields.iter().flatten() {
            add.arg(field).arg(value);
        }
        add.arg("_source_id")
            .arg(&entry.id)
            .arg("_deliveries")
            .arg(entry.deliveries)
            .arg("_reason")
            .arg(reason);
        let store = &self.stream.store;
        if store.in_one_slot([self.dead_letter.as_str(), self.stream.name()]) {
            let mut pipe = redis::pipe();
            pipe.atomic().add_command(add).ignore();
            pipe.cmd("XACK")
                .arg(self.stream.name())
                .arg(&self.group)
                .arg(&entry.id)
                .ignore();
            let () = store.pipeline(&pipe).await?;
        } else {
            let _: String = store.command(&add).await?;
            self.ack(&entry.id).await?;
        }
        report.dead_lettered += 1;
        Ok(())
    }
}

/// `e` and its sources, as one line.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn entry(message: StreamId, deliveries: u64) -> Entry {
    Entry {
        deleted: message.map.is_empty(),
        fields: text_fields(message.map),
        id: message.id,
        deliveries,
    }
}
