//! [`TypeTable`]: finds the store of a key type without taking a lock.
//!
//! A fixed array of write-once slots, probed from the key type's `TypeId`. A slot is filled once
//! under a mutex and never emptied, so a reader needs only an acquire load of a line that no
//! one writes after start-up: no lock, no contended atomic on the hit path.

use std::any::{Any, TypeId};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use super::typed::ErasedStore;

/// How many key types one cache can hold.
pub(crate) const MAX_KEY_TYPES: usize = 256;

struct Slot {
    type_id: TypeId,
    /// The store, for typed access; store-wide operations go through `TypeTable::stores`.
    typed: Arc<dyn Any + Send + Sync>,
}

pub(crate) struct TypeTable {
    /// Inline, so that finding a store follows no pointer before its slot.
    slots: [OnceLock<Slot>; MAX_KEY_TYPES],
    /// Every store, in registration order; writers only.
    stores: Mutex<Vec<Arc<dyn ErasedStore>>>,
}

/// The probe start of a type. A `TypeId` is already a hash, so its bits are taken as they are.
#[inline]
fn start(type_id: TypeId) -> usize {
    let mut bits = Capture(0);
    type_id.hash(&mut bits);
    (bits.0 as usize) % MAX_KEY_TYPES
}

/// Keeps what is written, folded into a `u64`.
struct Capture(u64);

impl Hasher for Capture {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TypeTable {
    pub(crate) fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| OnceLock::new()),
            stores: Mutex::default(),
        }
    }

    /// The store registered for `type_id`, if any.
    #[inline]
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        let probe_start = start(TypeId::of::<T>());
        // The downcast is the type check; the first probe almost always answers.
        match self.slots[probe_start].get()?.typed.downcast_ref() {
            Some(store) => Some(store),
            None => self.probe(probe_start),
        }
    }

    #[cold]
    fn probe<T: Any>(&self, probe_start: usize) -> Option<&T> {
        for i in 1..MAX_KEY_TYPES {
            // An empty slot ends the probe: slots fill in probe order and are never emptied.
            if let Some(store) = self.slots[(probe_start + i) % MAX_KEY_TYPES]
                .get()?
                .typed
                .downcast_ref()
            {
                return Some(store);
            }
        }
        None
    }

    /// The store of type `T`, made by `make` on first use; `None` when the table is full.
    ///
    /// `make` gets the number of stores there will be, and `rebalance` is called with every
    /// store and that number after a new one is added.
    pub(crate) fn get_or_register<T: ErasedStore + 'static>(
        &self,
        make: impl FnOnce(usize) -> T,
        rebalance: impl Fn(&[Arc<dyn ErasedStore>]),
    ) -> Option<&T> {
        if let Some(store) = self.get::<T>() {
            return Some(store);
        }
        let type_id = TypeId::of::<T>();
        let probe_start = start(type_id);
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..MAX_KEY_TYPES {
            let cell = &self.slots[(probe_start + i) % MAX_KEY_TYPES];
            match cell.get() {
                Some(slot) if slot.type_id == type_id => return slot.typed.downcast_ref(),
                Some(_) => continue,
                None => {
                    let store = Arc::new(make(stores.len() + 1));
                    stores.push(store.clone());
                    rebalance(&stores);
                    let slot = cell.get_or_init(|| Slot {
                        type_id,
                        typed: store,
                    });
                    return slot.typed.downcast_ref();
                }
            }
        }
        None
    }

    /// Every store, in registration order.
    pub(crate) fn stores(&self) -> Vec<Arc<dyn ErasedStore>> {
        self.stores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
