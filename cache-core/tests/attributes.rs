//! `#[cached]` (cache-aside), `#[cache_put]` (write-through) and `#[cache_evict]`
//! (invalidation), on the memory tier and on Redis.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use cache_core::codec::Json;
use cache_core::{Cache, CacheKey, cache_evict, cache_put, cached};

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

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "profile", ttl = "1h", value = String, codec = Json)]
struct ProfileKey(u64);

struct Repo {
    cache: Cache,
    writes: AtomicUsize,
}

impl Repo {
    fn new(cache: Cache) -> Self {
        Self {
            cache,
            writes: AtomicUsize::new(0),
        }
    }

    #[cache_put(cache = self.cache, key = ProfileKey(id))]
    async fn save(&self, id: u64, name: &str, fail: bool) -> Result<String, String> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        if fail {
            Err("database down".to_string())
        } else {
            Ok(name.to_owned())
        }
    }

    #[cache_put(cache = self.cache, key = ProfileKey(id))]
    async fn save_optional(&self, id: u64, name: Option<&str>) -> Option<String> {
        name.map(str::to_owned)
    }

    #[cache_evict(cache = self.cache, key = ProfileKey(id))]
    async fn delete(&self, id: u64, fail: bool) -> Result<(), String> {
        if fail {
            Err("database down".to_string())
        } else {
            Ok(())
        }
    }

    #[cache_evict(cache = self.cache, key = ProfileKey(id), before = true)]
    async fn delete_first(&self, id: u64) -> Result<(), String> {
        // Evicted before the call, so even a failing call leaves no stale entry behind.
        let _ = id;
        Err("database down".to_string())
    }

    #[cache_evict(cache = self.cache, tag = "team:1")]
    async fn reorganise(&self) {}

    #[cache_evict(cache = self.cache, namespace = ProfileKey)]
    async fn wipe(&self) -> usize {
        3
    }
}

#[tokio::test]
async fn cache_put_writes_successful_results_through() {
    let repo = Repo::new(Cache::new(100));
    assert_eq!(repo.save(1, "ada", false).await, Ok("ada".into()));
    assert_eq!(
        repo.cache
            .get(&ProfileKey(1))
            .await
            .as_deref()
            .map(String::as_str),
        Some("ada")
    );
    assert!(repo.save(1, "grace", true).await.is_err());
    assert_eq!(
        repo.cache
            .get(&ProfileKey(1))
            .await
            .as_deref()
            .map(String::as_str),
        Some("ada"),
        "a failed write changes nothing"
    );
    assert_eq!(repo.save(1, "grace", false).await, Ok("grace".into()));
    assert_eq!(
        repo.cache
            .get(&ProfileKey(1))
            .await
            .as_deref()
            .map(String::as_str),
        Some("grace")
    );
    assert_eq!(
        repo.writes.load(Ordering::SeqCst),
        3,
        "the body always runs"
    );

    assert_eq!(repo.save_optional(2, Some("x")).await.as_deref(), Some("x"));
    assert!(repo.cache.get(&ProfileKey(2)).await.is_some());
    assert_eq!(repo.save_optional(2, None).await, None);
    assert!(
        repo.cache.get(&ProfileKey(2)).await.is_none(),
        "writing nothing through removes the entry"
    );
}

#[tokio::test]
async fn cache_evict_runs_after_success_or_before_when_asked() {
    let repo = Repo::new(Cache::new(100));
    repo.cache.insert(ProfileKey(1), "ada".into()).await;
    assert!(repo.delete(1, true).await.is_err());
    assert!(
        repo.cache.get(&ProfileKey(1)).await.is_some(),
        "a failed mutation evicts nothing"
    );
    assert!(repo.delete(1, false).await.is_ok());
    assert!(repo.cache.get(&ProfileKey(1)).await.is_none());

    repo.cache.insert(ProfileKey(2), "grace".into()).await;
    assert!(repo.delete_first(2).await.is_err());
    assert!(
        repo.cache.get(&ProfileKey(2)).await.is_none(),
        "before = true evicts even when the call fails"
    );

    repo.cache
        .insert_tagged(ProfileKey(3), "team member".into(), &["team:1"])
        .await;
    repo.cache.insert(ProfileKey(4), "solo".into()).await;
    repo.reorganise().await;
    assert!(repo.cache.get(&ProfileKey(3)).await.is_none());
    assert!(repo.cache.get(&ProfileKey(4)).await.is_some());

    repo.cache
        .insert(UserKey(9), "other namespace".into())
        .await;
    assert_eq!(repo.wipe().await, 3);
    assert!(repo.cache.get(&ProfileKey(4)).await.is_none());
    assert!(repo.cache.get(&UserKey(9)).await.is_some());
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

    #[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
    #[cache(namespace = "offer", ttl = "1h", value = String, codec = Json, tags = ["merchant:{merchant}"])]
    struct OfferKey {
        merchant: String,
        offer: u64,
    }

    #[tokio::test]
    async fn key_type_tags_are_recorded_in_redis() {
        let (url, _server) = RedisServer::url_or_start().unwrap();
        let a = Cache::builder()
            .far(RedisStore::connect(&url).await.unwrap())
            .build()
            .unwrap();
        a.insert(
            OfferKey {
                merchant: "amazon".into(),
                offer: 1,
            },
            "10% off".into(),
        )
        .await;
        a.insert(
            OfferKey {
                merchant: "amazon".into(),
                offer: 2,
            },
            "free delivery".into(),
        )
        .await;
        let b = Cache::builder()
            .far(RedisStore::connect(&url).await.unwrap())
            .build()
            .unwrap();
        assert_eq!(
            b.invalidate_tag("merchant:amazon").await,
            2,
            "another instance removes both through Redis"
        );
    }

    #[tokio::test]
    async fn put_and_evict_reach_redis() {
        let (url, _server) = RedisServer::url_or_start().unwrap();
        let repo = Repo::new(
            Cache::builder()
                .far(RedisStore::connect(&url).await.unwrap())
                .build()
                .unwrap(),
        );
        repo.save(5, "ada", false).await.unwrap();
        let other = Cache::builder()
            .far(RedisStore::connect(&url).await.unwrap())
            .build()
            .unwrap();
        assert_eq!(
            other
                .get(&ProfileKey(5))
                .await
                .as_deref()
                .map(String::as_str),
            Some("ada")
        );
        repo.delete(5, false).await.unwrap();
        let third = Cache::builder()
            .far(RedisStore::connect(&url).await.unwrap())
            .build()
            .unwrap();
        assert!(third.get(&ProfileKey(5)).await.is_none());
    }
}
