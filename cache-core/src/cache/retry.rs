//! Invalidations the far tier missed (it failed, timed out, or the circuit breaker skipped it),
//! tried again in the background until it takes them.
//!
//! A missed invalidation would otherwise leave a stale entry in the shared store for every
//! instance to read until it expires. The queue is bounded: past [`MAX_PENDING`] the oldest is
//! dropped, counted and logged. A retried deletion may remove a value written after the miss:
//! the price is a miss later, never a stale read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::coherence::Named;
use super::{Cache, Inner};
use crate::error::Error;
use crate::key::KeyPrefix;

/// The most invalidations kept for retrying.
const MAX_PENDING: usize = 10_000;
/// The first wait before a retry, doubled after each failed round up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One invalidation to send to the far tier again.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    /// Rendered keys, with the namespace they are counted in.
    Keys(&'static str, Vec<String>),
    Tag(String),
    Prefix(KeyPrefix),
}

/// The queue, and whether a retrier runs.
#[derive(Debug, Default)]
pub(super) struct Retries {
    pending: Mutex<VecDeque<Pending>>,
    running: AtomicBool,
    dropped: AtomicU64,
}

impl Retries {
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Cache {
    /// Queues `pending` after the far tier failed to take it, and makes sure a retrier runs.
    pub(super) fn retry_later(&self, pending: Pending) {
        let retries = &self.inner.retries;
        {
            let mut queue = retries.lock();
            if queue.len() >= MAX_PENDING {
                queue.pop_front();
                let dropped = retries.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(
                    dropped,
                    "too many far-tier invalidations wait for a retry; the oldest is dropped \
                     and its entry lives until it expires"
                );
            }
            queue.push_back(pending);
        }
        self.start_retrier();
    }

    /// How many far-tier invalidations wait to be retried.
    pub fn pending_invalidations(&self) -> usize {
        self.inner.retries.len()
    }

    fn start_retrier(&self) {
        let retries = &self.inner.retries;
        if retries
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            retries.running.store(false, Ordering::Release);
            tracing::warn!("no Tokio runtime: a missed far-tier invalidation is not retried");
            return;
        };
        runtime.spawn(retry(Arc::downgrade(&self.inner)));
    }

    /// Sends one pending invalidation to the far tier.
    async fn send(&self, pending: &Pending) -> Result<(), Error> {
        let Some(far) = &self.inner.far else {
            return Ok(());
        };
        let stats = &self.inner.stats;
        // Once the far tier took it, the other instances hear of it too.
        match pending {
            Pending::Keys(namespace, keys) => {
                let ns = stats.namespace(namespace);
                self.far_call(ns, "UNLINK retry", far.store.delete(keys))
                    .await?;
                self.announce(&[Named::Keys(keys)]).await;
            }
            Pending::Tag(tag) => {
                let ns = stats.namespace(super::TAGS_NAMESPACE);
                let removal = self
                    .far_call(ns, "tag retry", far.store.invalidate_tag(tag))
                    .await?;
                self.announce_tag(tag, &removal.keys).await;
            }
            Pending::Prefix(prefix) => {
                let ns = stats.namespace(prefix.namespace_name());
                self.far_call(ns, "prefix retry", far.store.delete_prefix(prefix))
                    .await?;
                self.announce(&[Named::Prefix(prefix.as_str())]).await;
            }
        }
        Ok(())
    }
}

/// Retries the queue of the cache behind `weak` until it is empty or the cache is gone.
async fn retry(weak: Weak<Inner>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let cache = Cache { inner };
        let retries = &cache.inner.retries;
        loop {
            let Some(next) = retries.lock().front().cloned() else {
                break;
            };
            if cache.send(&next).await.is_err() {
                break;
            }
            retries.lock().pop_front();
            backoff = FIRST_BACKOFF;
        }
        if retries.lock().is_empty() {
            retries.running.store(false, Ordering::Release);
            // Something queued between the check and the store starts its own retrier, or
            // this one goes on.
            if retries.lock().is_empty()
                || retries
                    .running
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
            {
                return;
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
