//! One request per iteration for each strategy on the memory tier (Zipf(1.0) over 100 000 keys,
//! 5% writes, a 1 ms origin), next to the reference without a cache. Hit ratios, origin calls,
//! percentiles and the other tiers come from the `strategies` load run.

use std::sync::Arc;

use benches::strategy::{KEYS, Origin, STRATEGIES, Tier, WRITE_PERCENT, Zipf};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let zipf = Arc::new(Zipf::new(KEYS));
    let mut group = c.benchmark_group("strategies_memory");
    for strategy in STRATEGIES {
        let cache = rt.block_on(Tier::Memory.cache(""));
        let origin = Arc::new(Origin::default());
        let mut rng = fastrand::Rng::with_seed(7);
        group.bench_function(strategy.name(), |b| {
            b.to_async(&rt).iter(|| {
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
