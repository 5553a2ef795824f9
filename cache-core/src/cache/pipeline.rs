//! [`Pipeline`]: several different typed operations sent to the far tier in one round trip
//! (one Redis pipeline), each answer read back typed from its [`Slot`].

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use super::Cache;
use crate::codec::Codec;
use crate::error::{Error, ErrorKind};
use crate::key::CacheKey;
use crate::stats::Counter;
use crate::store::{Op, Reply};

type Answer = Result<Box<dyn Any + Send>, Error>;
/// Decodes a batched op's reply; also names a key that held an undecodable value, to delete.
type Decode = Box<dyn FnOnce(&Cache, Reply) -> (Answer, Option<String>) + Send>;
type Deferred = Box<dyn FnOnce(Cache) -> Pin<Box<dyn Future<Output = Answer> + Send>> + Send>;

/// One queued operation: sent in the batch and decoded from its reply, or run on its own
/// after the batch (values answered in process, hash-shaped values, caches without a far tier
/// that batches).
enum Entry {
    Batched(Op, Decode),
    Alone(Deferred),
}

/// Where the answer of one queued operation will be, typed.
pub struct Slot<T> {
    pipeline: u64,
    index: usize,
    answer: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Slot").field(&self.index).finish()
    }
}

/// Several different operations in one round trip to the far tier; see [`Cache::pipeline`].
///
/// Each operation keeps its own semantics (a get is answered in process when it can, and its
/// far answer kept there; an insert writes both tiers; an undecodable value is a counted miss),
/// and each is atomic on its own; the batch as a whole is not a transaction. Without a far tier
/// the operations simply run one after the other.
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cache_core::{Cache, CacheKey, codec::Text};
///
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(namespace = "user", ttl = "10m", value = String)]
/// struct User(u64);
///
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(key = "video:{0}:views", ttl = "1d", value = i64, codec = Text)]
/// struct Views(u64);
///
/// let cache = Cache::new(1_000);
/// cache.insert(User(1), "ada".to_owned()).await;
///
/// let mut pipe = cache.pipeline();
/// let user = pipe.get(&User(1));
/// let other = pipe.get(&User(2));
/// let views = pipe.increment(&Views(9), 1);
/// let mut done = pipe.run().await?;
/// assert_eq!(done.take(user)?.as_deref().map(String::as_str), Some("ada"));
/// assert!(done.take(other)?.is_none());
/// assert_eq!(done.take(views)?, 1);
/// # Ok::<(), cache_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Pipeline {
    id: u64,
    cache: Cache,
    entries: Vec<Entry>,
}

/// The answers of a [`Pipeline`], taken by their slots.
pub struct Answers {
    pipeline: u64,
    answers: Vec<Option<Answer>>,
}

/// Tells pipelines apart, so that a slot is only ever read from its own answers.
static PIPELINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Cache {
    /// Starts a [`Pipeline`]: operations queued on it go to the far tier in one round trip.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline {
            id: PIPELINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            cache: self.clone(),
            entries: Vec::new(),
        }
    }
}

/// What `read` takes from `reply`; a reply of another shape is a protocol error naming it.
fn expect<T>(read: fn(Reply) -> Result<T, Reply>, reply: Reply) -> Result<T, Error> {
    read(reply)
        .map_err(|other| Error::new(ErrorKind::Protocol, format!("unexpected reply {other:?}")))
}

fn boxed<T: Send + 'static>(value: T) -> Answer {
    Ok(Box::new(value))
}

impl Pipeline {
    fn batches(&self) -> bool {
        self.cache
            .inner
            .far
            .as_ref()
            .is_some_and(|far| far.store.structures().is_some())
    }

    fn slot<T>(&mut self, entry: Entry) -> Slot<T> {
        self.entries.push(entry);
        Slot {
            pipeline: self.id,
            index: self.entries.len() - 1,
            answer: PhantomData,
        }
    }

    fn alone<T, F, Fut>(&mut self, run: F) -> Slot<T>
    where
        T: Send + 'static,
        F: FnOnce(Cache) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        self.slot(Entry::Alone(Box::new(move |cache| {
            Box::pin(async move { run(cache).await.and_then(boxed) })
        })))
    }

    /// Queues a read of `key`, answered as [`Cache::get`] answers (in process first).
    pub fn get<K: CacheKey>(&mut self, key: &K) -> Slot<Option<Arc<K::Value>>> {
        let hash = <K::Codec as Codec<K::Value>>::HASH;
        let near = self.cache.get_in_process(key);
        if near.is_some() || hash || !self.batches() {
            let key = key.clone();
            return self.alone(move |cache| async move {
                match near {
                    Some(value) => Ok(Some(value)),
                    None => Ok(cache.get(&key).await),
                }
            });
        }
        let key = key.clone();
        let op = Op::Get { key: key.render() };
        self.slot(Entry::Batched(
            op,
            Box::new(move |cache, reply| {
                let ns = cache.inner.stats.namespace(K::NAMESPACE);
                let mut undecodable = None;
                let value = match reply {
                    Reply::Bytes(bytes) => match <K::Codec as Codec<K::Value>>::decode(&bytes) {
                        Ok(value) => {
                            let value = Arc::new(value);
                            cache.keep_far_copy(&key, &value);
                            Some(value)
                        }
                        Err(e) => {
                            cache.inner.stats.incr(ns, Counter::DecodeError);
                            tracing::debug!(key = %key.render(), error = %e, "cached entry does not decode; a miss, deleted");
                            undecodable = Some(key.render());
                            None
                        }
                    },
                    _ => None,
                };
                let counter = if value.is_some() { Counter::Hit } else { Counter::Miss };
                cache.inner.stats.incr(ns, counter);
                (boxed(value), undecodable)
            }),
        ))
    }

    /// Queues a write of `value` under `key`, as [`Cache::insert`] writes (both tiers, the
    /// key type's TTL and tags).
    pub fn insert<K: CacheKey>(&mut self, key: K, value: K::Value) -> Slot<()> {
        let encoded = <K::Codec as Codec<K::Value>>::encode(&value);
        let tagged = !super::write::entry_tags(&key, Some(&value), &[]).is_empty();
        if <K::Codec as Codec<K::Value>>::HASH || tagged || encoded.is_err() || !self.batches() {
            return self.alone(move |cache| async move {
                cache.insert(key, value).await;
                Ok(())
            });
        }
        let ttl = K::POLICY.entry_ttl(fastrand::f64());
        let op = Op::Set {
            key: key.render(),
            value: encoded.unwrap_or_default(),
            ttl,
        };
        // Kept in process once the far tier took it, as an insert's value would be.
        self.slot(Entry::Batched(
            op,
            Box::new(move |cache, _| {
                let ns = cache.inner.stats.namespace(K::NAMESPACE);
                cache.inner.stats.incr(ns, Counter::Insert);
                cache.write_near(key, Some(Arc::new(value)), ttl, &[]);
                (boxed(()), None)
            }),
        ))
    }

    /// Queues the removal of `key` from both tiers, as [`Cache::invalidate`]; the answer says
    /// whether the far tier held it.
    pub fn invalidate<K: CacheKey>(&mut self, key: &K) -> Slot<bool> {
        if !self.batches() {
            let key = key.clone();
            return self.alone(move |cache| async move {
                cache.invalidate(&key).await;
                Ok(true)
            });
        }
        let op = Op::Delete { key: key.render() };
        let key = key.clone();
        self.slot(Entry::Batched(
            op,
            Box::new(move |cache, reply| {
                if let Some(near) = &cache.inner.near {
                    near.remove(&key);
                }
                let ns = cache.inner.stats.namespace(K::NAMESPACE);
                cache.inner.stats.incr(ns, Counter::Invalidation);
                (boxed(reply == Reply::Bool(true)), None)
            }),
        ))
    }

    /// Queues [`Cache::increment`] of the counter under `key`.
    pub fn increment<K: CacheKey<Value = i64>>(&mut self, key: &K, by: i64) -> Slot<i64> {
        let op = Op::Increment {
            key: key.render(),
            by,
            ttl: K::POLICY.time_to_live(),
        };
        self.structure(op, |reply| match reply {
            Reply::Int(n) => Ok(n),
            other => Err(other),
        })
    }

    /// Queues [`Cache::exists`] of `key`.
    pub fn exists<K: CacheKey>(&mut self, key: &K) -> Slot<bool> {
        if self.cache.get_in_process(key).is_some() {
            return self.alone(|_| async { Ok(true) });
        }
        let op = Op::Exists { key: key.render() };
        self.structure(op, |reply| match reply {
            Reply::Bool(b) => Ok(b),
            other => Err(other),
        })
    }

    /// Queues [`SetOf::add`](super::SetOf::add) of `member` to the set under `key`; the answer
    /// says whether it was new.
    pub fn set_add<K: CacheKey>(&mut self, key: &K, member: &K::Value) -> Slot<bool> {
        let member = <K::Codec as Codec<K::Value>>::encode(member);
        let key = key.render();
        match member {
            Ok(member) => {
                let op = Op::SetAdd {
                    key,
                    members: vec![member],
                    ttl: K::POLICY.time_to_live(),
                };
                self.structure(op, |reply| match reply {
                    Reply::Int(n) => Ok(n == 1),
                    other => Err(other),
                })
            }
            Err(e) => self.alone(move |_| async move { Err(e) }),
        }
    }

    /// Queues [`SortedSet::increment`](super::SortedSet::increment) of `member` in the sorted
    /// set under `key`; the answer is the new score.
    pub fn sorted_increment<K: CacheKey>(
        &mut self,
        key: &K,
        member: &K::Value,
        by: f64,
    ) -> Slot<f64> {
        let member = <K::Codec as Codec<K::Value>>::encode(member);
        let key = key.render();
        match member {
            Ok(member) => {
                let op = Op::SortedIncrement {
                    key,
                    member,
                    by,
                    ttl: K::POLICY.time_to_live(),
                };
                self.structure(op, |reply| match reply {
                    Reply::Float(score) => Ok(score),
                    other => Err(other),
                })
            }
            Err(e) => self.alone(move |_| async move { Err(e) }),
        }
    }

    /// Queues [`Queue::push`](super::Queue::push) of `job` to the queue under `key`; the
    /// answer is the queue's length.
    pub fn push<K: CacheKey>(&mut self, key: &K, job: &K::Value) -> Slot<u64> {
        let item = <K::Codec as Codec<K::Value>>::encode(job);
        let key = key.render();
        match item {
            Ok(item) => {
                let op = Op::ListPush {
                    key,
                    items: vec![item],
                    ttl: K::POLICY.time_to_live(),
                };
                self.structure(op, |reply| match reply {
                    Reply::Int(n) => Ok(u64::try_from(n).unwrap_or(0)),
                    other => Err(other),
                })
            }
            Err(e) => self.alone(move |_| async move { Err(e) }),
        }
    }

    /// An op on a counter or structure: batched with a far tier, else run alone in process.
    fn structure<T: Send + 'static>(
        &mut self,
        op: Op,
        read: fn(Reply) -> Result<T, Reply>,
    ) -> Slot<T> {
        let decode: Decode = Box::new(move |_, reply| (expect(read, reply).and_then(boxed), None));
        if self.batches() {
            return self.slot(Entry::Batched(op, decode));
        }
        self.alone(move |cache| async move {
            let ops = [op];
            let mut replies = cache.structures()?.run(&ops).await?;
            expect(read, replies.pop().unwrap_or(Reply::Nil))
        })
    }

    /// Sends the batched operations in one round trip, then runs the others, and returns
    /// every answer.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails the batch (its operations have no answers then; the
    /// others still run, each with its own answer).
    pub async fn run(self) -> Result<Answers, Error> {
        let Self { id, cache, entries } = self;
        let mut ops = Vec::new();
        let mut decoders = Vec::new();
        let mut alone = Vec::new();
        let mut answers: Vec<Option<Answer>> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            answers.push(None);
            match entry {
                Entry::Batched(op, decode) => {
                    ops.push(op);
                    decoders.push((i, decode));
                }
                Entry::Alone(run) => alone.push((i, run)),
            }
        }
        let mut failure = None;
        if !ops.is_empty() {
            let ns = cache.inner.stats.namespace("(pipeline)");
            let batch = async {
                let call = cache.structures()?.run(&ops);
                cache.far_call(ns, "pipeline", call).await
            };
            match batch.await {
                Ok(replies) => {
                    let mut undecodable = Vec::new();
                    for ((i, decode), reply) in decoders.into_iter().zip(replies) {
                        let (answer, bad) = decode(&cache, reply);
                        answers[i] = Some(answer);
                        undecodable.extend(bad);
                    }
                    if let (Some(far), false) = (&cache.inner.far, undecodable.is_empty()) {
                        let _ = cache
                            .far_call(ns, "UNLINK", far.store.delete(&undecodable))
                            .await;
                    }
                }
                Err(e) => failure = Some(e),
            }
        }
        for (i, run) in alone {
            answers[i] = Some(run(cache.clone()).await);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(Answers {
                pipeline: id,
                answers,
            }),
        }
    }
}

impl Answers {
    /// The answer in `slot`.
    ///
    /// # Errors
    ///
    /// The operation's own error (a far tier that refused it, a value that does not encode);
    /// of kind [`Config`](ErrorKind::Config) for a slot of another pipeline.
    pub fn take<T: 'static>(&mut self, slot: Slot<T>) -> Result<T, Error> {
        let wrong = || Error::config("this slot belongs to another pipeline");
        if slot.pipeline != self.pipeline {
            return Err(wrong());
        }
        let answer = self
            .answers
            .get_mut(slot.index)
            .and_then(Option::take)
            .ok_or_else(wrong)?;
        answer?.downcast::<T>().map(|b| *b).map_err(|_| wrong())
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("operations", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers")
            .field("answers", &self.answers.len())
            .finish_non_exhaustive()
    }
}
