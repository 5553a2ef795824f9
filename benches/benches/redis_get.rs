//! Typed `Cache::get` on the Redis far tier against raw redis-rs `GET`s, 50 concurrent tasks,
//! on a private `redis-server`. Each pair uses the same kind of connection: one shared
//! multiplexed connection (redis-rs `ConnectionManager`), or a bb8-redis pool with default
//! settings. The typed cache runs with `near(false)`, so every read goes to Redis and decodes.
//!
//! `cargo bench -p benches --bench redis_get`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bb8_redis::RedisConnectionManager;
use benches::{Record, RecordKey, concurrent_reads};
use cache_core::store::redis::{ConnectionMode, RedisOptions, RedisStore};
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const TASKS: usize = 50;
const GETS_PER_TASK: usize = 40;
const KEYS: u64 = 1000;

async fn concurrent<F, Fut>(iters: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += concurrent_reads(TASKS, GETS_PER_TASK, KEYS, op.clone()).await;
    }
    total
}

fn redis_get(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = RedisServer::start().expect("redis-server on PATH");
    let url = server.url();

    let (typed_shared, typed_pooled, raw_shared, raw_pool) = rt.block_on(async {
        let shared = RedisStore::connect(&url).await.unwrap();
        let pooled = RedisStore::connect_with(
            &url,
            RedisOptions::default().mode(ConnectionMode::pooled(10)),
        )
        .await
        .unwrap();
        let typed_shared = Cache::builder().far(shared).near(false).build().unwrap();
        let typed_pooled = Cache::builder().far(pooled).near(false).build().unwrap();
        for id in 0..KEYS {
            typed_shared.insert(RecordKey(id), Record::new(id)).await;
        }
        let raw_shared = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        let raw_pool = bb8::Pool::builder()
            .build(RedisConnectionManager::new(url.as_str()).unwrap())
            .await
            .unwrap();
        (
            Arc::new(typed_shared),
            Arc::new(typed_pooled),
            raw_shared,
            raw_pool,
        )
    });
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|id| RecordKey(id).render()).collect());

    let mut group = c.benchmark_group("redis_get_50_tasks");
    group.throughput(Throughput::Elements((TASKS * GETS_PER_TASK) as u64));
    group.sample_size(20);

    group.bench_function("raw_multiplexed", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (conn, keys) = (raw_shared.clone(), keys.clone());
            concurrent(iters, move |id| {
                let (mut conn, keys) = (conn.clone(), keys.clone());
                async move {
                    let v: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(&keys[id as usize])
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    black_box(v);
                }
            })
        })
    });
    group.bench_function("typed_multiplexed", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let cache = typed_shared.clone();
            concurrent(iters, move |id| {
                let cache = cache.clone();
                async move {
                    black_box(cache.get(&RecordKey(id)).await.expect("preloaded"));
                }
            })
        })
    });
    group.bench_function("raw_bb8_pool", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (pool, keys) = (raw_pool.clone(), keys.clone());
            concurrent(iters, move |id| {
                let (pool, keys) = (pool.clone(), keys.clone());
                async move {
                    let mut conn = pool.get().await.unwrap();
                    let v: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(&keys[id as usize])
                        .query_async(&mut *conn)
                        .await
                        .unwrap();
                    black_box(v);
                }
            })
        })
    });
    group.bench_function("typed_bb8_pool", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let cache = typed_pooled.clone();
            concurrent(iters, move |id| {
                let cache = cache.clone();
                async move {
                    black_box(cache.get(&RecordKey(id)).await.expect("preloaded"));
                }
            })
        })
    });
    group.finish();
    let stats = typed_shared.stats().total();
    assert_eq!(
        stats.store_errors + stats.decode_errors + stats.misses,
        0,
        "every typed read was a Redis hit"
    );
    drop(server);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = redis_get
}
criterion_main!(benches);
