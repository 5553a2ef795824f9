//! The in-process cache through its public API: TTL, jitter, bounds, invalidation, stats,
//! single-flight, shared errors, negative caching and refresh-ahead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::codec::{Json, Postcard};
use cache_core::{Cache, CacheKey, Clock, KeyLayout, KeyPrefix, KeyWriter, MockClock, Policy};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct UserKey(u64);

impl CacheKey for UserKey {
    type Value = String;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "user";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(60))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

/// Same segments as `UserKey`, another namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TrustScore(u64);

impl CacheKey for TrustScore {
    type Value = f64;
    type Codec = Json;
    const NAMESPACE: &'static str = "trust";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(60))
        .jitter(Duration::from_secs(30))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MerchantKey(String);

impl CacheKey for MerchantKey {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "merchant";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .negative_time_to_live(Duration::from_secs(30))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.0);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TopOffers;

impl CacheKey for TopOffers {
    type Value = u64;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "top_offers";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(600))
        .refresh_after(Duration::from_secs(60))
        .build();
    fn write_key(&self, _: &mut KeyWriter<'_>) {}
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Verification {
    network: String,
    account: String,
}

impl CacheKey for Verification {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "verification";
    const POLICY: Policy = Policy::builder().build();
    const LAYOUT: KeyLayout = KeyLayout::template("");
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.network).segment_str(&self.account);
    }
}

fn mocked(capacity: u64) -> (Cache, MockClock) {
    let (clock, mock) = Clock::mock();
    (
        Cache::builder()
            .max_capacity(capacity)
            .clock(clock)
            .build()
            .unwrap(),
        mock,
    )
}

#[tokio::test]
async fn insert_then_get_hits_and_counts() {
    let (cache, _) = mocked(100);
    assert_eq!(cache.get(&UserKey(1)).await, None);
    cache.insert(UserKey(1), "ada".to_string()).await;
    cache.insert(TrustScore(1), 0.9).await;
    assert_eq!(
        cache.get(&UserKey(1)).await.as_deref().map(String::as_str),
        Some("ada")
    );
    assert_eq!(cache.get(&TrustScore(1)).await.as_deref(), Some(&0.9));
    assert_eq!(cache.get(&UserKey(2)).await, None);
    let stats = cache.stats();
    let user = stats.namespace("user").unwrap().counts;
    assert_eq!((user.hits, user.misses, user.inserts), (1, 2, 1));
    assert_eq!(stats.namespace("trust").unwrap().counts.hits, 1);
    assert_eq!(stats.total().hits, 2);
    assert!((stats.hit_ratio() - 0.5).abs() < 1e-9);
}

#[tokio::test]
async fn a_hit_hands_out_the_stored_arc() {
    let (cache, _) = mocked(100);
    let value = Arc::new("shared".to_string());
    cache.insert_arc(UserKey(1), value.clone()).await;
    let hit = cache.get(&UserKey(1)).await.unwrap();
    assert!(Arc::ptr_eq(&hit, &value));
}

#[tokio::test]
async fn get_in_process_reads_without_waiting_and_counts_only_hits() {
    let (cache, clock) = mocked(100);
    assert_eq!(cache.get_in_process(&UserKey(1)), None);
    cache.insert(UserKey(1), "ada".to_string()).await;
    assert_eq!(
        cache
            .get_in_process(&UserKey(1))
            .as_deref()
            .map(String::as_str),
        Some("ada")
    );
    let counts = cache.stats().namespace("user").unwrap().counts;
    assert_eq!((counts.hits, counts.misses), (1, 0));
    clock.advance(Duration::from_secs(60));
    assert_eq!(cache.get_in_process(&UserKey(1)), None, "expired");
    assert_eq!(cache.entry_count(), 0);
}

#[tokio::test]
async fn entries_expire_after_their_ttl() {
    let (cache, clock) = mocked(100);
    cache.insert(UserKey(1), "ada".to_string()).await;
    clock.advance(Duration::from_secs(59));
    assert!(cache.get(&UserKey(1)).await.is_some());
    clock.advance(Duration::from_secs(1));
    assert!(cache.get(&UserKey(1)).await.is_none());
    assert_eq!(
        cache.entry_count(),
        0,
        "an expired entry is removed when read"
    );
    assert_eq!(
        cache.stats().namespace("user").unwrap().counts.expirations,
        1
    );
}

#[tokio::test]
async fn jitter_spreads_expiry_below_the_ttl() {
    let (cache, clock) = mocked(10_000);
    for id in 0..1000 {
        cache.insert(TrustScore(id), 0.5).await;
    }
    clock.advance(Duration::from_secs(30) - Duration::from_millis(1));
    let mut live = 0;
    for id in 0..1000 {
        live += usize::from(cache.get(&TrustScore(id)).await.is_some());
    }
    assert_eq!(live, 1000, "nothing expires before TTL minus jitter");
    clock.advance(Duration::from_secs(15));
    let mut live = 0;
    for id in 0..1000 {
        live += usize::from(cache.get(&TrustScore(id)).await.is_some());
    }
    assert!(
        (200..800).contains(&live),
        "about half expire by the middle of the window: {live}"
    );
    clock.advance(Duration::from_secs(15) + Duration::from_millis(1));
    for id in 0..1000 {
        assert!(
            cache.get(&TrustScore(id)).await.is_none(),
            "everything is gone at the TTL"
        );
    }
}

#[tokio::test]
async fn get_many_keeps_order() {
    let (cache, _) = mocked(100);
    cache.insert(UserKey(1), "a".to_string()).await;
    cache.insert(UserKey(3), "c".to_string()).await;
    let got = cache.get_many(&[UserKey(1), UserKey(2), UserKey(3)]).await;
    let got: Vec<_> = got.iter().map(|v| v.as_deref().cloned()).collect();
    assert_eq!(got, [Some("a".to_string()), None, Some("c".to_string())]);
}

#[tokio::test]
async fn invalidation_by_key_prefix_and_namespace() {
    let (cache, _) = mocked(1000);
    for id in 0..10 {
        cache.insert(UserKey(id), id.to_string()).await;
        cache.insert(TrustScore(id), 1.0).await;
    }
    cache.invalidate(&UserKey(0)).await;
    assert!(cache.get(&UserKey(0)).await.is_none());

    let one = KeyPrefix::of::<UserKey>().segment(1);
    assert_eq!(cache.invalidate_prefix(&one).await.unwrap(), 1);
    assert!(cache.get(&UserKey(1)).await.is_none());

    let users = KeyPrefix::namespace::<UserKey>()
        .unwrap()
        .exclude(&UserKey(9));
    assert_eq!(cache.keys(&users).await.unwrap().len(), 7);
    assert_eq!(cache.invalidate_prefix(&users).await.unwrap(), 7);
    assert!(cache.get(&UserKey(9)).await.is_some(), "excluded key stays");
    for id in 0..10 {
        assert!(
            cache.get(&TrustScore(id)).await.is_some(),
            "other namespaces stay"
        );
    }
    assert_eq!(
        cache
            .stats()
            .namespace("user")
            .unwrap()
            .counts
            .invalidations,
        9
    );
}

#[tokio::test]
async fn template_keys_share_a_layout_and_refuse_unbounded_prefixes() {
    let (cache, _) = mocked(100);
    let key = Verification {
        network: "polkadot".into(),
        account: "5Grw".into(),
    };
    cache.insert(key.clone(), "Pending".into()).await;
    let all = KeyPrefix::of::<Verification>();
    assert!(cache.invalidate_prefix(&all).await.is_err());
    assert_eq!(
        cache.keys(&all.clone().segment("polkadot")).await.unwrap(),
        ["polkadot:5Grw"]
    );
    assert_eq!(
        cache
            .invalidate_prefix(&all.segment("kusama"))
            .await
            .unwrap(),
        0
    );
    assert!(cache.get(&key).await.is_some());
}

#[tokio::test]
async fn the_entry_bound_holds_and_evictions_are_counted() {
    let (cache, _) = mocked(100);
    for id in 0..1000 {
        cache.insert(UserKey(id), "x".repeat(10)).await;
    }
    assert!(
        cache.entry_count() <= 110,
        "{} entries",
        cache.entry_count()
    );
    let evictions = cache.stats().namespace("user").unwrap().counts.evictions;
    assert!(evictions >= 890, "{evictions} evictions");
}

#[tokio::test]
async fn the_weight_bound_holds() {
    let (clock, _) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(10_000)
        .max_weight(64 * 1024)
        .clock(clock)
        .build()
        .unwrap();
    for id in 0..1000 {
        cache.insert(UserKey(id), "x".repeat(1000)).await;
    }
    assert!(
        cache.weighted_size() <= 64 * 1024 + 2048,
        "weight {}",
        cache.weighted_size()
    );
    assert!(
        cache.entry_count() < 64,
        "{} entries of 1 KB in 64 KiB",
        cache.entry_count()
    );
    assert!(cache.entry_count() > 16);
}

/// A key whose weight is mostly its own text: a long URL-like key with a tiny value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LongKey(String);

impl CacheKey for LongKey {
    type Value = u8;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "long";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(60))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.0);
    }
}

#[tokio::test]
async fn a_memory_budget_bounds_one_key_type_and_weighs_its_keys() {
    let (clock, _) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(100_000)
        .clock(clock)
        .build()
        .unwrap();
    cache.set_memory_budget::<LongKey>(64 * 1024);
    // 2000 entries of a 1 KB key and a 1-byte value: 2 MB of keys against a 64 KiB budget.
    for id in 0..2000 {
        cache
            .insert(LongKey(format!("{id:04}{}", "q".repeat(1000))), 1)
            .await;
    }
    // Another key type keeps its share of the entry bound, untouched by the budget.
    for id in 0..2000 {
        cache.insert(UserKey(id), "x".repeat(1000)).await;
    }
    let long = cache.stats().namespace("long").unwrap().counts.evictions;
    assert!(long >= 1900, "{long} evictions of long keys");
    let users = cache
        .stats()
        .namespace("user")
        .map_or(0, |n| n.counts.evictions);
    assert_eq!(users, 0, "the budget is LongKey's alone");
    assert!(cache.get(&UserKey(0)).await.is_some());
    assert!(
        cache.weighted_size() <= 64 * 1024 + 2048 + 2000,
        "weight {}",
        cache.weighted_size()
    );
}

#[tokio::test]
async fn zero_bounds_are_refused() {
    let err = Cache::builder().max_capacity(0).build().unwrap_err();
    assert_eq!(err.kind(), cache_core::ErrorKind::Config);
    assert!(err.to_string().contains("max_capacity"));
    assert!(Cache::builder().max_weight(0).build().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_misses_run_the_loader_once() {
    let cache = Cache::new(100);
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (cache, runs, gate) = (cache.clone(), runs.clone(), gate.clone());
            tokio::spawn(async move {
                cache
                    .get_with(&UserKey(7), async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // Hold the load open until every caller has missed.
                        let _ = gate.acquire().await;
                        "loaded".to_string()
                    })
                    .await
            })
        })
        .collect();
    while cache.stats().total().misses < 1000 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1);
    let mut values = Vec::new();
    for task in tasks {
        values.push(task.await.unwrap());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(
        values
            .iter()
            .all(|v| Arc::ptr_eq(v, &values[0]) && **v == "loaded")
    );
    assert_eq!(cache.stats().total().loads, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loader_error_reaches_every_waiter_and_is_not_cached() {
    let cache = Cache::new(100);
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, runs, gate) = (cache.clone(), runs.clone(), gate.clone());
            tokio::spawn(async move {
                cache
                    .try_get_with(&UserKey(1), async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let _ = gate.acquire().await;
                        Err::<String, _>(std::io::Error::other("database down"))
                    })
                    .await
            })
        })
        .collect();
    while cache.stats().total().misses < 100 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1);
    let mut errors = Vec::new();
    for task in tasks {
        errors.push(task.await.unwrap().unwrap_err());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(
        errors
            .iter()
            .all(|e| Arc::ptr_eq(e, &errors[0]) && e.to_string() == "database down")
    );
    assert!(
        cache.get(&UserKey(1)).await.is_none(),
        "errors are not cached"
    );

    let ok = cache
        .try_get_with(&UserKey(1), async {
            Ok::<_, std::io::Error>("back".to_string())
        })
        .await;
    assert_eq!(*ok.unwrap(), "back");
    let counts = cache.stats().total();
    assert_eq!((counts.loads, counts.load_errors), (2, 1));
}

#[tokio::test]
async fn a_cancelled_leader_hands_the_load_to_a_waiter() {
    let cache = Cache::new(100);
    let stuck = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_with(&UserKey(5), std::future::pending::<String>())
                .await
        })
    };
    while cache.stats().total().loads < 1 {
        tokio::task::yield_now().await;
    }
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_with(&UserKey(5), async { "second".to_string() })
                .await
        })
    };
    while cache.stats().total().misses < 2 {
        tokio::task::yield_now().await;
    }
    stuck.abort();
    assert_eq!(*waiter.await.unwrap(), "second");
    assert_eq!(cache.stats().total().loads, 2);
}

#[tokio::test]
async fn negative_caching_remembers_not_found_for_its_ttl() {
    let (cache, clock) = mocked(100);
    let runs = AtomicUsize::new(0);
    let missing = MerchantKey("gone".into());
    for _ in 0..3 {
        let got = cache
            .optionally_get_with(&missing, async {
                runs.fetch_add(1, Ordering::SeqCst);
                None
            })
            .await;
        assert!(got.is_none());
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the not-found is remembered"
    );
    assert!(cache.get(&missing).await.is_none());
    // A caller that needs a value is not satisfied by the remembered not-found.
    assert_eq!(
        *cache
            .get_with(&missing, async { "found".to_string() })
            .await,
        "found"
    );

    cache.invalidate(&missing).await;
    let _ = cache.optionally_get_with(&missing, async { None }).await;
    clock.advance(Duration::from_secs(31));
    let got = cache
        .optionally_get_with(&missing, async { Some("back".to_string()) })
        .await;
    assert_eq!(
        got.as_deref().map(String::as_str),
        Some("back"),
        "the not-found expired after 30 s"
    );
}

#[tokio::test]
async fn without_negative_ttl_not_found_is_not_cached() {
    let (cache, _) = mocked(100);
    let runs = AtomicUsize::new(0);
    for _ in 0..3 {
        let got = cache
            .optionally_get_with(&UserKey(1), async {
                runs.fetch_add(1, Ordering::SeqCst);
                None
            })
            .await;
        assert!(got.is_none());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_ahead_serves_the_current_value_and_reloads_once() {
    let (cache, clock) = mocked(100);
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let loader = |runs: Arc<AtomicUsize>, gate: Arc<Semaphore>| async move {
        let n = runs.fetch_add(1, Ordering::SeqCst) as u64;
        if n > 0 {
            // Hold the background reload open while hits keep coming.
            let _ = gate.acquire().await;
        }
        n
    };
    assert_eq!(
        *cache
            .get_with_refresh(&TopOffers, loader(runs.clone(), gate.clone()))
            .await,
        0
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        *cache
            .get_with_refresh(&TopOffers, loader(runs.clone(), gate.clone()))
            .await,
        0
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "no refresh before refresh_after"
    );

    clock.advance(Duration::from_secs(31));
    for _ in 0..50 {
        let value = cache
            .get_with_refresh(&TopOffers, loader(runs.clone(), gate.clone()))
            .await;
        assert_eq!(
            *value, 0,
            "the current value is served while the reload runs"
        );
    }
    while runs.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(100);
    while cache.get(&TopOffers).await.as_deref() != Some(&1) {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "exactly one background reload"
    );
    assert_eq!(cache.stats().total().refreshes, 1);
}

#[tokio::test]
async fn the_bound_is_shared_between_key_types() {
    let (cache, _) = mocked(200);
    for id in 0..1000 {
        cache.insert(UserKey(id), "x".to_string()).await;
    }
    assert!(
        cache.entry_count() <= 220,
        "one type may use the whole bound: {}",
        cache.entry_count()
    );
    for id in 0..1000 {
        cache.insert(TrustScore(id), 0.5).await;
    }
    assert!(
        cache.entry_count() <= 220,
        "two types share it: {}",
        cache.entry_count()
    );
    let stats = cache.stats();
    assert!(stats.namespace("trust").unwrap().counts.evictions > 0);
    assert!(stats.namespace("user").unwrap().counts.evictions >= 800);
}

#[tokio::test]
async fn tags_invalidate_in_process() {
    let (cache, _) = mocked(100);
    cache
        .insert_tagged(UserKey(1), "a".into(), &["team:1"])
        .await;
    cache
        .insert_tagged(UserKey(2), "b".into(), &["team:1", "admins"])
        .await;
    cache.insert_tagged(TrustScore(1), 0.5, &["team:1"]).await;
    cache.insert(UserKey(3), "c".into()).await;
    assert_eq!(cache.invalidate_tag("team:1").await, 3);
    assert!(cache.get(&UserKey(1)).await.is_none());
    assert!(cache.get(&TrustScore(1)).await.is_none());
    assert!(cache.get(&UserKey(3)).await.is_some());
    assert_eq!(cache.invalidate_tag("admins").await, 0);
}

#[tokio::test]
async fn throttle_in_process_follows_the_gcra() {
    #[derive(Clone, PartialEq, Eq, Hash)]
    struct Bucket(u32);
    impl CacheKey for Bucket {
        type Value = i64;
        type Codec = cache_core::codec::Text;
        const NAMESPACE: &'static str = "bucket";
        const POLICY: Policy = Policy::builder()
            .time_to_live(Duration::from_secs(60))
            .build();
        fn write_key(&self, key: &mut KeyWriter<'_>) {
            key.segment(self.0);
        }
    }
    let (cache, clock) = mocked(100);
    let allowed = |t: cache_core::Throttle| t.allowed;
    for _ in 0..2 {
        assert!(allowed(
            cache
                .throttle(&Bucket(1), 1, Duration::from_secs(1), 2)
                .await
                .unwrap()
        ));
    }
    let refused = cache
        .throttle(&Bucket(1), 1, Duration::from_secs(1), 2)
        .await
        .unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    assert!(allowed(
        cache
            .throttle(&Bucket(2), 1, Duration::from_secs(1), 2)
            .await
            .unwrap()
    ));
    clock.advance(Duration::from_secs(1));
    assert!(allowed(
        cache
            .throttle(&Bucket(1), 1, Duration::from_secs(1), 2)
            .await
            .unwrap()
    ));
    assert!(!allowed(
        cache
            .throttle(&Bucket(1), 1, Duration::from_secs(1), 2)
            .await
            .unwrap()
    ));
}
