//! Load run on a private three-master Redis Cluster, each series
//! against its raw redis-rs reference measured in the same round, rounds alternating order:
//!
//! - reads: typed `Cache::get` against a raw cluster-connection `GET`, 50 concurrent tasks;
//! - batches: `Cache::insert_many` of `BATCH` entries (one pipeline per slot) against the same
//!   `SET`s sent by raw redis-rs as concurrent single commands, and the same `insert_many` on a
//!   single server (one pipeline) for scale.
//!
//! `cargo run --release -p benches --bin cluster_load [rounds]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::{Record, RecordKey, concurrent_reads};
use cache_core::codec::{Codec, Postcard};
use cache_core::store::redis::RedisStore;
use cache_core::test_util::{RedisCluster, RedisServer};
use cache_core::{Cache, CacheKey};

const TASKS: usize = 50;
const GETS_PER_TASK: usize = 400;
const KEYS: u64 = 1000;
const BATCH: u64 = 20_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn reads_per_second<F, Fut>(op: F) -> f64
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let elapsed = concurrent_reads(TASKS, GETS_PER_TASK, KEYS, op).await;
    (TASKS * GETS_PER_TASK) as f64 / elapsed.as_secs_f64()
}

fn batch() -> Vec<(RecordKey, Record)> {
    (0..BATCH)
        .map(|id| (RecordKey(id), Record::new(id)))
        .collect()
}

/// Seconds for one `insert_many` of the batch; the batch is built before the clock starts.
async fn insert_many(cache: &Cache) -> f64 {
    let entries = batch();
    let started = Instant::now();
    cache.insert_many(entries).await;
    started.elapsed().as_secs_f64()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cluster = RedisCluster::start().expect("redis-server and redis-cli on PATH");
    let url = cluster.url();
    let single = RedisServer::start().expect("redis-server on PATH");
    rt.block_on(async move {
        let store = RedisStore::connect(&url).await.expect("connect");
        let options = cache_core::store::redis::RedisOptions::default()
            .command_timeout(Duration::from_secs(10));
        let batch_store = RedisStore::connect_with(&url, options.clone())
            .await
            .expect("connect");
        let single_store = RedisStore::connect_with(&single.url(), options)
            .await
            .expect("connect");
        let typed = Arc::new(Cache::builder().far(store).near(false).build().expect("cache"));
        let batches = Cache::builder().far(batch_store).near(false).build().expect("cache");
        let single_batches = Cache::builder().far(single_store).near(false).build().expect("cache");
        for id in 0..KEYS {
            typed.insert(RecordKey(id), Record::new(id)).await;
        }
        let raw = redis::cluster::ClusterClient::new(cluster.urls())
            .expect("seeds")
            .get_async_connection()
            .await
            .expect("connect");
        let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|id| RecordKey(id).render()).collect());
        let values: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
            batch()
                .into_iter()
                .map(|(key, record)| (key.render(), Postcard::encode(&record).expect("encode")))
                .collect(),
        );

        let (mut read_raw, mut read_typed) = (Vec::new(), Vec::new());
        let (mut write_raw, mut write_typed, mut write_single) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (conn, k) = (raw.clone(), keys.clone());
            let raw_get = move |id: u64| {
                let (mut conn, k) = (conn.clone(), k.clone());
                async move {
                    let v: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(&k[id as usize])
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    std::hint::black_box(v);
                }
            };
            let cache = typed.clone();
            let typed_get = move |id: u64| {
                let cache = cache.clone();
                async move {
                    std::hint::black_box(cache.get(&RecordKey(id)).await);
                }
            };
            let raw_set = || async {
                let started = Instant::now();
                let sent = futures_util::future::join_all(values.iter().map(|(key, value)| {
                    let mut conn = raw.clone();
                    async move {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(value)
                            .query_async::<()>(&mut conn)
                            .await
                    }
                }))
                .await;
                assert!(sent.iter().all(Result::is_ok), "raw SETs failed");
                started.elapsed().as_secs_f64()
            };
            if round % 2 == 0 {
                read_raw.push(reads_per_second(raw_get).await);
                read_typed.push(reads_per_second(typed_get).await);
                write_raw.push(raw_set().await);
                write_typed.push(insert_many(&batches).await);
                write_single.push(insert_many(&single_batches).await);
            } else {
                write_single.push(insert_many(&single_batches).await);
                write_typed.push(insert_many(&batches).await);
                write_raw.push(raw_set().await);
                read_typed.push(reads_per_second(typed_get).await);
                read_raw.push(reads_per_second(raw_get).await);
            }
            println!(
                "round {round}: GET raw {:>8.0}/s typed {:>8.0}/s | {BATCH} writes: raw concurrent SETs {:.3} s, insert_many {:.3} s, insert_many on one server {:.3} s",
                read_raw[round], read_typed[round], write_raw[round], write_typed[round], write_single[round]
            );
        }
        let read_ratio: Vec<f64> = read_typed.iter().zip(&read_raw).map(|(t, r)| t / r).collect();
        let write_ratio: Vec<f64> = write_typed.iter().zip(&write_raw).map(|(t, r)| t / r).collect();
        let single_ratio: Vec<f64> = write_typed.iter().zip(&write_single).map(|(t, s)| t / s).collect();
        println!(
            "median: typed GET / raw GET {:.2} (typed {:.0}/s); insert_many time / raw SETs time {:.2} ({:.3} s); cluster / one server insert_many time {:.1}",
            median(read_ratio),
            median(read_typed),
            median(write_ratio),
            median(write_typed),
            median(single_ratio),
        );
        for (name, cache) in [("reads", &*typed), ("batches", &batches), ("one server", &single_batches)] {
            let stats = cache.stats().total();
            println!("{name}: {} hits, {} misses, {} store errors", stats.hits, stats.misses, stats.store_errors);
        }
    });
}
