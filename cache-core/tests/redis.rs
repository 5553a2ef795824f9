//! The Redis far tier against real, private `redis-server` processes: operations, TTLs,
//! prefix deletes, counters, leases, two instances sharing one cache, corrupted entries,
//! authentication, and Redis dying and coming back.
//!
//! The tests listed in `on_each_topology!` run twice, on one server and on a three-master
//! Redis Cluster; the others are about one server's connection (pools, restarts, TLS).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::ErrorKind;
use cache_core::codec::{Json, Text};
use cache_core::store::redis::{ConnectionMode, RedisOptions, RedisStore};
use cache_core::store::{Coordination, ScanPage, Store, StoreFuture};
use cache_core::test_util::{RedisServer, Topology, connect};
use cache_core::{Cache, CacheKey, KeyPrefix};
use serde::{Deserialize, Serialize};
#[cfg(target_os = "linux")]
use support::timers_of_connections_to;

mod support;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Session {
    user_id: u64,
    email: String,
    role: String,
}

/// `session:<token>`, 24 h, JSON as a Python service writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "session:{0}", namespace = "session", ttl = "24h", value = Session, codec = Json)]
struct SessionKey(String);

/// `fba:token:<id>`, 1 day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:token:{0}", namespace = "fba_token", ttl = "1d", value = String, codec = Text)]
struct Token(u32);

/// `rate_limit:<ip>`, a 60 s window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "rate_limit:{0}", namespace = "rate_limit", ttl = "60s", value = i64, codec = Text)]
struct RateLimit(String);

/// `lock:withdraw:<user>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "lock:withdraw:{0}", namespace = "lock", ttl = "10s", value = (), codec = Json)]
struct WithdrawLock(u64);

async fn redis_cache(url: &str) -> Cache {
    let store = RedisStore::connect(url).await.unwrap();
    Cache::builder().far(store).build().unwrap()
}

fn session(n: u64) -> Session {
    Session {
        user_id: n,
        email: format!("u{n}@example.com"),
        role: "member".into(),
    }
}

async fn instances_share_entries_through_redis_in_a_python_layout(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = redis_cache(&url).await;
    let b = redis_cache(&url).await;
    let key = SessionKey("tok-1".into());
    a.insert(key.clone(), session(7)).await;

    // Written exactly as a Python service reads it: JSON under `session:<token>`, 24 h TTL.
    let mut conn = connect(&url).await.unwrap();
    let text: String = redis::cmd("GET")
        .arg("session:tok-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), session(7));
    let ttl: i64 = redis::cmd("PTTL")
        .arg("session:tok-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 86_000_000 && ttl <= 86_400_000, "{ttl}");

    // Another instance reads it from Redis, then from its own memory.
    assert_eq!(*b.get(&key).await.unwrap(), session(7));
    assert_eq!(*b.get(&key).await.unwrap(), session(7));
    assert_eq!(b.stats().total().hits, 2);

    // Logout on one instance removes it for the fleet (the other's memory copy aside).
    a.invalidate(&key).await;
    let c = redis_cache(&url).await;
    assert!(c.get(&key).await.is_none());
    assert_eq!(c.stats().total().misses, 1);
}

async fn callers_that_share_one_far_hit_count_as_hits(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let key = SessionKey("shared-read".into());
    redis_cache(&url)
        .await
        .insert(key.clone(), session(3))
        .await;
    // Another instance, empty in process. Redis holds every command for a while, so that the
    // callers pile up behind the first one's read.
    let reader = redis_cache(&url).await;
    let mut conn = connect(&url).await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(300)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
    let loads = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (reader, key, loads) = (reader.clone(), key.clone(), loads.clone());
            tokio::spawn(async move {
                reader
                    .get_with(&key, async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        session(0)
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(*task.await.unwrap(), session(3));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 0);
    // One read reached Redis; every caller was served from the cache, none by the loader.
    let counts = reader.stats().total();
    assert_eq!((counts.hits, counts.misses, counts.loads), (200, 0, 0));
}

async fn python_written_values_are_read(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut conn = connect(&url).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("session:py")
        .arg(r#"{"user_id": 9, "email": "p@y.org", "role": "admin"}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    let cache = redis_cache(&url).await;
    assert_eq!(
        cache.get(&SessionKey("py".into())).await.unwrap().role,
        "admin"
    );
}

async fn get_many_and_insert_many_use_one_round_trip_each(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let writer = redis_cache(&url).await;
    writer
        .insert_many((0..50).map(|i| (Token(i), format!("t{i}"))).collect())
        .await;
    let reader = redis_cache(&url).await;
    let keys: Vec<Token> = (0..60).map(Token).collect();
    let got = reader.get_many(&keys).await;
    for (i, v) in got.iter().enumerate() {
        assert_eq!(
            v.as_deref().map(String::as_str),
            (i < 50).then(|| format!("t{i}")).as_deref()
        );
    }
    let counts = reader.stats().total();
    assert_eq!((counts.hits, counts.misses), (50, 10));
}

async fn undecodable_entries_are_misses_and_are_deleted(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut conn = connect(&url).await.unwrap();
    for (key, bytes) in [
        ("session:garbage", &b"\xff\x00not json"[..]),
        ("session:truncated", &br#"{"user_id": 7, "ema"#[..]),
    ] {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(bytes)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let cache = redis_cache(&url).await;
    assert!(cache.get(&SessionKey("garbage".into())).await.is_none());
    let loaded = cache
        .get_with(&SessionKey("truncated".into()), async { session(1) })
        .await;
    assert_eq!(*loaded, session(1), "get_with falls back to the loader");
    let counts = cache.stats().total();
    assert_eq!(counts.decode_errors, 2);
    let exists: i64 = redis::cmd("EXISTS")
        .arg("session:garbage")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the undecodable entry was deleted");
    let text: String = redis::cmd("GET")
        .arg("session:truncated")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        text.contains("\"user_id\":1"),
        "the loader's value replaced it: {text}"
    );
}

async fn prefix_delete_scans_and_unlinks_in_batches(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    // Twenty thousand writes in one batch are, on a cluster, some eleven thousand pipelines
    // (one per slot), which a debug build takes over a second to send.
    let options = RedisOptions::default()
        .scan_batch(500)
        .command_timeout(Duration::from_secs(10));
    let store = RedisStore::connect_with(&url, options).await.unwrap();
    let cache = Cache::builder().far(store).build().unwrap();
    cache
        .insert_many((0..20_000).map(|i| (Token(i), "x".to_string())).collect())
        .await;
    assert_eq!(cache.stats().total().store_errors, 0);
    cache.insert(SessionKey("stays".into()), session(1)).await;

    let tokens = KeyPrefix::namespace::<Token>()
        .unwrap()
        .exclude(&Token(7))
        .exclude(&Token(8));
    assert_eq!(cache.keys(&tokens).await.unwrap().len(), 19_998);
    assert_eq!(cache.invalidate_prefix(&tokens).await.unwrap(), 19_998);
    let mut conn = connect(&url).await.unwrap();
    let size: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(size, 3, "two excluded tokens and the session remain");
    let left = cache
        .keys(&KeyPrefix::namespace::<Token>().unwrap())
        .await
        .unwrap();
    assert_eq!(left.len(), 2);
    assert!(cache.get(&Token(7)).await.is_some());
}

async fn a_user_segment_cannot_widen_a_prefix_delete(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    cache.insert(SessionKey("alice".into()), session(1)).await;
    cache.insert(SessionKey("bob".into()), session(2)).await;
    for sneaky in ["*", "a*", "[ab]*", "?lice", "alice:*"] {
        let prefix = KeyPrefix::of::<SessionKey>().segment(sneaky);
        assert_eq!(
            cache.invalidate_prefix(&prefix).await.unwrap(),
            0,
            "{sneaky}"
        );
    }
    assert!(cache.get(&SessionKey("alice".into())).await.is_some());
    assert!(cache.get(&SessionKey("bob".into())).await.is_some());
}

async fn concurrent_increments_set_exactly_one_ttl(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let caches = [redis_cache(&url).await, redis_cache(&url).await];
    let key = RateLimit("10.0.0.1".into());
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let cache = caches[i % 2].clone();
            let key = key.clone();
            tokio::spawn(async move { cache.increment(&key, 1).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=200).collect::<Vec<i64>>(),
        "every increment counted once"
    );
    assert_eq!(caches[0].counter(&key).await.unwrap(), Some(200));
    let first = caches[0].time_to_live(&key).await.unwrap().unwrap();
    assert!(
        first <= Duration::from_secs(60) && first > Duration::from_secs(58),
        "{first:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    caches[1].increment(&key, 1).await.unwrap();
    let later = caches[1].time_to_live(&key).await.unwrap().unwrap();
    assert!(
        later < first,
        "a later increment keeps the window's expiry: {later:?} vs {first:?}"
    );

    // A counter an older writer left without TTL gets one on the next increment.
    let mut conn = connect(&url).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("rate_limit:legacy")
        .arg(5)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        caches[0]
            .increment(&RateLimit("legacy".into()), 1)
            .await
            .unwrap(),
        6
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg("rate_limit:legacy")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0, "{ttl}");
}

async fn a_lease_has_one_owner_and_expires(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    let key = WithdrawLock(42);
    let winners = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (cache, key, winners) = (cache.clone(), key.clone(), winners.clone());
            tokio::spawn(async move {
                let lease = cache
                    .try_lock(&key, Duration::from_millis(300))
                    .await
                    .unwrap();
                if lease.is_some() {
                    winners.fetch_add(1, Ordering::SeqCst);
                }
                lease
            })
        })
        .collect();
    let mut leases = Vec::new();
    for t in tasks {
        leases.extend(t.await.unwrap());
    }
    assert_eq!(winners.load(Ordering::SeqCst), 1);
    let first = leases.pop().unwrap();

    // The lease expires by itself; a waiter then gets it, and the old owner cannot release it.
    let second = cache
        .lock(
            &key,
            Duration::from_secs(5),
            Duration::from_secs(3),
            Duration::from_millis(50),
        )
        .await
        .unwrap()
        .expect("the first lease expired");
    assert!(
        !first.release().await.unwrap(),
        "an expired lease does not release the new owner's lock"
    );
    assert!(
        cache
            .try_lock(&key, Duration::from_secs(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(second.release().await.unwrap());
    assert!(
        cache
            .try_lock(&key, Duration::from_secs(1))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn connection_errors_are_clear() {
    let server = RedisServer::builder().password("s3cret").start().unwrap();
    let port = server.port();

    let ok = RedisStore::connect(&server.url()).await.unwrap();
    ok.ping().await.unwrap();

    let wrong = RedisStore::connect(&format!("redis://:nope@127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Auth, "{wrong}");
    assert!(
        !wrong.to_string().contains("nope"),
        "the password is not echoed: {wrong}"
    );

    let missing = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Auth, "{missing}");

    let bad_url = RedisStore::connect("http://nowhere").await.unwrap_err();
    assert_eq!(bad_url.kind(), ErrorKind::Config, "{bad_url}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = RedisOptions::default()
        .connect_timeout(Duration::from_secs(2))
        .reconnect_retries(0);
    let unreachable = RedisStore::connect_with(&format!("redis://127.0.0.1:{closed}"), options)
        .await
        .unwrap_err();
    assert!(
        matches!(
            unreachable.kind(),
            ErrorKind::Connection | ErrorKind::Timeout
        ),
        "{unreachable}"
    );
}

#[tokio::test]
async fn a_pool_serves_the_same_operations() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let store = RedisStore::connect_with(
        &url,
        RedisOptions::default().mode(ConnectionMode::pooled(4)),
    )
    .await
    .unwrap();
    store
        .set("k", b"v", Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(store.increment("n", 2, None).await.unwrap(), 2);
    assert!(
        store
            .try_lock("l", "t", Duration::from_secs(1))
            .await
            .unwrap()
    );
    assert!(store.unlock("l", "t").await.unwrap());
}

async fn entries_expire_in_redis(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    store
        .set("short", b"v", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    assert!(store.get("short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.get("short").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_means_misses_and_the_origin_then_hits_again() {
    let mut server = RedisServer::start().unwrap();
    let options = RedisOptions::default()
        .command_timeout(Duration::from_millis(300))
        .reconnect_retries(1);
    let store = RedisStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let cache = Cache::builder()
        .far(store)
        .near(false)
        .store_timeout(Duration::from_millis(500))
        .circuit_breaker(3, Duration::from_millis(200))
        .build()
        .unwrap();
    let key = Token(1);
    cache.insert(key.clone(), "before".into()).await;
    assert_eq!(
        cache.get(&key).await.as_deref().map(String::as_str),
        Some("before")
    );

    server.stop();
    for _ in 0..10 {
        assert!(cache.get(&key).await.is_none(), "a dead Redis is a miss");
        let v = cache.get_with(&key, async { "origin".to_string() }).await;
        assert_eq!(*v, "origin", "get_with serves from the loader");
        cache.insert(key.clone(), "ignored".into()).await;
    }
    assert!(cache.stats().total().store_errors >= 3);

    server.restart().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        cache.insert(key.clone(), "after".into()).await;
        if cache.get(&key).await.as_deref().map(String::as_str) == Some("after") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cache did not resume after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Run twice as a child process by the test below (the environment variable says so).
async fn flight_child(url: &str) {
    let cache = redis_cache(url).await;
    let mut conn = connect(url).await.unwrap();
    let value = cache
        .get_with(&Token(99), async {
            let _: i64 = redis::cmd("INCR")
                .arg("origin_calls")
                .query_async(&mut conn)
                .await
                .unwrap();
            // A slow origin, so that the other process arrives while this one loads.
            tokio::time::sleep(Duration::from_millis(500)).await;
            format!("loaded by {}", std::process::id())
        })
        .await;
    println!("FLIGHT_VALUE={value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_missing_one_key_run_the_loader_once() {
    if let Ok(url) = std::env::var("FLIGHT_CHILD_URL") {
        flight_child(&url).await;
        return;
    }
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "two_processes_missing_one_key_run_the_loader_once",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("FLIGHT_CHILD_URL", &url)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn(), spawn()];
    let mut values = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        // libtest prints the test's name on the same line, before the child's output.
        let value = stdout
            .split("FLIGHT_VALUE=")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .expect("the child printed its value");
        values.push(value.to_owned());
    }
    let mut conn = connect(&url).await.unwrap();
    let calls: i64 = redis::cmd("GET")
        .arg("origin_calls")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        calls, 1,
        "one process loaded, the other waited for its value"
    );
    assert_eq!(values[0], values[1]);
    let leases: Vec<String> = redis::cmd("KEYS")
        .arg("*%load")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(leases.is_empty(), "the load lease was released: {leases:?}");
}

async fn a_wrong_type_under_a_key_is_a_miss_not_an_error(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut conn = connect(&url).await.unwrap();
    let _: () = redis::cmd("HSET")
        .arg("fba:token:1")
        .arg("f")
        .arg("v")
        .query_async(&mut conn)
        .await
        .unwrap();
    let cache = redis_cache(&url).await;
    assert!(cache.get(&Token(1)).await.is_none());
    assert_eq!(
        *cache
            .get_with(&Token(1), async { "origin".to_string() })
            .await,
        "origin"
    );
    assert!(cache.stats().total().store_errors >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_is_bounded_by_the_command_timeout() {
    // A private server: this test stalls it on purpose.
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let options = RedisOptions::default().command_timeout(Duration::from_millis(200));
    let store = RedisStore::connect_with(&url, options).await.unwrap();
    let cache = Cache::builder()
        .far(store)
        .near(false)
        .no_load_lock()
        .build()
        .unwrap();
    cache.insert(Token(5), "cached".into()).await;
    let sleeper = tokio::spawn({
        let url = url.clone();
        async move {
            let mut conn = connect(&url).await.unwrap();
            // This client times out too; only the server's stall matters.
            let _ = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg("1")
                .query_async::<()>(&mut conn)
                .await;
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let v = cache
        .get_with(&Token(5), async { "origin".to_string() })
        .await;
    assert_eq!(*v, "origin", "a stalled Redis falls back to the loader");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "bounded: {:?}",
        started.elapsed()
    );
    sleeper.await.unwrap();
}

/// `merchant:<slug>` for an hour, tagged by merchant id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "merchant", ttl = "1h", value = String, codec = Json)]
struct MerchantKey(String);

/// A short-lived key type, for tag index pruning.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "flash", ttl = "300ms", value = String, codec = Json)]
struct Flash(u32);

async fn a_tag_removes_its_keys_in_every_instance_and_its_index(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = redis_cache(&url).await;
    a.insert_tagged(
        MerchantKey("amazon".into()),
        "Amazon".into(),
        &["merchant:42", "top"],
    )
    .await;
    a.insert_tagged(
        MerchantKey("amazon-in".into()),
        "Amazon India".into(),
        &["merchant:42"],
    )
    .await;
    a.insert_tagged(
        MerchantKey("flipkart".into()),
        "Flipkart".into(),
        &["merchant:7", "top"],
    )
    .await;
    a.insert(MerchantKey("untagged".into()), "x".into()).await;

    assert_eq!(a.invalidate_tag("merchant:42").await, 2);
    let b = redis_cache(&url).await;
    assert!(b.get(&MerchantKey("amazon".into())).await.is_none());
    assert!(
        a.get(&MerchantKey("amazon".into())).await.is_none(),
        "the in-process copy went too"
    );
    assert!(b.get(&MerchantKey("flipkart".into())).await.is_some());
    assert!(b.get(&MerchantKey("untagged".into())).await.is_some());

    let mut conn = connect(&url).await.unwrap();
    let index: i64 = redis::cmd("EXISTS")
        .arg("cache-core:tag:merchant%3A42")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(index, 0, "the tag's index is gone with its keys");
    assert_eq!(
        a.invalidate_tag("top").await,
        1,
        "amazon was already gone; flipkart remained"
    );
    assert_eq!(a.invalidate_tag("no-such-tag").await, 0);
}

async fn tag_indexes_shed_expired_members_and_expire_with_the_last(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    for i in 0..100 {
        cache.insert_tagged(Flash(i), "v".into(), &["burst"]).await;
    }
    let mut conn = connect(&url).await.unwrap();
    let index = "cache-core:tag:burst";
    let members: i64 = redis::cmd("ZCARD")
        .arg(index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(members, 100);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 300,
        "the index lives as long as its last member: {ttl}"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    cache
        .insert_tagged(Flash(1000), "v".into(), &["burst"])
        .await;
    let members: i64 = redis::cmd("ZCARD")
        .arg(index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(members, 1, "expired members were pruned on the next write");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the index expired with its last member");
}

/// A verification state, `{network}:{account}`, a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Verification {
    status: String,
    created_at: String,
    updated_at: String,
    media_types: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}", namespace = "verification", ttl = "1h", value = Verification, codec = cache_core::codec::Fields)]
struct VerificationKey {
    network: String,
    account: String,
}

/// Its per-media state, `{network}:{account}:{media}`, with a number and a flag to
/// show typed fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MediaState {
    name: String,
    status: String,
    token: String,
    attempts: u32,
    verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}:{media}", namespace = "media_state", ttl = "1h", value = MediaState, codec = cache_core::codec::Fields)]
struct MediaKey {
    network: String,
    account: String,
    media: String,
}

const ACCOUNT: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

async fn hashes_are_shared_field_by_field_with_python(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut conn = connect(&url).await.unwrap();
    // What the Python service writes: hmset(f"{network}:{address}", {...}).
    let _: () = redis::cmd("HSET")
        .arg(format!("polkadot:{ACCOUNT}"))
        .arg(&[
            ("status", "Pending"),
            ("created_at", "2024-01-11T22:25:36"),
            ("updated_at", "2024-01-11T22:26:36"),
            ("media_types", "discord,twitter,matrix"),
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let cache = redis_cache(&url).await;
    let key = VerificationKey {
        network: "polkadot".into(),
        account: ACCOUNT.into(),
    };
    let state = cache
        .get(&key)
        .await
        .expect("read from the Python-written hash");
    assert_eq!(state.status, "Pending");
    assert_eq!(
        state.media_types.split(',').collect::<Vec<_>>(),
        ["discord", "twitter", "matrix"]
    );

    // What the Rust service writes, Python reads with hgetall: text fields, one per field.
    let media = MediaKey {
        network: "polkadot".into(),
        account: ACCOUNT.into(),
        media: "discord".into(),
    };
    let value = MediaState {
        name: "patchwinner".into(),
        status: "Pending".into(),
        token: "Q8KGYC7P".into(),
        attempts: 2,
        verified: false,
    };
    cache.insert(media.clone(), value.clone()).await;
    let mut fields: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("polkadot:{ACCOUNT}:discord"))
        .query_async(&mut conn)
        .await
        .unwrap();
    fields.sort();
    let expected = [
        ("attempts", "2"),
        ("name", "patchwinner"),
        ("status", "Pending"),
        ("token", "Q8KGYC7P"),
        ("verified", "false"),
    ];
    assert_eq!(
        fields,
        expected.map(|(f, v)| (f.to_string(), v.to_string()))
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("polkadot:{ACCOUNT}:discord"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 3_500_000, "{ttl}");

    // Another instance reads it back typed; a rewrite replaces every field.
    let other = redis_cache(&url).await;
    assert_eq!(*other.get(&media).await.unwrap(), value);
    let done = MediaState {
        status: "Done".into(),
        verified: true,
        ..value
    };
    other.insert(media.clone(), done.clone()).await;
    assert_eq!(*redis_cache(&url).await.get(&media).await.unwrap(), done);

    // A hash that does not fit the struct is a miss, counted and deleted.
    let _: () = redis::cmd("HSET")
        .arg("kusama:x:discord")
        .arg("attempts")
        .arg("many")
        .query_async(&mut conn)
        .await
        .unwrap();
    let bad = MediaKey {
        network: "kusama".into(),
        account: "x".into(),
        media: "discord".into(),
    };
    assert!(cache.get(&bad).await.is_none());
    assert_eq!(
        cache
            .stats()
            .namespace("media_state")
            .unwrap()
            .counts
            .decode_errors,
        1
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg("kusama:x:discord")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn strict_mode_reports_what_fail_open_absorbs() {
    let mut server = RedisServer::start().unwrap();
    let options = RedisOptions::default()
        .command_timeout(Duration::from_millis(300))
        .reconnect_retries(0);
    let store = RedisStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let cache = Cache::builder()
        .far(store)
        .near(false)
        .circuit_breaker(100, Duration::from_millis(10))
        .build()
        .unwrap();
    cache.strict().insert(Token(1), "one".into()).await.unwrap();
    assert_eq!(
        cache
            .strict()
            .get(&Token(1))
            .await
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some("one")
    );
    assert!(
        cache.strict().get(&Token(2)).await.unwrap().is_none(),
        "a miss is not an error"
    );

    server.stop();
    let err = cache.strict().get(&Token(1)).await.unwrap_err();
    assert!(err.is_store_failure(), "{err}");
    assert!(cache.strict().insert(Token(1), "two".into()).await.is_err());
    assert!(cache.strict().invalidate(&Token(1)).await.is_err());
    assert!(
        cache
            .strict()
            .invalidate_prefix(&KeyPrefix::namespace::<Token>().unwrap())
            .await
            .is_err()
    );
    // The fail-open API, same cache, same moment: a miss.
    assert!(cache.get(&Token(1)).await.is_none());
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn tls_urls_with_auth_are_served_and_verified() {
    let server = RedisServer::builder()
        .tls()
        .password("s3cret")
        .start()
        .unwrap();
    assert!(server.url().starts_with("rediss://:s3cret@127.0.0.1:"));
    let ca = server.tls_ca_pem().unwrap();
    let store = RedisStore::connect_with(
        &server.url(),
        RedisOptions::default().tls_root_certificate(ca),
    )
    .await
    .unwrap();
    let cache = Cache::builder().far(store).near(false).build().unwrap();
    cache
        .insert(SessionKey("over-tls".into()), session(3))
        .await;
    assert_eq!(
        *cache.get(&SessionKey("over-tls".into())).await.unwrap(),
        session(3)
    );
    // A pool's connections get the same certificate.
    let pooled = RedisStore::connect_with(
        &server.url(),
        RedisOptions::default()
            .tls_root_certificate(server.tls_ca_pem().unwrap())
            .mode(ConnectionMode::pooled(2)),
    )
    .await
    .unwrap();
    let cache = Cache::builder().far(pooled).near(false).build().unwrap();
    assert_eq!(
        *cache.get(&SessionKey("over-tls".into())).await.unwrap(),
        session(3)
    );

    // Without the private CA, the certificate is refused: nothing is sent in the clear.
    support::assert_untrusted_certificate_refused(&server.url()).await;
    // A plain connection to the TLS port does not get through either.
    let plain = server.url().replace("rediss://", "redis://");
    let options = RedisOptions::default()
        .reconnect_retries(0)
        .connect_timeout(Duration::from_secs(2));
    assert!(RedisStore::connect_with(&plain, options).await.is_err());
}

async fn pings(url: &str) -> u64 {
    let mut conn = connect(url).await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_ping:calls="))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_health_check_pings_while_the_store_lives() {
    let server = RedisServer::start().unwrap();
    let options = RedisOptions::default().health_check(Some(Duration::from_millis(50)));
    let store = RedisStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let at_start = pings(&server.url()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = pings(&server.url()).await;
    assert!(
        later >= at_start + 4,
        "background pings: {at_start} then {later}"
    );
    drop(store);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let after_drop = pings(&server.url()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        pings(&server.url()).await,
        after_drop,
        "the health check stops with the store"
    );
}

async fn another_instances_logout_reaches_this_one_within_the_near_ttl(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = redis_cache(&url).await;
    let (clock, time) = cache_core::Clock::mock();
    let b = Cache::builder()
        .far(RedisStore::connect(&url).await.unwrap())
        .clock(clock)
        .build()
        .unwrap();
    let token = SessionKey("shared".into());
    a.insert(token.clone(), session(1)).await;
    assert!(b.get(&token).await.is_some(), "b keeps an in-process copy");
    a.invalidate(&token).await; // logout on instance a
    assert!(
        b.get(&token).await.is_some(),
        "b's copy is not told (no cross-instance invalidation yet)"
    );
    time.advance(std::time::Duration::from_secs(5));
    assert!(
        b.get(&token).await.is_none(),
        "but it lives at most the default near TTL of 5 s, not the session's 24 h"
    );
}

async fn throttle_shares_one_gcra_limit_between_instances(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = redis_cache(&url).await;
    let b = redis_cache(&url).await;
    let key = RateLimit(format!("gcra-{}", std::process::id()));
    // 10 per second (100 ms apart), bursts of 3, across both instances.
    let mut allowed = 0;
    for cache in [&a, &b, &a, &b, &a] {
        let t = cache
            .throttle(&key, 10, Duration::from_secs(1), 3)
            .await
            .unwrap();
        if t.allowed {
            allowed += 1;
        } else {
            assert!(t.retry_after > Duration::ZERO && t.retry_after <= Duration::from_millis(100));
            assert_eq!(t.remaining, 0);
        }
    }
    assert_eq!(allowed, 3);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        b.throttle(&key, 10, Duration::from_secs(1), 3)
            .await
            .unwrap()
            .allowed
    );
    // The key expires once the limit is fully restored: nothing is left behind.
    let ttl = a.time_to_live(&key).await.unwrap().unwrap();
    assert!(ttl <= Duration::from_millis(300), "{ttl:?}");
}

async fn a_tag_removes_hash_shaped_entries_in_every_instance(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = redis_cache(&url).await;
    let media = |m: &str| MediaKey {
        network: "polkadot".into(),
        account: ACCOUNT.into(),
        media: m.into(),
    };
    let state = MediaState {
        name: "patchwinner".into(),
        status: "Pending".into(),
        token: "Q8KGYC7P".into(),
        attempts: 0,
        verified: false,
    };
    a.insert_tagged(media("discord"), state.clone(), &["account:5Grw"])
        .await;
    a.insert_tagged(media("twitter"), state.clone(), &["account:5Grw"])
        .await;
    a.insert(media("matrix"), state.clone()).await;

    let mut conn = connect(&url).await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("polkadot:{ACCOUNT}:discord"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 3_600_000,
        "a tagged hash keeps its TTL: {ttl}"
    );
    let status: String = redis::cmd("HGET")
        .arg(format!("polkadot:{ACCOUNT}:discord"))
        .arg("status")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(status, "Pending", "still one field per struct field");

    let b = redis_cache(&url).await;
    assert_eq!(b.invalidate_tag("account:5Grw").await, 2);
    assert!(b.get(&media("discord")).await.is_none());
    assert!(b.get(&media("twitter")).await.is_none());
    assert_eq!(b.get(&media("matrix")).await.as_deref(), Some(&state));
    let index: i64 = redis::cmd("EXISTS")
        .arg("cache-core:tag:account%3A5Grw")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(index, 0, "the tag's index went with its keys");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_connection_sends_tcp_keepalives_unless_turned_off() {
    let server = RedisServer::builder().start().unwrap();
    let with = RedisStore::connect_with(
        &server.url(),
        RedisOptions::default().keepalive(Some(Duration::from_secs(30))),
    )
    .await
    .unwrap();
    assert_eq!(
        timers_of_connections_to(server.port()),
        ["02"],
        "one connection, its keepalive timer armed"
    );
    drop(with);

    // Another server, so that the first connection cannot be counted again.
    let other = RedisServer::builder().start().unwrap();
    let without = RedisStore::connect_with(&other.url(), RedisOptions::default().keepalive(None))
        .await
        .unwrap();
    assert_eq!(timers_of_connections_to(other.port()), ["00"]);
    drop(without);
}

/// A user's own far tier that does not bound its calls: Redis underneath, but its reads never
/// answer (a store stuck behind a dead proxy, say). It implements the four methods a store
/// must, and lends Redis's counters and leases.
#[derive(Debug)]
struct StallingReads(RedisStore);

impl Store for StallingReads {
    fn get<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(std::future::pending())
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()> {
        self.0.set(key, value, ttl)
    }
    fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64> {
        self.0.delete(keys)
    }
    fn scan<'a>(
        &'a self,
        prefix: &'a KeyPrefix,
        cursor: u64,
        count: usize,
    ) -> StoreFuture<'a, ScanPage> {
        self.0.scan(prefix, cursor, count)
    }
    fn coordination(&self) -> Option<&dyn Coordination> {
        Some(&self.0)
    }
}

#[tokio::test]
async fn a_store_without_its_own_timeout_is_bounded_by_the_cache() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let store = StallingReads(RedisStore::connect(&url).await.unwrap());
    let cache = Cache::builder()
        .far(store)
        .near(false)
        .store_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let key = SessionKey("stalled".into());
    cache.insert(key.clone(), session(1)).await;

    // The read never answers: the cache's own timer ends it as a miss, and the loader serves.
    let read = tokio::time::timeout(Duration::from_secs(10), cache.get(&key)).await;
    assert_eq!(read.expect("bounded by the store timeout"), None);
    assert_eq!(cache.stats().total().store_errors, 1);
    let loaded = tokio::time::timeout(
        Duration::from_secs(10),
        cache.get_with(&key, async { session(2) }),
    )
    .await
    .expect("bounded by the store timeout");
    assert_eq!(*loaded, session(2));
    // `get_with` read twice, and both reads timed out: before and after taking the load lease.
    let counts = cache.stats().total();
    assert_eq!(
        (counts.store_errors, counts.misses, counts.loads),
        (3, 2, 1)
    );
}

/// Polls `check` every 20 ms for up to 10 s.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..500 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn an_invalidation_the_far_tier_missed_is_retried_until_it_lands() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let store = RedisStore::connect_with(
        &url,
        RedisOptions::default().command_timeout(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    // The breaker opens at the first failure: the second invalidation is skipped, not sent.
    let cache = Cache::builder()
        .far(store)
        .circuit_breaker(1, Duration::from_millis(300))
        .build()
        .unwrap();
    let (one, two) = (SessionKey("logout-1".into()), SessionKey("logout-2".into()));
    cache.insert(one.clone(), session(1)).await;
    cache.insert(two.clone(), session(2)).await;
    let mut conn = connect(&url).await.unwrap();
    // Writes stall for a second: the first UNLINK times out, the second meets an open breaker.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    cache.invalidate(&one).await;
    cache.invalidate(&two).await;
    assert_eq!(cache.pending_invalidations(), 2);
    assert!(
        cache.get(&one).await.is_none(),
        "the in-process copy is gone at once"
    );
    // Once Redis answers again, both land; another instance reads neither.
    let other = redis_cache(&url).await;
    assert!(
        eventually(async || cache.pending_invalidations() == 0).await,
        "{} still pending",
        cache.pending_invalidations()
    );
    assert!(other.get(&one).await.is_none());
    assert!(other.get(&two).await.is_none());
    let counts = cache.stats().total();
    assert!(counts.store_errors >= 2, "{counts:?}");
}

#[tokio::test]
async fn a_demoted_primary_is_a_connection_error_and_the_connection_is_replaced() {
    for mode in [ConnectionMode::multiplexed(), ConnectionMode::pooled(1)] {
        let primary = RedisServer::start().unwrap();
        let node = RedisServer::start().unwrap();
        let store = RedisStore::connect_with(&node.url(), RedisOptions::default().mode(mode))
            .await
            .unwrap();
        let client_id = async || -> i64 {
            store
                .command(&redis::cmd("CLIENT").arg("ID").clone())
                .await
                .unwrap()
        };
        let before = client_id().await;
        // A failover demotes the node this store reaches: writes answer READONLY.
        let mut admin = connect(&node.url()).await.unwrap();
        let _: () = redis::cmd("REPLICAOF")
            .arg("127.0.0.1")
            .arg(primary.port())
            .query_async(&mut admin)
            .await
            .unwrap();
        let refused = store.set("k", b"v", None).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Connection, "{mode:?}: {refused}");
        assert!(refused.to_string().contains("ReadOnly"), "{refused}");
        // The connection that met it is replaced by a new one.
        assert!(
            eventually(async || client_id().await != before).await,
            "{mode:?}: still on client {before}"
        );
        // Promoted again, the node takes writes.
        let _: () = redis::cmd("REPLICAOF")
            .arg("NO")
            .arg("ONE")
            .query_async(&mut admin)
            .await
            .unwrap();
        store.set("k", b"v", None).await.unwrap();
    }
}

cache_core::on_each_topology!(
    instances_share_entries_through_redis_in_a_python_layout,
    callers_that_share_one_far_hit_count_as_hits,
    python_written_values_are_read,
    get_many_and_insert_many_use_one_round_trip_each,
    undecodable_entries_are_misses_and_are_deleted,
    prefix_delete_scans_and_unlinks_in_batches,
    a_user_segment_cannot_widen_a_prefix_delete,
    concurrent_increments_set_exactly_one_ttl,
    a_lease_has_one_owner_and_expires,
    entries_expire_in_redis,
    a_wrong_type_under_a_key_is_a_miss_not_an_error,
    a_tag_removes_its_keys_in_every_instance_and_its_index,
    tag_indexes_shed_expired_members_and_expire_with_the_last,
    hashes_are_shared_field_by_field_with_python,
    another_instances_logout_reaches_this_one_within_the_near_ttl,
    throttle_shares_one_gcra_limit_between_instances,
    a_tag_removes_hash_shaped_entries_in_every_instance,
);
