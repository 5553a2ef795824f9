//! Coherent in-process tiers: two instances sharing a private `redis-server`, each with its own
//! connections; what one writes or invalidates leaves the other's in-process tier, and an
//! instance that loses Redis empties its own.

use std::sync::Arc;
use std::time::Duration;

use cache_core::store::redis::RedisStore;
use cache_core::stream::Invalidation;
use cache_core::test_util::{RedisServer, Topology, wait_for_coherent_caches};
use cache_core::{Cache, CacheKey, KeyPrefix, cache_evict};

/// A profile, tagged with its merchant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "coherent_profile", ttl = "1h", value = String)]
struct Profile(u64);

/// Another key type, to show a prefix of one type leaves the other alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "coherent_offer", ttl = "1h", value = String)]
struct Offer(u64);

/// An instance with its own connections, keeping in-process copies for an hour: only an
/// announcement can remove them early.
async fn instance(url: &str, coherent: bool) -> Cache {
    let store = RedisStore::connect(url).await.unwrap();
    Cache::builder()
        .far(store)
        .near_ttl(Duration::from_secs(3600))
        .coherent(coherent)
        .build()
        .unwrap()
}

/// Waits until `n` caches listen on the invalidation channel.
async fn listening(url: &str, n: u64) {
    wait_for_coherent_caches(url, n, Duration::from_secs(2))
        .await
        .unwrap();
}

/// Whether `cache` drops its in-process copy of `key` within a second.
async fn dropped<K: CacheKey>(cache: &Cache, key: &K) -> bool {
    for _ in 0..100 {
        if cache.get_in_process(key).is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Reads `key` on `cache`, which then holds it in process. First lets the announcements of
/// the writes before it arrive, so that they do not remove the copy this read makes.
async fn held<K: CacheKey>(cache: &Cache, key: &K) -> Arc<K::Value> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A cache whose connection is still coming back after a restart reads nothing for a
    // moment (fail open): read again until Redis answers.
    for _ in 0..50 {
        if let Some(value) = cache.get(key).await {
            assert!(cache.get_in_process(key).is_some(), "kept in process");
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never read from Redis");
}

async fn what_one_instance_writes_or_invalidates_leaves_the_others_memory(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let (a, b) = (instance(&url, true).await, instance(&url, true).await);
    // The default: copies live out `near_ttl`.
    let plain = instance(&url, false).await;
    listening(&url, 2).await;

    // A write replaces the other instance's copy.
    a.insert(Profile(1), "v1".into()).await;
    assert_eq!(*held(&b, &Profile(1)).await, "v1");
    assert_eq!(*held(&plain, &Profile(1)).await, "v1");
    a.insert(Profile(1), "v2".into()).await;
    assert!(dropped(&b, &Profile(1)).await, "b still holds v1");
    assert_eq!(
        b.get(&Profile(1)).await.as_deref().map(String::as_str),
        Some("v2")
    );
    assert_eq!(
        plain
            .get_in_process(&Profile(1))
            .as_deref()
            .map(String::as_str),
        Some("v1"),
        "without coherence the old copy stays"
    );

    // An invalidation by key.
    held(&b, &Profile(1)).await;
    a.invalidate(&Profile(1)).await;
    assert!(dropped(&b, &Profile(1)).await);
    assert_eq!(b.get(&Profile(1)).await, None);

    // By tag.
    a.insert_tagged(Profile(2), "tagged".into(), &["merchant:7"])
        .await;
    held(&b, &Profile(2)).await;
    a.invalidate_tag("merchant:7").await;
    assert!(dropped(&b, &Profile(2)).await);

    // By prefix (here a whole key type): the other type's copies stay.
    a.insert(Profile(3), "three".into()).await;
    a.insert(Offer(3), "offer".into()).await;
    held(&b, &Profile(3)).await;
    held(&b, &Offer(3)).await;
    a.invalidate_prefix(&KeyPrefix::namespace::<Profile>().unwrap())
        .await
        .unwrap();
    assert!(dropped(&b, &Profile(3)).await);
    assert!(b.get_in_process(&Offer(3)).is_some());

    // A batch write.
    held(&b, &Offer(3)).await;
    a.insert_many(vec![
        (Offer(3), "new offer".into()),
        (Offer(4), "four".into()),
    ])
    .await;
    assert!(dropped(&b, &Offer(3)).await);

    // A key named by rendered text, as an invalidation message from another service names it.
    a.insert(Profile(4), "four".into()).await;
    held(&b, &Profile(4)).await;
    a.apply_invalidation(&Invalidation::key(&Profile(4)))
        .await
        .unwrap();
    assert!(dropped(&b, &Profile(4)).await);

    // An instance keeps what it wrote itself.
    b.insert(Profile(9), "mine".into()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(b.get_in_process(&Profile(9)).is_some());
}

struct Profiles {
    cache: Cache,
}

impl Profiles {
    #[cache_evict(cache = self.cache, key = Profile(id))]
    async fn delete(&self, id: u64) -> Result<(), String> {
        let _ = id;
        Ok(())
    }
}

async fn an_eviction_attribute_on_one_instance_reaches_the_others(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = Profiles {
        cache: instance(&url, true).await,
    };
    let b = instance(&url, true).await;
    listening(&url, 2).await;
    a.cache.insert(Profile(5), "five".into()).await;
    held(&b, &Profile(5)).await;
    a.delete(5).await.unwrap();
    assert!(dropped(&b, &Profile(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_loses_redis_empties_its_memory_then_hears_again() {
    let mut server = RedisServer::start().unwrap();
    let url = server.url();
    let (a, b) = (instance(&url, true).await, instance(&url, true).await);
    listening(&url, 2).await;
    a.insert(Profile(1), "one".into()).await;
    assert!(a.get_in_process(&Profile(1)).is_some());

    // Redis restarts empty: neither instance heard what happened meanwhile.
    server.restart().unwrap();
    assert!(
        dropped(&a, &Profile(1)).await,
        "a kept a copy it could not hear about"
    );

    // Once the channel is back, announcements flow again (the first write after the restart
    // may find the connection still reconnecting, and the breaker open: retry until Redis
    // takes it).
    listening(&url, 2).await;
    let mut written = false;
    for _ in 0..100 {
        if a.strict().insert(Profile(2), "two".into()).await.is_ok() {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "Redis never came back for a");
    held(&b, &Profile(2)).await;
    a.insert(Profile(2), "two again".into()).await;
    assert!(dropped(&b, &Profile(2)).await);
}

#[tokio::test]
async fn coherence_needs_a_far_tier_with_a_channel() {
    let error = Cache::builder().coherent(true).build().unwrap_err();
    assert_eq!(error.kind(), cache_core::ErrorKind::Config, "{error}");
}

cache_core::on_each_topology!(
    what_one_instance_writes_or_invalidates_leaves_the_others_memory,
    an_eviction_attribute_on_one_instance_reaches_the_others,
);
