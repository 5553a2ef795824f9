//! Typed sets, sorted sets and queues under typed keys, single hash fields, `EXISTS` and
//! `EXPIRE`: the Redis structures services use beside plain values, shared by every instance
//! through the far tier's [`Structures`](crate::store::Structures), or kept in process
//! without a far tier.
//!
//! A key type names the structure and its members: `K::Value` is the member (or item) type,
//! encoded with `K::Codec` (use [`Text`](crate::codec::Text) for members other services write
//! as plain strings or numbers, [`Json`](crate::codec::Json) for JSON jobs), and the key type's
//! TTL is given to a structure when a write creates it.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::Cache;
use crate::codec::Codec;
use crate::error::{Error, ErrorKind};
use crate::key::CacheKey;
use crate::stats::{Counter, NamespaceId};
use crate::store::{Op, Reply, Structures};

impl Cache {
    /// The set under `key`, whose members are `K::Value`s (online users, the unique viewers
    /// of an offer).
    pub fn set_of<K: CacheKey>(&self, key: &K) -> SetOf<K> {
        SetOf(Handle::new(self, key))
    }

    /// The sorted set under `key`: `K::Value` members with scores (trending items, a
    /// leaderboard).
    pub fn sorted_set<K: CacheKey>(&self, key: &K) -> SortedSet<K> {
        SortedSet(Handle::new(self, key))
    }

    /// The list under `key`, used as a first-in first-out queue of `K::Value` jobs.
    pub fn queue<K: CacheKey>(&self, key: &K) -> Queue<K> {
        Queue {
            handle: Handle::new(self, key),
            dead_letter: None,
        }
    }

    /// Whether anything is stored under `key`: a value, a counter, a lease or a structure.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails: unlike a read, this answers a question whose wrong
    /// answer the caller acts on.
    pub async fn exists<K: CacheKey>(&self, key: &K) -> Result<bool, Error> {
        if self.inner.far.is_none()
            && let Some(near) = &self.inner.near
            && near
                .get(key)
                .is_some_and(|(v, _)| v.expires_at() > self.inner.clock.now_nanos())
        {
            return Ok(true);
        }
        let handle = Handle::<K>::new(self, key);
        let key = handle.key.clone();
        handle.bool(Op::Exists { key }).await
    }

    /// Gives what is stored under `key` (value, counter or structure) `ttl` from now; returns
    /// whether there was anything. The in-process copy of a value is dropped, to be read again
    /// with its new expiry.
    ///
    /// # Errors
    ///
    /// As [`exists`](Self::exists).
    pub async fn expire<K: CacheKey>(&self, key: &K, ttl: Duration) -> Result<bool, Error> {
        if self.inner.far.is_none()
            && let Some(near) = &self.inner.near
            && let Some((entry, _)) = near.get(key)
            && entry.expires_at() > self.inner.clock.now_nanos()
        {
            let tags = super::write::entry_tags(key, entry.value().map(|v| &**v), &[]);
            self.write_near(key.clone(), entry.into_value(), Some(ttl), &tags);
            return Ok(true);
        }
        if let Some(near) = &self.inner.near {
            near.remove(key);
        }
        let handle = Handle::<K>::new(self, key);
        let key = handle.key.clone();
        handle.bool(Op::Expire { key, ttl }).await
    }

    /// One field of the hash-shaped value under `key` (a [`Fields`](crate::codec::Fields)
    /// value), read alone (`HGET`), parsed from its text.
    ///
    /// # Errors
    ///
    /// As [`exists`](Self::exists); of kind [`Codec`](ErrorKind::Codec) when the field does not
    /// parse as `T`.
    pub async fn hash_field<K, T>(&self, key: &K, field: &str) -> Result<Option<T>, Error>
    where
        K: CacheKey,
        T: std::str::FromStr<Err: std::fmt::Display>,
    {
        let text = match &self.inner.far {
            Some(_) => {
                let reply = Handle::<K>::at(self, key.render())
                    .one(Op::HashGet {
                        key: key.render(),
                        field: field.to_owned(),
                    })
                    .await?;
                match reply {
                    Reply::Bytes(bytes) => Some(String::from_utf8(bytes).map_err(|e| {
                        Error::decode("fields", format!("field {field} is not UTF-8: {e}"))
                    })?),
                    _ => None,
                }
            }
            None => self.near_fields(key)?.and_then(|(fields, _)| {
                fields.into_iter().find(|(n, _)| n == field).map(|(_, v)| v)
            }),
        };
        text.map(|text| {
            text.parse::<T>()
                .map_err(|e| Error::decode("fields", format!("field {field} = {text:?}: {e}")))
        })
        .transpose()
    }

    /// Writes some fields of the hash-shaped value under `key` (`HSET`), the others and the
    /// expiry kept; returns whether there was a value (nothing is written without one, so no
    /// partial value is ever created). The in-process copy is dropped, to be read whole again.
    ///
    /// # Errors
    ///
    /// As [`exists`](Self::exists); of kind [`Codec`](ErrorKind::Codec) when, in a cache
    /// without a far tier, the new fields do not make a valid value.
    pub async fn set_hash_fields<K: CacheKey>(
        &self,
        key: &K,
        fields: &[(&str, &dyn std::fmt::Display)],
    ) -> Result<bool, Error> {
        let written: Vec<(String, Vec<u8>)> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.to_string().into_bytes()))
            .collect();
        if self.inner.far.is_none() {
            let Some((mut current, expires_at)) = self.near_fields(key)? else {
                return Ok(false);
            };
            for (name, value) in written {
                let value = String::from_utf8(value).unwrap_or_default();
                match current.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = value,
                    None => current.push((name, value)),
                }
            }
            self.rewrite_near_fields(key, &current, expires_at)?;
            return Ok(true);
        }
        if let Some(near) = &self.inner.near {
            near.remove(key);
        }
        let existed = Handle::<K>::at(self, key.render())
            .bool(Op::HashSet {
                key: key.render(),
                fields: written,
            })
            .await?;
        if existed {
            self.announce_key(key).await;
        }
        Ok(existed)
    }

    /// Removes `fields` from the hash under `key` (`HDEL`); returns how many were there. For
    /// fields the value type may lack (`Option` fields): removing one it requires leaves a
    /// hash that no longer decodes, which a read then treats as undecodable (a counted miss,
    /// removed) — in a cache without a far tier that is refused with an error instead, and
    /// nothing changes.
    ///
    /// # Errors
    ///
    /// As [`set_hash_fields`](Self::set_hash_fields).
    pub async fn remove_hash_fields<K: CacheKey>(
        &self,
        key: &K,
        fields: &[&str],
    ) -> Result<u64, Error> {
        if self.inner.far.is_none() {
            let Some((current, expires_at)) = self.near_fields(key)? else {
                return Ok(0);
            };
            let before = current.len();
            let kept: HashFields = current
                .into_iter()
                .filter(|(name, _)| !fields.contains(&name.as_str()))
                .collect();
            let removed = (before - kept.len()) as u64;
            if removed == 0 {
                return Ok(0);
            }
            self.rewrite_near_fields(key, &kept, expires_at)?;
            return Ok(removed);
        }
        if let Some(near) = &self.inner.near {
            near.remove(key);
        }
        let op = Op::HashDelete {
            key: key.render(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        };
        let handle = Handle::<K>::at(self, key.render());
        let removed = match handle.one(op).await? {
            Reply::Int(n) => u64::try_from(n).unwrap_or(0),
            other => return Err(unexpected(&handle.key, &other)),
        };
        if removed > 0 {
            self.announce_key(key).await;
        }
        Ok(removed)
    }

    /// Replaces the in-process value under `key` by the one `fields` decode to, keeping its
    /// expiry (`expires_at`, clock nanos); nothing changes when they do not decode.
    fn rewrite_near_fields<K: CacheKey>(
        &self,
        key: &K,
        fields: &[(String, String)],
        expires_at: u64,
    ) -> Result<(), Error> {
        let value = Arc::new(<K::Codec as Codec<K::Value>>::decode_fields(fields)?);
        let now = self.inner.clock.now_nanos();
        let ttl = (expires_at != u64::MAX).then(|| Duration::from_nanos(expires_at - now));
        let tags = super::write::entry_tags(key, Some(&value), &[]);
        self.write_near(key.clone(), Some(value), ttl, &tags);
        Ok(())
    }

    /// The fields of the live in-process value under `key`, with its expiry.
    fn near_fields<K: CacheKey>(&self, key: &K) -> Result<Option<(HashFields, u64)>, Error> {
        let Some(near) = &self.inner.near else {
            return Ok(None);
        };
        let Some((entry, _)) = near.get(key) else {
            return Ok(None);
        };
        let expires_at = entry.expires_at();
        if expires_at <= self.inner.clock.now_nanos() {
            return Ok(None);
        }
        let Some(value) = entry.value() else {
            return Ok(None);
        };
        let fields = <K::Codec as Codec<K::Value>>::encode_fields(value)?;
        Ok(Some((fields, expires_at)))
    }

    /// Where structures live: the far tier's [`Structures`] when there is a far tier (an
    /// error when it has none), else the in-process table.
    pub(super) fn structures(&self) -> Result<&dyn Structures, Error> {
        match &self.inner.far {
            Some(far) => far.store.structures().ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "the far tier {:?} keeps no sets, sorted sets, lists or hash fields; use \
                         a store that implements Structures, such as RedisStore",
                        far.store
                    ),
                )
            }),
            None => Ok(&self.inner.local),
        }
    }
}

/// The fields of a hash-shaped value, as its codec writes them.
type HashFields = Vec<(String, String)>;

/// A rendered key of type `K` with what its ops need.
struct Handle<K> {
    cache: Cache,
    key: String,
    ttl: Option<Duration>,
    ns: NamespaceId,
    key_type: PhantomData<fn() -> K>,
}

impl<K> Clone for Handle<K> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            key: self.key.clone(),
            ttl: self.ttl,
            ns: self.ns,
            key_type: PhantomData,
        }
    }
}

impl<K: CacheKey> Handle<K> {
    fn new(cache: &Cache, key: &K) -> Self {
        Self::at(cache, key.render())
    }

    fn at(cache: &Cache, key: String) -> Self {
        Self {
            ns: cache.inner.stats.namespace(K::NAMESPACE),
            cache: cache.clone(),
            key,
            ttl: K::POLICY.time_to_live(),
            key_type: PhantomData,
        }
    }

    fn encode(value: &K::Value) -> Result<Vec<u8>, Error> {
        <K::Codec as Codec<K::Value>>::encode(value)
    }

    /// A member read back, or `None` (counted, logged) when it does not decode.
    fn decode(&self, bytes: &[u8]) -> Option<K::Value> {
        match <K::Codec as Codec<K::Value>>::decode(bytes) {
            Ok(value) => Some(value),
            Err(e) => {
                self.cache.inner.stats.incr(self.ns, Counter::DecodeError);
                tracing::warn!(key = %self.key, error = %e, bytes = %String::from_utf8_lossy(bytes), "a member does not decode; skipped");
                None
            }
        }
    }

    async fn one(&self, op: Op) -> Result<Reply, Error> {
        let what = op.name();
        let ops = [op];
        let call = self.cache.structures()?.run(&ops);
        let mut replies = self.cache.far_call(self.ns, what, call).await?;
        replies.pop().ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                format!("no reply to {what} {}", self.key),
            )
        })
    }

    async fn int(&self, op: Op) -> Result<i64, Error> {
        match self.one(op).await? {
            Reply::Int(n) => Ok(n),
            Reply::Nil => Ok(0),
            other => Err(unexpected(&self.key, &other)),
        }
    }

    async fn count(&self, op: Op) -> Result<u64, Error> {
        Ok(u64::try_from(self.int(op).await?).unwrap_or(0))
    }

    async fn bool(&self, op: Op) -> Result<bool, Error> {
        match self.one(op).await? {
            Reply::Bool(b) => Ok(b),
            Reply::Int(n) => Ok(n > 0),
            other => Err(unexpected(&self.key, &other)),
        }
    }

    fn members(&self, list: Vec<Vec<u8>>) -> Vec<K::Value> {
        list.iter().filter_map(|m| self.decode(m)).collect()
    }
}

fn unexpected(key: &str, reply: &Reply) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("unexpected reply for {key}: {reply:?}"),
    )
}

/// A set of `K::Value` members under one key; see [`Cache::set_of`].
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cache_core::{Cache, CacheKey, codec::Text};
///
/// /// `offer:<id>:viewers`: the users who viewed an offer, as plain user ids.
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(key = "offer:{0}:viewers", ttl = "7d", value = u64, codec = Text)]
/// struct Viewers(u64);
///
/// let cache = Cache::new(1_000);
/// let viewers = cache.set_of(&Viewers(42));
/// assert!(viewers.add(&7).await?);
/// assert!(!viewers.add(&7).await?, "already a member");
/// viewers.add(&8).await?;
/// assert_eq!(viewers.len().await?, 2);
/// assert!(viewers.contains(&8).await?);
/// # Ok::<(), cache_core::Error>(())
/// # }).unwrap();
/// ```
pub struct SetOf<K>(Handle<K>);

impl<K: CacheKey> SetOf<K> {
    /// Adds `member`; returns whether it was new.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails, when the member does not encode, or (without a far
    /// tier) when the in-process table is full (kind [`Capacity`](ErrorKind::Capacity)).
    pub async fn add(&self, member: &K::Value) -> Result<bool, Error> {
        Ok(self.add_many(std::slice::from_ref(member)).await? == 1)
    }

    /// Adds `members`; returns how many were new.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn add_many(&self, members: &[K::Value]) -> Result<u64, Error> {
        let members = members
            .iter()
            .map(Handle::<K>::encode)
            .collect::<Result<_, _>>()?;
        self.0
            .count(Op::SetAdd {
                key: self.0.key.clone(),
                members,
                ttl: self.0.ttl,
            })
            .await
    }

    /// Removes `member`; returns whether it was there.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn remove(&self, member: &K::Value) -> Result<bool, Error> {
        let members = vec![Handle::<K>::encode(member)?];
        let key = self.0.key.clone();
        Ok(self.0.count(Op::SetRemove { key, members }).await? == 1)
    }

    /// Whether `member` is in the set.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn contains(&self, member: &K::Value) -> Result<bool, Error> {
        let member = Handle::<K>::encode(member)?;
        let key = self.0.key.clone();
        self.0.bool(Op::SetContains { key, member }).await
    }

    /// How many members the set has (`SCARD`).
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn len(&self) -> Result<u64, Error> {
        let key = self.0.key.clone();
        self.0.count(Op::SetLen { key }).await
    }

    /// Whether the set has no members.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }

    /// Every member, in no order (`SMEMBERS`: for sets small enough to read at once). Members
    /// that do not decode are skipped and counted as decode errors.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn members(&self) -> Result<Vec<K::Value>, Error> {
        let key = self.0.key.clone();
        match self.0.one(Op::SetMembers { key }).await? {
            Reply::List(list) => Ok(self.0.members(list)),
            other => Err(unexpected(&self.0.key, &other)),
        }
    }
}

/// A sorted set of `K::Value` members with scores under one key; see [`Cache::sorted_set`].
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cache_core::{Cache, CacheKey, codec::Text};
///
/// /// `leaderboard:referrals`: earnings per user id.
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(key = "leaderboard:referrals", ttl = "30d", value = u64, codec = Text)]
/// struct Referrals;
///
/// let cache = Cache::new(1_000);
/// let board = cache.sorted_set(&Referrals);
/// board.increment(&7, 120.0).await?;
/// board.increment(&9, 300.0).await?;
/// board.increment(&7, 50.0).await?;
/// assert_eq!(board.top(2).await?, vec![(9, 300.0), (7, 170.0)]);
/// assert_eq!(board.rank(&7).await?, Some(1), "second from the top");
/// # Ok::<(), cache_core::Error>(())
/// # }).unwrap();
/// ```
pub struct SortedSet<K>(Handle<K>);

impl<K: CacheKey> SortedSet<K> {
    /// Adds `by` to the score of `member` (0 when absent, `ZINCRBY`); returns the new score.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn increment(&self, member: &K::Value, by: f64) -> Result<f64, Error> {
        let op = Op::SortedIncrement {
            key: self.0.key.clone(),
            member: Handle::<K>::encode(member)?,
            by,
            ttl: self.0.ttl,
        };
        match self.0.one(op).await? {
            Reply::Float(score) => Ok(score),
            other => Err(unexpected(&self.0.key, &other)),
        }
    }

    /// Sets the score of `member`, adding it when absent (`ZADD`); returns the score.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`]; a NaN score is refused.
    pub async fn set_score(&self, member: &K::Value, score: f64) -> Result<f64, Error> {
        let op = Op::SortedAdd {
            key: self.0.key.clone(),
            member: Handle::<K>::encode(member)?,
            score,
            ttl: self.0.ttl,
        };
        match self.0.one(op).await? {
            Reply::Float(score) => Ok(score),
            other => Err(unexpected(&self.0.key, &other)),
        }
    }

    /// The `n` members with the highest scores, highest first, with their scores.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn top(&self, n: usize) -> Result<Vec<(K::Value, f64)>, Error> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let stop = i64::try_from(n).unwrap_or(i64::MAX) - 1;
        self.range(0, stop, true).await
    }

    /// The members ranked `start..=stop` (0 the first, negative counting from the last),
    /// highest score first when `descending`, with their scores (`ZRANGE ... WITHSCORES`).
    /// Members that do not decode are skipped and counted as decode errors.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn range(
        &self,
        start: i64,
        stop: i64,
        descending: bool,
    ) -> Result<Vec<(K::Value, f64)>, Error> {
        let op = Op::SortedRange {
            key: self.0.key.clone(),
            start,
            stop,
            descending,
        };
        match self.0.one(op).await? {
            Reply::Scored(list) => Ok(list
                .iter()
                .filter_map(|(m, s)| Some((self.0.decode(m)?, *s)))
                .collect()),
            other => Err(unexpected(&self.0.key, &other)),
        }
    }

    /// The place of `member` from the top (0 for the highest score); `None` when absent.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn rank(&self, member: &K::Value) -> Result<Option<u64>, Error> {
        let op = Op::SortedRank {
            key: self.0.key.clone(),
            member: Handle::<K>::encode(member)?,
            descending: true,
        };
        match self.0.one(op).await? {
            Reply::Int(rank) => Ok(u64::try_from(rank).ok()),
            Reply::Nil => Ok(None),
            other => Err(unexpected(&self.0.key, &other)),
        }
    }

    /// The score of `member`; `None` when absent.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn score(&self, member: &K::Value) -> Result<Option<f64>, Error> {
        let op = Op::SortedScore {
            key: self.0.key.clone(),
            member: Handle::<K>::encode(member)?,
        };
        match self.0.one(op).await? {
            Reply::Float(score) => Ok(Some(score)),
            Reply::Nil => Ok(None),
            other => Err(unexpected(&self.0.key, &other)),
        }
    }

    /// Removes `member`; returns whether it was there.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn remove(&self, member: &K::Value) -> Result<bool, Error> {
        let op = Op::SortedRemove {
            key: self.0.key.clone(),
            members: vec![Handle::<K>::encode(member)?],
        };
        Ok(self.0.count(op).await? == 1)
    }

    /// How many members the sorted set has (`ZCARD`).
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn len(&self) -> Result<u64, Error> {
        let key = self.0.key.clone();
        self.0.count(Op::SortedLen { key }).await
    }

    /// Whether the sorted set has no members.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }
}

/// A job that counts its own failed attempts, so that a [`Queue`] can retry it a bounded
/// number of times (as a `retry_count` field in the job's JSON does).
pub trait Attempts {
    /// How many times handling the job has failed.
    fn attempts(&self) -> u32;

    /// Records one more failed attempt.
    fn record_failure(&mut self);
}

/// What [`Queue::work_one`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Worked {
    /// The queue was empty.
    Empty,
    /// A job was handled.
    Done,
    /// Handling failed; the job went back to the end of the queue with its attempts.
    Requeued {
        /// Its failed attempts so far.
        attempts: u32,
    },
    /// Handling failed for the last allowed time; the job went to the dead-letter queue (or
    /// was dropped, and logged, without one).
    GaveUp {
        /// Its failed attempts.
        attempts: u32,
    },
}

/// A first-in first-out queue of `K::Value` jobs in a list under one key (`RPUSH` to the end,
/// `LPOP` from the front); see [`Cache::queue`].
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cache_core::{Cache, CacheKey, codec::Json};
/// use cache_core::{Attempts, Worked};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// struct Email { to: String, #[serde(default)] retry_count: u32 }
///
/// impl Attempts for Email {
///     fn attempts(&self) -> u32 { self.retry_count }
///     fn record_failure(&mut self) { self.retry_count += 1 }
/// }
///
/// /// `queue:emails`, JSON jobs as other services push them.
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(key = "queue:emails", ttl = "7d", value = Email, codec = Json)]
/// struct Emails;
///
/// let cache = Cache::new(1_000);
/// let queue = cache.queue(&Emails);
/// queue.push(&Email { to: "a@example.com".into(), retry_count: 0 }).await?;
/// let worked = queue.work_one(3, |email: Email| async move {
///     Err::<(), _>(format!("smtp refused {}", email.to))
/// }).await?;
/// assert_eq!(worked, Worked::Requeued { attempts: 1 });
/// assert_eq!(queue.len().await?, 1);
/// # Ok::<(), cache_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Queue<K> {
    handle: Handle<K>,
    dead_letter: Option<Handle<K>>,
}

impl<K: CacheKey> Queue<K> {
    /// Sends jobs that fail for the last allowed time, and items that do not decode, to the
    /// queue under `key` instead of dropping them.
    #[must_use]
    pub fn dead_letter(mut self, key: &K) -> Self {
        self.dead_letter = Some(Handle::new(&self.handle.cache, key));
        self
    }

    /// Appends `job`; returns the queue's length.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn push(&self, job: &K::Value) -> Result<u64, Error> {
        self.push_many(std::slice::from_ref(job)).await
    }

    /// Appends `jobs` in order; returns the queue's length.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn push_many(&self, jobs: &[K::Value]) -> Result<u64, Error> {
        let items = jobs
            .iter()
            .map(Handle::<K>::encode)
            .collect::<Result<_, _>>()?;
        self.handle
            .count(Op::ListPush {
                key: self.handle.key.clone(),
                items,
                ttl: self.handle.ttl,
            })
            .await
    }

    /// Takes the first job; `None` when the queue is empty. An item that does not decode is
    /// counted as a decode error and moved to the dead-letter queue (or logged with its bytes
    /// without one), and the next is taken.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn pop(&self) -> Result<Option<K::Value>, Error> {
        loop {
            let key = self.handle.key.clone();
            let bytes = match self.handle.one(Op::ListPop { key }).await? {
                Reply::Bytes(bytes) => bytes,
                Reply::Nil => return Ok(None),
                other => return Err(unexpected(&self.handle.key, &other)),
            };
            if let Some(job) = self.handle.decode(&bytes) {
                return Ok(Some(job));
            }
            if let Some(dead) = &self.dead_letter {
                dead.count(Op::ListPush {
                    key: dead.key.clone(),
                    items: vec![bytes],
                    ttl: dead.ttl,
                })
                .await?;
            }
        }
    }

    /// How many jobs wait (`LLEN`).
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn len(&self) -> Result<u64, Error> {
        let key = self.handle.key.clone();
        self.handle.count(Op::ListLen { key }).await
    }

    /// Whether no job waits.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }

    /// The jobs at `start..=stop` (0 the first, negative counting from the last), left in the
    /// queue (`LRANGE`).
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`].
    pub async fn peek(&self, start: i64, stop: i64) -> Result<Vec<K::Value>, Error> {
        let key = self.handle.key.clone();
        match self.handle.one(Op::ListRange { key, start, stop }).await? {
            Reply::List(list) => Ok(self.handle.members(list)),
            other => Err(unexpected(&self.handle.key, &other)),
        }
    }
}

impl<K: CacheKey<Value: Attempts + Clone>> Queue<K> {
    /// Takes the first job and runs `handle` on it. When it fails, the job records the failure
    /// and goes back to the end of the queue, until it has failed `max_attempts` times: then
    /// it goes to the dead-letter queue (or is dropped and logged without one).
    ///
    /// A process that dies while handling a job loses that job: it was popped. Where that
    /// matters, use a Redis stream with a consumer group, which keeps every message until it
    /// is acknowledged.
    ///
    /// # Errors
    ///
    /// As [`SetOf::add`]; the handler's own error is not one (it is logged and retried).
    pub async fn work_one<F, Fut, E>(&self, max_attempts: u32, handle: F) -> Result<Worked, Error>
    where
        F: FnOnce(K::Value) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let Some(job) = self.pop().await? else {
            return Ok(Worked::Empty);
        };
        let mut retry = job.clone();
        match handle(job).await {
            Ok(()) => Ok(Worked::Done),
            Err(e) => {
                retry.record_failure();
                let attempts = retry.attempts();
                tracing::warn!(key = %self.handle.key, attempts, error = %e, "a job failed");
                if attempts < max_attempts {
                    self.push(&retry).await?;
                    return Ok(Worked::Requeued { attempts });
                }
                match &self.dead_letter {
                    Some(dead) => {
                        dead.count(Op::ListPush {
                            key: dead.key.clone(),
                            items: vec![Handle::<K>::encode(&retry)?],
                            ttl: dead.ttl,
                        })
                        .await?;
                    }
                    None => {
                        tracing::error!(key = %self.handle.key, attempts, "a job failed for the last time and is dropped");
                    }
                }
                Ok(Worked::GaveUp { attempts })
            }
        }
    }
}

macro_rules! handle_debug {
    ($($name:ident),*) => {$(
        impl<K> std::fmt::Debug for $name<K> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.key()).finish()
            }
        }
    )*};
}

impl<K> SetOf<K> {
    /// The rendered key.
    pub fn key(&self) -> &str {
        &self.0.key
    }
}

impl<K> SortedSet<K> {
    /// The rendered key.
    pub fn key(&self) -> &str {
        &self.0.key
    }
}

impl<K> Queue<K> {
    /// The rendered key.
    pub fn key(&self) -> &str {
        &self.handle.key
    }
}

handle_debug!(SetOf, SortedSet, Queue);
