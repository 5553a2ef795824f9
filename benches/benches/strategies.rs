//! One request per iteration for each strategy on each tier (memory, Redis, memory in front of
//! Redis; Zipf(1.0) over 100 000 keys, 5% writes, a 1 ms origin), next to the reference without
//! a cache in the same group. Hit ratios, origin calls and percentiles come from the
//! `strategies` load run.

use std::sync::Arc;

use benches::strategy::{KEYS, Origin, STRATEGIES, TIERS, WRITE_PERCENT, Zipf};
use cache_core::test_util::RedisServer;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let zipf = Arc::new(Zipf::new(KEYS));
    let server = RedisServer::start().expect("redis-server on PATH");
    for tier in TIERS {
        bench_tier(c, &rt, &zipf, tier, &server.url());
    }
}

fn bench_tier(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    zipf: &Arc<Zipf>,
    tier: benches::strategy::Tier,
    url: &str,
) {
    let mut group = c.benchmark_group(format!("strategies_{}", tier.name()));
    for strategy in STRATEGIES {
        let cache = rt.block_on(tier.cache(url));
        let origin = Arc::new(Origin::default());
        let mut rng = fastrand::Rng::with_seed(7);
        group.bench_function(strategy.name(), |b| {
            b.to_async(rt).iter(|| {
                let id = zipf.sample(&mut rng);
                let write = rng.u64(0..100) < WRITE_PERCENT;
                let (cache, origin) = (cache.clone(), origin.clone());
                async move {
                    if write {
                        strategy.write(&cache, &origin, id).await;
                    } else {
                        strategy.read(&cache, &origin, id).await;
                    }
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
