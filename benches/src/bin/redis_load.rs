//! Load run: typed `Cache::get` on Redis against raw redis-rs `GET`, 50 concurrent tasks,
//! in alternating rounds so that both see the same machine state. Prints each round's
//! throughput and the median ratio. On a private `redis-server`, or `REDIS_URL`.
//!
//! `cargo run --release -p benches --bin redis_load [rounds] [series]`
//!
//! With `series` (`raw`, `typed`, `cached`, `raw-bb8`, `typed-bb8` or `hand`, or several joined by
//! commas), only those run (the others print 0): for measuring one series' CPU time per read with
//! `perf stat -e task-clock` against a server started apart (`REDIS_URL`).

use std::sync::Arc;

use bb8_redis::RedisConnectionManager;
use benches::{Record, RecordKey, concurrent_reads};
use cache_core::codec::{Codec, Postcard};
use cache_core::store::redis::{ConnectionMode, RedisOptions, RedisStore};
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey};

/// The same read through a `#[cached]` method; its body (the origin) never runs here,
/// every key is in Redis.
#[derive(Clone)]
struct Reader {
    cache: Arc<Cache>,
}

impl Reader {
    #[cache_core::cached(cache = self.cache, key = RecordKey(id))]
    async fn read(&self, id: u64) -> Arc<Record> {
        Arc::new(Record::new(id))
    }
}

const TASKS: usize = 50;
const GETS_PER_TASK: usize = 400;
const KEYS: u64 = 1000;

/// Reads per second of one round of `op`; 0 when the series is not `run`.
async fn round<F, Fut>(run: bool, op: F) -> f64
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    if !run {
        return 0.0;
    }
    let elapsed = concurrent_reads(TASKS, GETS_PER_TASK, KEYS, op).await;
    (TASKS * GETS_PER_TASK) as f64 / elapsed.as_secs_f64()
}

/// One typed `Cache::get`; a miss here is a failed read, failed open: counted, not fatal.
async fn typed_read(cache: Arc<Cache>, id: u64) {
    let _ = cache.get(&RecordKey(id)).await;
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let only = std::env::args().nth(2);
    let want = move |series: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|o| o == series))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (url, _server) = RedisServer::url_or_start().expect("redis-server on PATH, or REDIS_URL");
    rt.block_on(async move {
        let shared = RedisStore::connect(&url).await.expect("connect");
        let pooled = RedisStore::connect_with(&url, RedisOptions::default().mode(ConnectionMode::pooled(10))).await.expect("connect");
        let typed = Arc::new(Cache::builder().far(shared).near(false).build().expect("cache"));
        let typed_pool = Arc::new(Cache::builder().far(pooled).near(false).build().expect("cache"));
        for id in 0..KEYS {
            typed.insert(RecordKey(id), Record::new(id)).await;
        }
        let raw = redis::Client::open(url.as_str()).expect("url").get_connection_manager().await.expect("connect");
        let raw_pool = bb8::Pool::builder().build(RedisConnectionManager::new(url.as_str()).expect("url")).await.expect("pool");
        let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|id| RecordKey(id).render()).collect());

        let reader = Reader { cache: typed.clone() };
        // Each series is one round of reads; the order flips every round, so that neither the
        // first nor the last place in a round favours a series.
        let (conn, k) = (raw.clone(), keys.clone());
        let raw_get = move |id: u64| {
            let (mut conn, k) = (conn.clone(), k.clone());
            async move {
                let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k[id as usize]).query_async(&mut conn).await.unwrap_or_default();
                std::hint::black_box(v);
            }
        };
        let cache = typed.clone();
        let typed_get = move |id: u64| typed_read(cache.clone(), id);
        let cached_get = move |id: u64| {
            let reader = reader.clone();
            async move {
                std::hint::black_box(reader.read(id).await);
            }
        };
        // What a hand-written helper does (a `get_session` of one's own): format the key, GET,
        // decode, share. Not the raw reference; it shows what a typed read adds to that.
        let conn = raw.clone();
        let hand_get = move |id: u64| {
            let mut conn = conn.clone();
            async move {
                let key = format!("record:v1:{id}");
                let bytes: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap_or_default();
                let record = bytes.and_then(|b| <Postcard as Codec<Record>>::decode(&b).ok()).map(Arc::new);
                std::hint::black_box(record);
            }
        };
        let (pool, k) = (raw_pool.clone(), keys.clone());
        let raw_bb8_get = move |id: u64| {
            let (pool, k) = (pool.clone(), k.clone());
            async move {
                let mut conn = pool.get().await.expect("pool");
                let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k[id as usize]).query_async(&mut *conn).await.unwrap_or_default();
                std::hint::black_box(v);
            }
        };
        let cache = typed_pool.clone();
        let typed_bb8_get = move |id: u64| typed_read(cache.clone(), id);
        let run = ["raw", "typed", "cached", "raw-bb8", "typed-bb8", "hand"].map(&want);
        type Round = std::pin::Pin<Box<dyn std::future::Future<Output = f64>>>;
        let series: [Box<dyn Fn() -> Round>; 6] = [
            Box::new(move || Box::pin(round(run[0], raw_get.clone()))),
            Box::new(move || Box::pin(round(run[1], typed_get.clone()))),
            Box::new(move || Box::pin(round(run[2], cached_get.clone()))),
            Box::new(move || Box::pin(round(run[3], raw_bb8_get.clone()))),
            Box::new(move || Box::pin(round(run[4], typed_bb8_get.clone()))),
            Box::new(move || Box::pin(round(run[5], hand_get.clone()))),
        ];
        let mut results: [Vec<f64>; 6] = Default::default();
        for r in 0..rounds {
            let mut order: Vec<usize> = (0..series.len()).collect();
            if r % 2 == 1 {
                order.reverse();
            }
            for i in order {
                results[i].push(series[i]().await);
            }
            let [raw_mux, typed_mux, cached_mux, raw_bb8, typed_bb8, hand] = &results;
            println!(
                "round {r}: raw multiplexed {:>8.0}/s  typed multiplexed {:>8.0}/s  #[cached] {:>8.0}/s  raw bb8 {:>7.0}/s  typed bb8 {:>7.0}/s  hand-written {:>8.0}/s",
                raw_mux[r], typed_mux[r], cached_mux[r], raw_bb8[r], typed_bb8[r], hand[r]
            );
        }
        let [raw_mux, typed_mux, cached_mux, raw_bb8, typed_bb8, hand] = results;
        let hand_ratios: Vec<f64> = hand.iter().zip(&typed_mux).map(|(h, t)| t / h).collect();
        println!(
            "hand-written helper on the shared connection: median {:.0}/s; typed / hand-written per round, median {:.2}",
            median(hand.clone()),
            median(hand_ratios),
        );
        let ratios: Vec<f64> = raw_mux.iter().zip(&typed_mux).map(|(r, t)| t / r).collect();
        let pool_ratios: Vec<f64> = raw_bb8.iter().zip(&typed_bb8).map(|(r, t)| t / r).collect();
        let cached_ratios: Vec<f64> = raw_mux.iter().zip(&cached_mux).map(|(r, t)| t / r).collect();
        println!(
            "#[cached] on the shared connection: median {:.0}/s, per-round ratio to raw GET median {:.2}",
            median(cached_mux.clone()),
            median(cached_ratios),
        );
        println!(
            "median: raw multiplexed {:.0}/s, typed multiplexed {:.0}/s (typed/raw per round, median {:.2}); raw bb8 {:.0}/s, typed bb8 {:.0}/s (median {:.2}); multiplexed/bb8 typed {:.1}x",
            median(raw_mux.clone()),
            median(typed_mux.clone()),
            median(ratios),
            median(raw_bb8.clone()),
            median(typed_bb8.clone()),
            median(pool_ratios),
            median(typed_mux) / median(typed_bb8),
        );
        for (name, cache) in [("multiplexed", &typed), ("bb8", &typed_pool)] {
            let stats = cache.stats().total();
            println!("typed {name}: {} hits, {} misses, {} store errors", stats.hits, stats.misses, stats.store_errors);
        }
    });
}
