//! `#[cached]`: cache-aside through a typed key, on the memory tier and on Redis.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use cache_core::codec::Json;
use cache_core::{Cache, CacheKey, cached};

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10_000));

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "merchant", ttl = "1h", value = String, codec = Json)]
struct MerchantKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "lookup", ttl = "1h", value = u64, codec = Json)]
struct LookupKey(u64);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "maybe", ttl = "1h", value = String, codec = Json, negative_ttl = "30s")]
struct MaybeKey(u64);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "user", ttl = "1h", value = String, codec = Json)]
struct UserKey(u64);

static MERCHANT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = CACHE, key = MerchantKey(slug.to_owned()))]
async fn merchant_name(slug: &str) -> String {
    MERCHANT_CALLS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    format!("{slug} store")
}

static STAMPEDE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = CACHE, key = MerchantKey(format!("stampede-{slug}")))]
async fn merchant_stampede(slug: &'static str) -> String {
    STAMPEDE_CALLS.fetch_add(1, Ordering::SeqCst);
    // A slow origin, so that every caller arrives while the first one loads.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    format!("{slug} store")
}

static LOOKUP_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = CACHE, key = LookupKey(id))]
async fn lookup(id: u64, fail: bool) -> Result<u64, String> {
    LOOKUP_CALLS.fetch_add(1, Ordering::SeqCst);
    if fail {
        Err(format!("no row {id}"))
    } else {
        Ok(id * 10)
    }
}

static MAYBE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = CACHE, key = MaybeKey(id))]
async fn maybe(id: u64) -> Option<String> {
    MAYBE_CALLS.fetch_add(1, Ordering::SeqCst);
    id.is_multiple_of(2).then(|| format!("even {id}"))
}

static UNCACHED_NONE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = CACHE, key = MerchantKey(format!("none-{id}")))]
async fn never_found(id: u64) -> Option<String> {
    UNCACHED_NONE_CALLS.fetch_add(1, Ordering::SeqCst);
    let _ = id;
    None
}

struct Users {
    cache: Cache,
    calls: AtomicUsize,
    greeting: &'static str,
}

impl Users {
    /// `self` is not part of the key: two `Users` sharing a cache share entries.
    #[cached(cache = self.cache, key = UserKey(id))]
    async fn name(&self, id: u64) -> Arc<String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Arc::new(format!("{} {id}", self.greeting))
    }
}

#[tokio::test]
async fn a_value_is_computed_once_and_cloned_out() {
    assert_eq!(merchant_name("amazon").await, "amazon store");
    assert_eq!(merchant_name("amazon").await, "amazon store");
    assert_eq!(MERCHANT_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(
        *CACHE.get(&MerchantKey("amazon".into())).await.unwrap(),
        "amazon store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_run_the_body_once() {
    let tasks: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(merchant_stampede("flipkart")))
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "flipkart store");
    }
    assert_eq!(STAMPEDE_CALLS.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn only_ok_is_cached() {
    assert_eq!(lookup(7, true).await, Err("no row 7".to_string()));
    assert_eq!(lookup(7, false).await, Ok(70), "the error was not cached");
    assert_eq!(lookup(7, true).await, Ok(70), "the value was");
    assert_eq!(LOOKUP_CALLS.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn none_is_cached_only_with_negative_caching() {
    assert_eq!(maybe(3).await, None);
    assert_eq!(maybe(3).await, None);
    assert_eq!(maybe(4).await.as_deref(), Some("even 4"));
    assert_eq!(maybe(4).await.as_deref(), Some("even 4"));
    assert_eq!(
        MAYBE_CALLS.load(Ordering::SeqCst),
        2,
        "MaybeKey has a negative_ttl"
    );
    assert_eq!(never_found(1).await, None);
    assert_eq!(never_found(1).await, None);
    assert_eq!(
        UNCACHED_NONE_CALLS.load(Ordering::SeqCst),
        2,
        "MerchantKey has none"
    );
}

#[tokio::test]
async fn methods_leave_self_out_of_the_key() {
    let cache = Cache::new(100);
    let a = Users {
        cache: cache.clone(),
        calls: AtomicUsize::new(0),
        greeting: "hello",
    };
    let b = Users {
        cache,
        calls: AtomicUsize::new(0),
        greeting: "bonjour",
    };
    assert_eq!(*a.name(1).await, "hello 1");
    assert_eq!(
        *b.name(1).await,
        "hello 1",
        "b hits a's entry: self is not in the key"
    );
    assert_eq!(
        a.calls.load(Ordering::SeqCst) + b.calls.load(Ordering::SeqCst),
        1
    );
}

#[cfg(feature = "test-util")]
mod on_redis {
    use super::*;
    use cache_core::store::redis::RedisStore;
    use cache_core::test_util::RedisServer;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    struct Service {
        cache: Cache,
    }

    impl Service {
        #[cached(cache = self.cache, key = MerchantKey(slug.to_owned()))]
        async fn merchant(&self, slug: &str) -> String {
            CALLS.fetch_add(1, Ordering::SeqCst);
            format!("{slug} from the database")
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_functions_share_redis_across_instances() {
        let (url, _server) = RedisServer::url_or_start().unwrap();
        let connect = || async {
            Service {
                cache: Cache::builder()
                    .far(RedisStore::connect(&url).await.unwrap())
                    .build()
                    .unwrap(),
            }
        };
        let (a, b) = (connect().await, connect().await);
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let s = if i % 2 == 0 { &a } else { &b };
                let cache = s.cache.clone();
                tokio::spawn(async move { Service { cache }.merchant("amazon").await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), "amazon from the database");
        }
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            1,
            "one body run for 1000 callers on two instances"
        );
        let mut conn = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let stored: String = redis::cmd("GET")
            .arg("merchant:v1:amazon")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(stored, "\"amazon from the database\"");
    }
}
