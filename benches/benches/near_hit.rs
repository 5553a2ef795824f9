//! A typed near-tier hit against the raw structures underneath, in one group:
//! `typed_get` (this crate), `quick_cache_get` (the crate it stands on), `moka_get` (the
//! alternative), and `rwlock_hashmap_get` (the reference: a `RwLock<HashMap>` read of the same
//! `Arc`). All run inside the same async loop, since `Cache::get` is async. The `clock` group
//! times the two clocks a hit could read.
//!
//! `cargo bench -p benches --bench near_hit`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use benches::near::{
    CACHED, ENTRIES, Profile, ProfileKey, cached_profile, next, profile, read_locked,
};
use cache_core::Cache;
use criterion::{Criterion, criterion_group, criterion_main};

fn near_hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let values: Vec<Arc<Profile>> = (0..ENTRIES).map(profile).collect();

    let quick: quick_cache::sync::Cache<u64, Arc<Profile>> =
        quick_cache::sync::Cache::new(ENTRIES as usize * 2);
    let moka: moka::sync::Cache<u64, Arc<Profile>> = moka::sync::Cache::new(ENTRIES * 2);
    let mut map = HashMap::new();
    for (id, v) in values.iter().enumerate() {
        quick.insert(id as u64, v.clone());
        moka.insert(id as u64, v.clone());
        map.insert(id as u64, v.clone());
    }
    let locked = RwLock::new(map);
    let typed = Cache::new(ENTRIES * 2);
    rt.block_on(async {
        for (id, v) in values.iter().enumerate() {
            typed.insert_arc(ProfileKey(id as u64), v.clone()).await;
        }
    });

    let mut group = c.benchmark_group("near_hit");
    group.bench_function("rwlock_hashmap_get", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            let id = i as u64;
            let locked = &locked;
            async move { black_box(locked.read().unwrap().get(&id).cloned()) }
        })
    });
    group.bench_function("quick_cache_get", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            let id = i as u64;
            let quick = &quick;
            async move { black_box(quick.get(&id)) }
        })
    });
    // Values of 32 bytes, the typed store's size until it shrank to 16: what a raw
    // quick_cache costs with slots as large as the typed store had.
    #[derive(Clone)]
    struct Fat {
        value: Option<Arc<Profile>>,
        _a: u64,
        _b: u64,
        _w: u32,
    }
    let fat: quick_cache::sync::Cache<ProfileKey, Fat> =
        quick_cache::sync::Cache::new(ENTRIES as usize * 2);
    for (id, v) in values.iter().enumerate() {
        fat.insert(
            ProfileKey(id as u64),
            Fat {
                value: Some(v.clone()),
                _a: 1,
                _b: 2,
                _w: 3,
            },
        );
    }
    group.bench_function("quick_cache_fat_get", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            let key = ProfileKey(i as u64);
            let fat = &fat;
            async move { black_box(fat.get(&key).and_then(|f| f.value)) }
        })
    });
    group.bench_function("moka_get", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            let id = i as u64;
            let moka = &moka;
            async move { black_box(moka.get(&id)) }
        })
    });
    group.bench_function("typed_get", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            // The key is built from the id, as the reference's is, and as a caller builds it
            // from a request (an earlier version read it from an array, which added a cache
            // miss of the harness's own to every typed read).
            let key = ProfileKey(i as u64);
            let typed = &typed;
            async move { black_box(typed.get(&key).await) }
        })
    });
    group.finish();

    assert_eq!(
        typed.stats().total().misses,
        0,
        "every typed read was a hit"
    );

    // A `#[cached]` async fn hit next to an async fn reading the same Arc from a
    // RwLock<HashMap>.
    rt.block_on(async {
        for (id, v) in values.iter().enumerate() {
            CACHED.insert_arc(ProfileKey(id as u64), v.clone()).await;
        }
    });
    let mut group = c.benchmark_group("cached_fn_hit");
    group.bench_function("rwlock_async_fn", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            let locked = &locked;
            async move { black_box(read_locked(locked, i as u64).await) }
        })
    });
    group.bench_function("cached_fn", |b| {
        let mut i = 0usize;
        b.to_async(&rt).iter(|| {
            i = next(i);
            async move { black_box(cached_profile(i as u64).await) }
        })
    });
    group.finish();
    assert_eq!(
        CACHED.stats().total().misses,
        0,
        "every cached call was a hit"
    );

    let mut clocks = c.benchmark_group("clock");
    let quanta = quanta::Clock::new();
    clocks.bench_function("std_instant_now", |b| {
        b.iter(|| black_box(std::time::Instant::now()))
    });
    clocks.bench_function("quanta_now", |b| b.iter(|| black_box(quanta.now())));
    clocks.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = near_hit
}
criterion_main!(benches);
