//! Cache-aside loading: `get_with` and friends, single-flight, refresh-ahead.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::Cache;
use super::lease::Lease;
use super::read::Near;
use crate::flight::{self, Join, Outcome};
use crate::key::CacheKey;
use crate::stats::{Counter, NamespaceId};

/// Appended to a rendered key to name its load lease. `%` followed by a letter that is not a
/// hex digit cannot come out of segment escaping, so no user key collides with it.
const LOAD_LEASE_SUFFIX: &str = "%load";

/// What a loader returned, and what its caller wants back.
trait Loaded<V>: Sized {
    /// What the caller receives.
    type Out;
    /// The value to cache (`None`: "not found") and the caller's answer.
    fn split(self) -> (Option<Arc<V>>, Self::Out);
    /// The caller's answer from a cached or shared value; `None` when it does not satisfy this
    /// caller (a remembered "not found" for a caller that needs a value), which then loads.
    fn from_shared(value: Option<Arc<V>>) -> Option<Self::Out>;
}

/// What another process's load left us.
enum OtherProcess<V> {
    /// It wrote the value.
    Loaded(Arc<V>),
    /// We load: holding the lease, or without one (no far tier, it failed, or the wait ran out).
    Ours(Option<Lease>),
}

/// A loader that always produces a value.
struct Found<V>(V);

impl<V> Loaded<V> for Found<V> {
    type Out = Arc<V>;

    fn split(self) -> (Option<Arc<V>>, Arc<V>) {
        let value = Arc::new(self.0);
        (Some(value.clone()), value)
    }

    fn from_shared(value: Option<Arc<V>>) -> Option<Arc<V>> {
        value
    }
}

/// A loader that produces a shared value, kept as it is.
struct SharedFound<V>(Arc<V>);

impl<V> Loaded<V> for SharedFound<V> {
    type Out = Arc<V>;

    fn split(self) -> (Option<Arc<V>>, Arc<V>) {
        (Some(self.0.clone()), self.0)
    }

    fn from_shared(value: Option<Arc<V>>) -> Option<Arc<V>> {
        value
    }
}

/// A loader that may find nothing.
struct Maybe<V>(Option<V>);

impl<V> Loaded<V> for Maybe<V> {
    type Out = Option<Arc<V>>;

    fn split(self) -> (Option<Arc<V>>, Option<Arc<V>>) {
        let value = self.0.map(Arc::new);
        (value.clone(), value)
    }

    fn from_shared(value: Option<Arc<V>>) -> Option<Option<Arc<V>>> {
        Some(value)
    }
}

impl Cache {
    /// The cached value under `key`, or the value of `init`, which is then cached.
    ///
    /// Concurrent calls that miss on the same key run one `init` between them (single-flight);
    /// the others wait and receive the same `Arc`. If the caller running `init` is cancelled,
    /// a waiting caller runs its own `init` instead.
    pub async fn get_with<K, F>(&self, key: &K, init: F) -> Arc<K::Value>
    where
        K: CacheKey,
        F: Future<Output = K::Value>,
    {
        // A hit returns here, before the loader's state is moved into the load future.
        if let Some(value) = self.cached::<K, Found<K::Value>>(key) {
            return value;
        }
        match self
            .load(key, async { Ok::<_, Infallible>(Found(init.await)) })
            .await
        {
            Ok(value) => value,
            Err(never) => match *never {},
        }
    }

    /// Like [`get_with`](Self::get_with) for a loader that returns a shared value: the cache
    /// keeps that `Arc` as it is, so `V` need not be `Clone`.
    pub async fn get_with_arc<K, F>(&self, key: &K, init: F) -> Arc<K::Value>
    where
        K: CacheKey,
        F: Future<Output = Arc<K::Value>>,
    {
        if let Some(value) = self.cached::<K, SharedFound<K::Value>>(key) {
            return value;
        }
        match self
            .load(key, async { Ok::<_, Infallible>(SharedFound(init.await)) })
            .await
        {
            Ok(value) => value,
            Err(never) => match *never {},
        }
    }

    /// Like [`get_with`](Self::get_with) for a loader that can fail.
    ///
    /// An error is not cached. Every caller waiting on the failed load receives the same
    /// error as `Arc<E>`; the next call runs the loader again.
    ///
    /// # Errors
    ///
    /// The loader's error, shared.
    pub async fn try_get_with<K, F, E>(&self, key: &K, init: F) -> Result<Arc<K::Value>, Arc<E>>
    where
        K: CacheKey,
        F: Future<Output = Result<K::Value, E>>,
        E: Send + Sync + 'static,
    {
        if let Some(value) = self.cached::<K, Found<K::Value>>(key) {
            return Ok(value);
        }
        self.load(key, async { init.await.map(Found) }).await
    }

    /// Like [`get_with`](Self::get_with) for a loader that may find nothing.
    ///
    /// When the key type's [`Policy`](crate::Policy) sets a
    /// [`negative_time_to_live`](crate::Policy::negative_time_to_live), a `None` is remembered that long and
    /// answered without running the loader; otherwise `None` is not cached.
    pub async fn optionally_get_with<K, F>(&self, key: &K, init: F) -> Option<Arc<K::Value>>
    where
        K: CacheKey,
        F: Future<Output = Option<K::Value>>,
    {
        if let Some(value) = self.cached::<K, Maybe<K::Value>>(key) {
            return value;
        }
        match self
            .load(key, async { Ok::<_, Infallible>(Maybe(init.await)) })
            .await
        {
            Ok(value) => value,
            Err(never) => match *never {},
        }
    }

    /// Like [`get_with`](Self::get_with), with refresh-ahead.
    ///
    /// When the key type's [`Policy`](crate::Policy) sets
    /// [`refresh_after`](crate::Policy::refresh_after), a hit on an entry older than that is
    /// answered with the cached value at once, and `init` runs once in the background to
    /// replace it: however many hits arrive meanwhile, one reload runs. Hence `init` must be
    /// `Send + 'static`. Needs a Tokio runtime; without one no refresh starts.
    pub async fn get_with_refresh<K, F>(&self, key: &K, init: F) -> Arc<K::Value>
    where
        K: CacheKey,
        F: Future<Output = K::Value> + Send + 'static,
    {
        match self
            .try_get_with_refresh(key, async { Ok::<_, Infallible>(init.await) })
            .await
        {
            Ok(value) => value,
            Err(never) => match *never {},
        }
    }

    /// [`try_get_with`](Self::try_get_with) with refresh-ahead, as in
    /// [`get_with_refresh`](Self::get_with_refresh). A failed background reload keeps the
    /// current value until it expires and counts a load error.
    ///
    /// # Errors
    ///
    /// The loader's error, shared, when the value had to be loaded in the foreground.
    pub async fn try_get_with_refresh<K, F, E>(
        &self,
        key: &K,
        init: F,
    ) -> Result<Arc<K::Value>, Arc<E>>
    where
        K: CacheKey,
        F: Future<Output = Result<K::Value, E>> + Send + 'static,
        E: Send + Sync + 'static,
    {
        if let Near::Hit(entry, namespace) = self.near(key)
            && let Some(value) = entry.value().cloned()
        {
            self.inner.stats.incr(namespace, Counter::Hit);
            if entry.refresh_at() <= self.inner.clock.now_nanos() {
                self.spawn_refresh(key, init);
            }
            return Ok(value);
        }
        // Not cached (or a remembered "not found"): load in the foreground. The hit above is
        // not repeated, since `load` looks the key up again first.
        self.load(key, async { init.await.map(Found) }).await
    }

    /// Starts one background reload of `key`, unless a load of it is already in flight.
    fn spawn_refresh<K, F, E>(&self, key: &K, init: F)
    where
        K: CacheKey,
        F: Future<Output = Result<K::Value, E>> + Send + 'static,
        E: Send + Sync + 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!(
                namespace = K::NAMESPACE,
                "refresh-ahead needs a Tokio runtime; not refreshing"
            );
            return;
        };
        let rendered = key.render();
        let Some(leader) = self.inner.flights.try_lead::<K::Value>(&rendered) else {
            return;
        };
        // A reload may have finished between our read and taking the lead.
        if let Near::Hit(entry, _) = self.near(key)
            && entry.refresh_at() > self.inner.clock.now_nanos()
        {
            return;
        }
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        self.inner.stats.incr(ns, Counter::Refresh);
        let cache = self.clone();
        let key = key.clone();
        runtime.spawn(async move {
            cache.inner.stats.incr(ns, Counter::Load);
            match init.await {
                Ok(value) => {
                    let value = Arc::new(value);
                    let kept = cache.keep_loaded(&key, Some(&value));
                    leader.finish(Outcome::Value(Some(value.clone())));
                    if let Some(kept) = kept {
                        cache.write_loaded(&key, Some(&*value), &kept).await;
                    }
                }
                Err(e) => {
                    cache.inner.stats.incr(ns, Counter::LoadError);
                    leader.finish(Outcome::Error(Arc::new(e)));
                }
            }
        });
    }

    /// [`load_here`](Self::load_here), boxed: callers answer hits before calling it, so the
    /// load's large state lives on the heap and the future of a hit stays small (32 bytes
    /// instead of over a kilobyte; a caller moves it at least once).
    fn load<'a, K, L, F, E>(
        &'a self,
        key: &'a K,
        init: F,
    ) -> Pin<Box<impl Future<Output = Result<L::Out, Arc<E>>> + 'a>>
    where
        K: CacheKey,
        L: Loaded<K::Value> + 'a,
        F: Future<Output = Result<L, E>> + 'a,
        E: Send + Sync + 'static,
    {
        Box::pin(self.load_here(key, init))
    }

    /// The heart of cache-aside: a hit, or a single-flight load.
    async fn load_here<K, L, F, E>(&self, key: &K, init: F) -> Result<L::Out, Arc<E>>
    where
        K: CacheKey,
        L: Loaded<K::Value>,
        F: Future<Output = Result<L, E>>,
        E: Send + Sync + 'static,
    {
        if let Some(out) = self.cached::<K, L>(key) {
            return Ok(out);
        }
        let rendered = key.render();
        let mut counted = false;
        let leader = loop {
            match self.inner.flights.join::<K::Value>(&rendered) {
                Join::Lead(leader) => {
                    // Whoever led before us may have filled the cache just before we took the
                    // lead; dropping the lead unused sends our waiters back to the cache.
                    if let Some(out) = self.cached::<K, L>(key) {
                        return Ok(out);
                    }
                    break Some(leader);
                }
                Join::Alone => break None,
                Join::Wait(slot) => {
                    if !counted {
                        self.record_miss::<K>();
                        counted = true;
                    }
                    match flight::wait(&slot).await {
                        Some(Outcome::Found(value)) => {
                            // The leader found it in the cache: the wait was a hit after all.
                            let ns = self.retract_miss::<K>();
                            self.inner.stats.incr(ns, Counter::Hit);
                            if let Some(out) = L::from_shared(Some(value)) {
                                return Ok(out);
                            }
                        }
                        Some(Outcome::Value(value)) => {
                            if let Some(out) = L::from_shared(value) {
                                return Ok(out);
                            }
                        }
                        Some(Outcome::Error(error)) => {
                            if let Ok(error) = error.downcast::<E>() {
                                return Err(error);
                            }
                            // Another call site's error type: load for ourselves.
                        }
                        // The leader was cancelled, or found the value in process after
                        // all: try again, perhaps as the leader, counted afresh.
                        None => {
                            self.retract_miss::<K>();
                            counted = false;
                        }
                    }
                }
            }
        };
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        // Only the leader asks the far tier, once for all its waiters; and across processes,
        // only the holder of the load lease runs the loader while the others wait for its
        // value, for a bounded time.
        let mut lease = None;
        let mut found = self.far_lookup(key, &rendered, ns).await;
        if found.is_none() {
            match self.await_other_process(key, &rendered, ns).await {
                OtherProcess::Loaded(value) => found = Some(value),
                OtherProcess::Ours(held) => lease = held,
            }
        }
        if let Some(value) = found
            && let Some(out) = L::from_shared(Some(value.clone()))
        {
            if !counted {
                self.inner.stats.incr(ns, Counter::Hit);
            }
            if let Some(leader) = leader {
                leader.finish(Outcome::Found(value));
            }
            return Ok(out);
        }
        if !counted {
            self.inner.stats.incr(ns, Counter::Miss);
        }
        self.inner.stats.incr(ns, Counter::Load);
        let result = match init.await {
            Ok(loaded) => {
                let (value, out) = loaded.split();
                // Keep it in process, release the waiters, then write the far tier.
                let kept = self.keep_loaded(key, value.as_ref());
                if let Some(leader) = leader {
                    leader.finish(Outcome::Value(value.clone()));
                }
                if let Some(kept) = kept {
                    self.write_loaded(key, value.as_deref(), &kept).await;
                }
                Ok(out)
            }
            Err(error) => {
                self.inner.stats.incr(ns, Counter::LoadError);
                let error = Arc::new(error);
                if let Some(leader) = leader {
                    leader.finish(Outcome::Error(error.clone()));
                }
                Err(error)
            }
        };
        // Released after the far write, so that other processes find the value.
        if let Some(lease) = lease {
            let _ = lease.release().await;
        }
        result
    }

    /// Takes the far tier's load lease for `rendered`, or waits (bounded) for the process that
    /// holds it to write the value.
    async fn await_other_process<K: CacheKey>(
        &self,
        key: &K,
        rendered: &str,
        ns: NamespaceId,
    ) -> OtherProcess<K::Value> {
        // Only a far tier that keeps leases coordinates loads across processes.
        let (Some(far), Some(lock)) = (&self.inner.far, self.inner.load_lock) else {
            return OtherProcess::Ours(None);
        };
        if far.store.coordination().is_none() {
            return OtherProcess::Ours(None);
        }
        let lock_key = format!("{rendered}{LOAD_LEASE_SUFFIX}");
        let deadline = tokio::time::Instant::now() + lock.wait;
        loop {
            match self.lease(ns, lock_key.clone(), lock.lease).await {
                Ok(Some(lease)) => {
                    // Another process may have written the value and released the lease
                    // between our lookup and our taking it.
                    if let Some(value) = self.far_lookup(key, rendered, ns).await {
                        let _ = lease.release().await;
                        return OtherProcess::Loaded(value);
                    }
                    return OtherProcess::Ours(Some(lease));
                }
                // Load without the lease rather than not at all: fail open.
                Err(_) => return OtherProcess::Ours(None),
                Ok(None) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::debug!(
                    key = rendered,
                    "gave up waiting for another process's load; loading here"
                );
                return OtherProcess::Ours(None);
            }
            tokio::time::sleep(lock.poll).await;
            if let Some(value) = self.far_lookup(key, rendered, ns).await {
                return OtherProcess::Loaded(value);
            }
        }
    }

    /// A cached answer for an `L` caller, counting the hit.
    #[inline]
    fn cached<K: CacheKey, L: Loaded<K::Value>>(&self, key: &K) -> Option<L::Out> {
        let Near::Hit(entry, namespace) = self.near(key) else {
            return None;
        };
        let out = L::from_shared(entry.into_value())?;
        self.inner.stats.incr(namespace, Counter::Hit);
        Some(out)
    }
}
