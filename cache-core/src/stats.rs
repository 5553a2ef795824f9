//! Hit, miss, load and eviction counters per namespace, and their snapshot.
//!
//! Counting is on the hit path, so it takes no lock and performs no atomic read-modify-write:
//! every thread has its own counters (through [`thread_local::ThreadLocal`]), which only that
//! thread writes, with a plain load and store. A snapshot sums the threads' counters.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use cache_core::{Cache, CacheKey, KeyWriter, Policy, codec::Postcard};
//!
//! #[derive(Clone, PartialEq, Eq, Hash)]
//! struct Answer;
//! impl CacheKey for Answer {
//!     type Value = u32;
//!     type Codec = Postcard;
//!     const NAMESPACE: &'static str = "answer";
//!     const POLICY: Policy = Policy::builder().time_to_live(Duration::from_secs(60)).build();
//!     fn write_key(&self, _: &mut KeyWriter<'_>) {}
//! }
//!
//! let cache = Cache::new(100);
//! assert!(cache.get(&Answer).await.is_none());
//! cache.insert(Answer, 42).await;
//! assert_eq!(*cache.get(&Answer).await.unwrap(), 42);
//! let stats = cache.stats();
//! assert_eq!((stats.total().hits, stats.total().misses), (1, 1));
//! assert_eq!(stats.namespace("answer").unwrap().hit_ratio(), 0.5);
//! # });
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};

use thread_local::ThreadLocal;

/// How many namespaces get counters of their own; later ones share the last slot.
const MAX_NAMESPACES: usize = 64;
/// The name of the shared slot.
const OVERFLOW: &str = "(other)";

/// One counter of a namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Hit,
    Miss,
    Load,
    LoadError,
    Eviction,
    Expiration,
    Insert,
    Invalidation,
    DecodeError,
    StoreError,
    Refresh,
}
const COUNTERS: usize = 11;

/// The index of a namespace's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NamespaceId(u16);

type Cells = [AtomicU64; COUNTERS];

/// One thread's counters, by namespace (about 5 KiB).
struct ThreadCounters {
    /// Inline, so that a count follows no pointer past the thread's entry.
    namespaces: [Cells; MAX_NAMESPACES],
}

impl ThreadCounters {
    fn new() -> Self {
        Self {
            namespaces: std::array::from_fn(|_| Cells::default()),
        }
    }
}

/// All counters of one cache.
pub(crate) struct StatsTable {
    threads: ThreadLocal<ThreadCounters>,
    /// Namespace names by id, and ids by name; writers only.
    names: RwLock<(Vec<&'static str>, HashMap<&'static str, NamespaceId>)>,
    /// Ids by name for readers: write-once slots probed from the name's hash, so that finding
    /// a namespace takes no lock (a read lock is a contended atomic on every call).
    index: Box<[OnceLock<(&'static str, NamespaceId)>]>,
}

/// The probe start of a namespace name (FNV-1a).
fn slot_of(name: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h as usize) % INDEX_SLOTS
}

/// Twice the namespaces, so probes stay short.
const INDEX_SLOTS: usize = 2 * MAX_NAMESPACES;

impl StatsTable {
    pub(crate) fn new() -> Self {
        Self {
            threads: ThreadLocal::new(),
            names: RwLock::default(),
            index: (0..INDEX_SLOTS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The counters of `name`, created on first use.
    pub(crate) fn namespace(&self, name: &'static str) -> NamespaceId {
        let start = slot_of(name);
        for i in 0..INDEX_SLOTS {
            match self.index[(start + i) % INDEX_SLOTS].get() {
                Some((slot_name, id)) if *slot_name == name => return *id,
                Some(_) => continue,
                None => break,
            }
        }
        let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = names.1.get(name) {
            return *id;
        }
        let next = names.0.len();
        let id = if next < MAX_NAMESPACES - 1 {
            names.0.push(name);
            NamespaceId(next as u16)
        } else {
            if next == MAX_NAMESPACES - 1 {
                names.0.push(OVERFLOW);
            }
            NamespaceId((MAX_NAMESPACES - 1) as u16)
        };
        names.1.insert(name, id);
        // Publish for lock-free readers, in the first free slot of the probe (slots are only
        // filled under the write lock, so no two writers race for one).
        for i in 0..INDEX_SLOTS {
            let slot = &self.index[(start + i) % INDEX_SLOTS];
            if slot.get().is_none() {
                let _ = slot.set((name, id));
                break;
            }
        }
        id
    }

    #[inline]
    pub(crate) fn add(&self, id: NamespaceId, counter: Counter, n: u64) {
        let mine = self.threads.get_or(ThreadCounters::new);
        let cell = &mine.namespaces[usize::from(id.0)][counter as usize];
        // Only this thread writes this cell, so a load and a store cannot lose an update.
        cell.store(
            cell.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    #[inline]
    pub(crate) fn incr(&self, id: NamespaceId, counter: Counter) {
        self.add(id, counter, 1);
    }

    /// Takes back one count of `counter`, counted on this thread or another: cells wrap, and
    /// only their sum is ever read.
    pub(crate) fn retract(&self, id: NamespaceId, counter: Counter) {
        self.add(id, counter, u64::MAX);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let names = self
            .names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        let mut sums = vec![[0u64; COUNTERS]; names.len()];
        for thread in self.threads.iter() {
            for (sum, cells) in sums.iter_mut().zip(thread.namespaces.iter()) {
                for (s, c) in sum.iter_mut().zip(cells.iter()) {
                    *s = s.wrapping_add(c.load(Ordering::Relaxed));
                }
            }
        }
        let namespaces = names
            .into_iter()
            .zip(sums)
            .map(|(namespace, sums)| NamespaceStats {
                namespace,
                counts: Counts::from_array(sums),
            })
            .collect();
        CacheStats { namespaces }
    }
}

/// The counts of one namespace, or of a whole cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Reads answered from the cache (including remembered "not found" answers).
    pub hits: u64,
    /// Reads the cache could not answer.
    pub misses: u64,
    /// Loader runs (`get_with` and friends), background refreshes included.
    pub loads: u64,
    /// Loader runs that returned an error.
    pub load_errors: u64,
    /// Entries pushed out by the size bound.
    pub evictions: u64,
    /// Entries found expired on read and removed.
    pub expirations: u64,
    /// Entries written.
    pub inserts: u64,
    /// Entries removed by `invalidate` and prefix invalidation.
    pub invalidations: u64,
    /// Entries that did not decode, counted as misses and removed.
    pub decode_errors: u64,
    /// Store operations that failed and were treated as misses or no-ops.
    pub store_errors: u64,
    /// Background refreshes started by refresh-ahead.
    pub refreshes: u64,
}

impl Counts {
    fn from_array(a: [u64; COUNTERS]) -> Self {
        let c = |counter: Counter| a[counter as usize];
        Self {
            hits: c(Counter::Hit),
            misses: c(Counter::Miss),
            loads: c(Counter::Load),
            load_errors: c(Counter::LoadError),
            evictions: c(Counter::Eviction),
            expirations: c(Counter::Expiration),
            inserts: c(Counter::Insert),
            invalidations: c(Counter::Invalidation),
            decode_errors: c(Counter::DecodeError),
            store_errors: c(Counter::StoreError),
            refreshes: c(Counter::Refresh),
        }
    }

    /// Hits over reads; `0.0` before the first read.
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.loads += o.loads;
        self.load_errors += o.load_errors;
        self.evictions += o.evictions;
        self.expirations += o.expirations;
        self.inserts += o.inserts;
        self.invalidations += o.invalidations;
        self.decode_errors += o.decode_errors;
        self.store_errors += o.store_errors;
        self.refreshes += o.refreshes;
    }
}

/// The counts of one namespace.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NamespaceStats {
    /// The namespace, as key types declare it.
    pub namespace: &'static str,
    /// Its counts.
    pub counts: Counts,
}

impl NamespaceStats {
    /// Hits over reads in this namespace.
    pub fn hit_ratio(&self) -> f64 {
        self.counts.hit_ratio()
    }
}

/// A snapshot of a cache's counters, from [`Cache::stats`](crate::Cache::stats).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CacheStats {
    namespaces: Vec<NamespaceStats>,
}

impl CacheStats {
    /// The counts of every namespace, in the order they were first used.
    pub fn namespaces(&self) -> &[NamespaceStats] {
        &self.namespaces
    }

    /// The counts of one namespace.
    pub fn namespace(&self, name: &str) -> Option<&NamespaceStats> {
        self.namespaces.iter().find(|n| n.namespace == name)
    }

    /// The counts of all namespaces together.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for ns in &self.namespaces {
            total.merge(&ns.counts);
        }
        total
    }

    /// Hits over reads across the cache.
    pub fn hit_ratio(&self) -> f64 {
        self.total().hit_ratio()
    }
}
