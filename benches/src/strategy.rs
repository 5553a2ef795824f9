//! The strategies compared by `src/bin/strategies.rs` and `benches/strategies.rs`: the key
//! types, the counted 1 ms origin, the Zipf(1.0) workload, and one read or write per strategy
//! and tier.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::codec::Postcard;
use cache_core::store::redis::RedisStore;
use cache_core::{Cache, CacheKey, KeyWriter, Policy, cache_put};

use crate::Record;

/// Distinct keys of the workload.
pub const KEYS: u64 = 100_000;
/// Concurrent clients.
pub const CLIENTS: usize = 64;
/// Share of requests that are writes.
pub const WRITE_PERCENT: u64 = 5;
/// Entries the in-process tier holds.
pub const NEAR_CAPACITY: u64 = 10_000;
/// What one origin call takes.
pub const ORIGIN_DELAY: Duration = Duration::from_millis(1);

/// Entries of the plain strategies: two seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey(pub u64);

impl CacheKey for ItemKey {
    type Value = Record;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "item";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(2))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

/// Entries of refresh-ahead: two seconds, reloaded in the background after one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FreshKey(pub u64);

impl CacheKey for FreshKey {
    type Value = Record;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "fresh";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(2))
        .refresh_after(Duration::from_secs(1))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

/// The origin: 1 ms per call, counted.
#[derive(Debug, Default)]
/// The counted origin.
pub struct Origin {
    /// Reads served.
    pub reads: AtomicU64,
    /// Writes served.
    pub writes: AtomicU64,
}

impl Origin {
    /// Reads `id`, taking [`ORIGIN_DELAY`].
    pub async fn load(&self, id: u64) -> Record {
        self.reads.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(ORIGIN_DELAY).await;
        Record::new(id)
    }

    /// Writes `id`, taking [`ORIGIN_DELAY`].
    pub async fn store(&self, id: u64) -> Record {
        self.writes.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(ORIGIN_DELAY).await;
        Record::new(id)
    }
}

/// The repository whose `save` is write-through.
struct Repo {
    cache: Cache,
    origin: Arc<Origin>,
}

impl Repo {
    #[cache_put(cache = self.cache, key = ItemKey(id))]
    async fn save(&self, id: u64) -> Record {
        self.origin.store(id).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// A caching strategy.
pub enum Strategy {
    /// Every read and write goes to the origin.
    NoCache,
    /// `get`, then `insert` on a miss; writes invalidate.
    CacheAside,
    /// `get_with` (single-flight); writes invalidate.
    ReadThrough,
    /// `get_with`; writes go through `#[cache_put]`.
    WriteThrough,
    /// `get_with_refresh`; writes invalidate.
    RefreshAhead,
}

/// Every strategy, in table order.
pub const STRATEGIES: [Strategy; 5] = [
    Strategy::NoCache,
    Strategy::CacheAside,
    Strategy::ReadThrough,
    Strategy::WriteThrough,
    Strategy::RefreshAhead,
];

impl Strategy {
    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::NoCache => "no cache",
            Self::CacheAside => "cache-aside by hand",
            Self::ReadThrough => "read-through (get_with)",
            Self::WriteThrough => "write-through (#[cache_put])",
            Self::RefreshAhead => "refresh-ahead",
        }
    }

    /// One read of `id`.
    pub async fn read(self, cache: &Cache, origin: &Arc<Origin>, id: u64) {
        match self {
            Self::NoCache => drop(origin.load(id).await),
            Self::CacheAside => {
                if cache.get(&ItemKey(id)).await.is_none() {
                    let value = origin.load(id).await;
                    cache.insert(ItemKey(id), value).await;
                }
            }
            Self::ReadThrough | Self::WriteThrough => {
                drop(cache.get_with(&ItemKey(id), origin.load(id)).await);
            }
            Self::RefreshAhead => {
                let origin = origin.clone();
                drop(
                    cache
                        .get_with_refresh(&FreshKey(id), async move { origin.load(id).await })
                        .await,
                );
            }
        }
    }

    /// One write of `id`.
    pub async fn write(self, cache: &Cache, origin: &Arc<Origin>, id: u64) {
        match self {
            Self::NoCache => drop(origin.store(id).await),
            Self::CacheAside | Self::ReadThrough => {
                origin.store(id).await;
                cache.invalidate(&ItemKey(id)).await;
            }
            Self::WriteThrough => {
                let repo = Repo {
                    cache: cache.clone(),
                    origin: origin.clone(),
                };
                drop(repo.save(id).await);
            }
            Self::RefreshAhead => {
                origin.store(id).await;
                cache.invalidate(&FreshKey(id)).await;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Where entries live.
pub enum Tier {
    /// In process only.
    Memory,
    /// Redis only (no in-process tier).
    Redis,
    /// In process in front of Redis.
    MemoryRedis,
}

/// Every tier, in table order.
pub const TIERS: [Tier; 3] = [Tier::Memory, Tier::Redis, Tier::MemoryRedis];

impl Tier {
    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
            Self::MemoryRedis => "memory+redis",
        }
    }

    /// A cache of this tier on the Redis at `url`.
    pub async fn cache(self, url: &str) -> Cache {
        let builder = Cache::builder().max_capacity(NEAR_CAPACITY).no_load_lock();
        match self {
            Self::Memory => builder.build(),
            Self::Redis => builder
                .far(RedisStore::connect(url).await.expect("redis"))
                .near(false)
                .build(),
            Self::MemoryRedis => builder
                .far(RedisStore::connect(url).await.expect("redis"))
                .build(),
        }
        .expect("cache")
    }
}

/// Zipf(1.0) over `n` keys by inverse transform on the cumulative weights.
#[derive(Debug)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// Over `n` keys.
    pub fn new(n: u64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect::<Vec<_>>();
        let last = total;
        Self {
            cumulative: cumulative.into_iter().map(|c| c / last).collect(),
        }
    }

    /// A key.
    pub fn sample(&self, rng: &mut fastrand::Rng) -> u64 {
        let u = rng.f64();
        self.cumulative.partition_point(|&c| c < u) as u64
    }
}
