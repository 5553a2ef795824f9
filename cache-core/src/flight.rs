//! Single-flight: concurrent misses on one key run one loader.
//!
//! The first caller to miss becomes the leader: it publishes a slot under the rendered key,
//! holding the slot's write lock, and runs its loader. Later callers find the slot and wait on
//! its read lock. The leader writes the outcome, removes the slot from the table, then releases
//! the lock, so a waiter that wakes sees the outcome and a caller that comes later finds the
//! value in the cache. A leader that is cancelled or panics leaves no outcome; its waiters then
//! try again and one of them leads with its own loader.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedRwLockWriteGuard, RwLock};

/// What a load ended with, as its waiters see it.
pub(crate) enum Outcome<V> {
    /// A value, or `None` for "not found", that the leader loaded.
    Value(Option<Arc<V>>),
    /// A value that the leader found in the cache (the far tier): for its waiters, a hit.
    Found(Arc<V>),
    /// The loader's error, type-erased (an `E` inside).
    Error(Arc<dyn Any + Send + Sync>),
}

impl<V> Clone for Outcome<V> {
    fn clone(&self) -> Self {
        match self {
            Self::Value(v) => Self::Value(v.clone()),
            Self::Found(v) => Self::Found(v.clone()),
            Self::Error(e) => Self::Error(e.clone()),
        }
    }
}

type Slot<V> = RwLock<Option<Outcome<V>>>;

/// The loads in flight of one cache, by rendered key.
#[derive(Default)]
pub(crate) struct Flights {
    slots: Mutex<HashMap<Box<str>, Arc<dyn Any + Send + Sync>>>,
}

/// How a caller takes part in a load.
pub(crate) enum Join<V> {
    /// Run the loader and [`finish`](Leader::finish).
    Lead(Leader<V>),
    /// Wait for the leader.
    Wait(Arc<Slot<V>>),
    /// Another value type loads under the same text (two key types render alike): load alone.
    Alone,
}

impl Flights {
    pub(crate) fn join<V: Send + Sync + 'static>(self: &Arc<Self>, key: &str) -> Join<V> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = slots.get(key) {
            return match existing.clone().downcast::<Slot<V>>() {
                Ok(slot) => Join::Wait(slot),
                Err(_) => Join::Alone,
            };
        }
        Join::Lead(self.publish(&mut slots, key))
    }

    /// Leads a load of `key` unless one is in flight.
    pub(crate) fn try_lead<V: Send + Sync + 'static>(
        self: &Arc<Self>,
        key: &str,
    ) -> Option<Leader<V>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.contains_key(key) {
            return None;
        }
        Some(self.publish(&mut slots, key))
    }

    fn publish<V: Send + Sync + 'static>(
        self: &Arc<Self>,
        slots: &mut HashMap<Box<str>, Arc<dyn Any + Send + Sync>>,
        key: &str,
    ) -> Leader<V> {
        let slot: Arc<Slot<V>> = Arc::new(RwLock::new(None));
        let guard = slot.clone().try_write_owned().ok();
        slots.insert(key.into(), slot.clone());
        Leader {
            flights: self.clone(),
            key: key.into(),
            slot,
            guard,
        }
    }
}

/// The caller that runs the loader for a key.
pub(crate) struct Leader<V> {
    flights: Arc<Flights>,
    key: Box<str>,
    slot: Arc<Slot<V>>,
    /// Held from publication until the leader is dropped; `None` only if the fresh lock was
    /// somehow taken, in which case waiters simply find no outcome and retry.
    guard: Option<OwnedRwLockWriteGuard<Option<Outcome<V>>>>,
}

impl<V> Leader<V> {
    /// Hands `outcome` to the waiters.
    pub(crate) fn finish(mut self, outcome: Outcome<V>) {
        if let Some(guard) = self.guard.as_mut() {
            **guard = Some(outcome);
        }
    }
}

impl<V> Drop for Leader<V> {
    fn drop(&mut self) {
        // Leave the table before releasing the lock (the guard field drops after this body),
        // so that nobody joins a finished load.
        let mut slots = self.flights.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(current) = slots.get(&self.key)
            && Arc::as_ptr(current).cast::<()>() == Arc::as_ptr(&self.slot).cast::<()>()
        {
            slots.remove(&self.key);
        }
    }
}

/// Waits for the leader of `slot`; `None` when it ended without an outcome.
pub(crate) async fn wait<V>(slot: &Slot<V>) -> Option<Outcome<V>> {
    slot.read().await.clone()
}
