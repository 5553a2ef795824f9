//! How long a write on one instance takes to remove another instance's in-process copy: two
//! coherent caches, each with its own connections to a private `redis-server` (or
//! `REDIS_URL`), over loopback sockets.
//!
//! Each sample: instance A writes the key, B reads it into its in-process tier, then the clock
//! starts, A invalidates (or overwrites) the key, and B is watched until its copy is gone.
//! Prints p50, p99 and the maximum, for invalidations and for overwrites.
//!
//! `cargo run --release -p benches --bin coherence -- [samples]`

use std::time::{Duration, Instant};

use cache_core::store::redis::RedisStore;
use cache_core::test_util::{RedisServer, wait_for_coherent_caches};
use cache_core::{Cache, CacheKey};

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "bench_coherence", ttl = "1h", value = String)]
struct Key(u64);

async fn instance(url: &str) -> Cache {
    let store = RedisStore::connect(url).await.expect("redis");
    Cache::builder()
        .far(store)
        .near_ttl(Duration::from_secs(3600))
        .coherent(true)
        .build()
        .expect("cache")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: {} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let samples: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let (url, _server) = RedisServer::url_or_start().expect("redis-server");
    let (a, b) = (instance(&url).await, instance(&url).await);
    wait_for_coherent_caches(&url, 2, Duration::from_secs(5))
        .await
        .expect("both caches listen");

    for overwrite in [false, true] {
        let mut latencies = Vec::with_capacity(samples as usize);
        let mut missed = 0;
        for n in 0..samples {
            let key = Key(n + if overwrite { samples } else { 0 });
            a.insert(key.clone(), "v1".into()).await;
            // Let A's own announcement pass B before B takes its copy.
            tokio::time::sleep(Duration::from_millis(2)).await;
            b.get(&key).await.expect("written");
            if b.get_in_process(&key).is_none() {
                missed += 1;
                continue;
            }
            let start = Instant::now();
            if overwrite {
                a.insert(key.clone(), "v2".into()).await;
            } else {
                a.invalidate(&key).await;
            }
            loop {
                if b.get_in_process(&key).is_none() {
                    latencies.push(start.elapsed());
                    break;
                }
                if start.elapsed() > Duration::from_secs(5) {
                    panic!("B kept its copy of {n} for 5 s");
                }
                tokio::task::yield_now().await;
            }
        }
        let what = if overwrite { "overwrite" } else { "invalidate" };
        if missed > 0 {
            println!("{what}: {missed} samples skipped (B's copy was gone before the write)");
        }
        report(what, latencies);
    }
}
