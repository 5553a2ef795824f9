//! A fixed number of in-process hits of one variant of the `near_hit` bench, for counting
//! instructions and cycles per hit with `perf stat` or `valgrind --tool=callgrind`, which the
//! noisy wall clock of these shared machines does not disturb.
//!
//! `target/release/near_probe interleave [rounds]` runs every variant in round-robin slices of
//! 20 000 lookups and prints the median time of each and the median per-round ratios; the
//! machine's load drifts then fall on all variants alike.
//!
//! `target/release/near_probe <variant> [lookups]`, variants: `rwlock`, `quick`, `fat`
//! (quick_cache holding 32-byte values, the typed store's size before it shrank to 16),
//! `typed`, `rwlock_fn`, `cached_fn`, `none` (the loop alone). Each runs its lookups inside
//! one `block_on`, as criterion's `to_async` does, after the same 10 000-entry setup.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use benches::near::{
    CACHED, ENTRIES, Profile, ProfileKey, cached_profile, next, profile, read_locked,
};
use cache_core::Cache;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "typed".into());
    let lookups: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let values: Vec<Arc<Profile>> = (0..ENTRIES).map(profile).collect();
    let typed = Cache::new(ENTRIES * 2);
    let quick: quick_cache::sync::Cache<ProfileKey, Arc<Profile>> =
        quick_cache::sync::Cache::new(ENTRIES as usize * 2);
    #[derive(Clone)]
    struct Fat {
        value: Option<Arc<Profile>>,
        _expires: u64,
        _weight: u32,
        _extra: Option<Arc<()>>,
    }
    let fat: quick_cache::sync::Cache<ProfileKey, Fat> =
        quick_cache::sync::Cache::new(ENTRIES as usize * 2);
    let mut map = HashMap::new();
    rt.block_on(async {
        for (id, v) in values.iter().enumerate() {
            typed.insert_arc(ProfileKey(id as u64), v.clone()).await;
        }
        for (id, v) in values.iter().enumerate() {
            CACHED.insert_arc(ProfileKey(id as u64), v.clone()).await;
        }
    });
    for (id, v) in values.iter().enumerate() {
        quick.insert(ProfileKey(id as u64), v.clone());
        fat.insert(
            ProfileKey(id as u64),
            Fat {
                value: Some(v.clone()),
                _expires: u64::MAX,
                _weight: 1,
                _extra: None,
            },
        );
        map.insert(id as u64, v.clone());
    }
    let locked = RwLock::new(map);

    let mut i = 0usize;
    // One slice of `n` lookups of variant `v`; returns nanoseconds per lookup.
    let mut slice = |v: &str, n: usize| -> f64 {
        let started = Instant::now();
        let found = rt.block_on(async {
            let mut found = 0usize;
            macro_rules! each {
                ($lookup:expr) => {
                    for _ in 0..n {
                        i = next(i);
                        found += usize::from(black_box($lookup).is_some());
                    }
                };
            }
            match v {
                "rwlock" => each!(async { locked.read().unwrap().get(&(i as u64)).cloned() }.await),
                "quick" => each!(async { quick.get(&ProfileKey(i as u64)) }.await),
                "fat" => {
                    each!(async { fat.get(&ProfileKey(i as u64)).and_then(|f| f.value) }.await)
                }
                "typed" => each!(typed.get(&ProfileKey(i as u64)).await),
                "rwlock_fn" => each!(read_locked(&locked, i as u64).await),
                "cached_fn" => each!(Some(cached_profile(i as u64).await)),
                "none" => each!(Some(values[i].clone())),
                other => panic!("unknown variant {other}"),
            }
            found
        });
        assert_eq!(found, n, "every lookup was a hit");
        started.elapsed().as_nanos() as f64 / n as f64
    };
    if variant != "interleave" {
        let per_hit = slice(&variant, lookups);
        println!("{variant}: {lookups} hits, {per_hit:.1} ns per hit");
        return;
    }
    // Round-robin slices of every variant, so that the machine's slow drifts of load fall on
    // all of them alike; each pair's ratio is taken within a round.
    let rounds = lookups.clamp(1, 100_000);
    let names = ["rwlock", "quick", "fat", "typed", "rwlock_fn", "cached_fn"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for name in names {
        slice(name, 100_000); // warm-up
    }
    for _ in 0..rounds {
        for (t, name) in times.iter_mut().zip(names) {
            t.push(slice(name, 20_000));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (t, name) in times.iter().zip(names) {
        println!(
            "{name:>10}: {:6.1} ns per hit (median of {rounds} slices)",
            median(t.clone())
        );
    }
    let ratio =
        |a: usize, b: usize| median(times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect());
    println!(
        "typed / rwlock: {:.2} (median of per-round ratios)",
        ratio(3, 0)
    );
    println!("fat / rwlock: {:.2}", ratio(2, 0));
    println!("cached_fn / rwlock_fn: {:.2}", ratio(5, 4));
}
