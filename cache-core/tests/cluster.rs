//! What only a Redis Cluster has: a master killed mid-test (reads fail open, the replica takes
//! over, writes land again), slots moved under a running store (`MOVED`), AUTH on every node,
//! and the harness's cluster itself. The operations shared with a single server run on both
//! in `tests/redis.rs`, `tests/structures.rs`, `tests/stream.rs` and `tests/coherence.rs`.

use std::time::{Duration, Instant};

use cache_core::codec::Text;
use cache_core::store::redis::{ConnectionMode, RedisOptions, RedisStore};
use cache_core::test_util::{RedisCluster, connect};
use cache_core::{Cache, CacheKey, ErrorKind};
use redis::AsyncCommands;

mod support;

/// `item:<n>`, written as text so that the test reads it as any client would.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "item:{0}", namespace = "item", ttl = "1h", value = String, codec = Text)]
struct Item(u32);

/// `hits:<n>`, a counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "hits:{0}", namespace = "hits", ttl = "1h", value = i64, codec = Text)]
struct Hits(u32);

async fn cluster_cache(url: &str, options: RedisOptions) -> Cache {
    let store = RedisStore::connect_with(url, options).await.unwrap();
    Cache::builder().far(store).near(false).build().unwrap()
}

/// How many of `items` Redis holds with the value `value(n)`, read by a plain cluster client.
async fn held(url: &str, items: std::ops::Range<u32>, value: impl Fn(u32) -> String) -> usize {
    let mut conn = connect(url).await.unwrap();
    let keys: Vec<String> = items.clone().map(|n| format!("item:{n}")).collect();
    let values: Vec<Option<String>> = conn.mget(&keys).await.unwrap();
    items
        .zip(values)
        .filter(|(n, v)| v.as_deref() == Some(value(*n).as_str()))
        .count()
}

/// `Item(n)`'s value, read with errors reported (a failure must not hide behind a miss).
async fn strictly(cache: &Cache, n: u32) -> Option<String> {
    let value = cache.strict().get(&Item(n)).await.unwrap();
    value.map(|v| (*v).clone())
}

/// Runs `attempt` every 200 ms until it reports nothing left undone, for at most `limit`;
/// then fails with what it reported last.
async fn within(limit: Duration, mut attempt: impl AsyncFnMut() -> Option<String>) {
    let deadline = Instant::now() + limit;
    while let Some(undone) = attempt().await {
        assert!(Instant::now() < deadline, "{undone}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_harness_starts_a_three_master_cluster_that_spreads_keys() {
    let cluster = RedisCluster::start().unwrap();
    let urls = cluster.urls();
    assert_eq!(urls.len(), 3);
    let client = redis::cluster::ClusterClient::new(urls.clone()).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    let keys: Vec<String> = (0..100).map(|n| format!("key:{n}")).collect();
    for key in &keys {
        let _: () = conn.set(key, key).await.unwrap();
    }
    // MGET across slots: the client splits it by slot and answers in order.
    let values: Vec<String> = conn.mget(&keys).await.unwrap();
    assert_eq!(values, keys);

    // Each master holds part of the keys and knows the other two.
    let mut total = 0;
    for url in &urls {
        let mut node = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let held: u64 = redis::cmd("DBSIZE").query_async(&mut node).await.unwrap();
        assert!(held > 0, "{url} holds no key");
        total += held;
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut node)
            .await
            .unwrap();
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(info.contains("cluster_known_nodes:3"), "{info}");
    }
    assert_eq!(total, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_fails_open_and_writes_land_once_its_replica_took_over() {
    let mut cluster = RedisCluster::builder()
        .replicas(1)
        .node_timeout(Duration::from_millis(1000))
        .start()
        .unwrap();
    let url = cluster.url();
    let cache = cluster_cache(
        &url,
        RedisOptions::default()
            .command_timeout(Duration::from_millis(500))
            .connect_timeout(Duration::from_secs(1)),
    )
    .await;
    cache
        .insert_many((0..200).map(|n| (Item(n), format!("v{n}"))).collect())
        .await;
    assert_eq!(held(&url, 0..200, |n| format!("v{n}")).await, 200);

    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "three masters, each with a replica");
    cluster.nodes_mut()[masters[0]].stop();

    // Until its replica takes over, the cluster refuses every command (`CLUSTERDOWN`, as
    // Redis does while a slot has no master): every read still answers, from the loader,
    // and nothing panics or reaches the caller as an error.
    for n in 0..60 {
        let value = cache
            .get_with(&Item(n), async move { format!("origin{n}") })
            .await;
        assert!(
            *value == format!("origin{n}") || *value == format!("v{n}"),
            "{value}"
        );
    }
    assert!(cache.stats().total().store_errors > 0);

    // Once the replica serves the dead master's slots, writes land on every slot again: the
    // store's connection, which may still try the dead master, is replaced by one that reads
    // the topology afresh.
    cluster.wait_until_ok(Duration::from_secs(30)).unwrap();
    within(Duration::from_secs(45), async || {
        cache
            .insert_many((0..200).map(|n| (Item(n), format!("w{n}"))).collect())
            .await;
        let landed = held(&url, 0..200, |n| format!("w{n}")).await;
        (landed < 200).then(|| format!("{landed} of 200 writes landed after the failover"))
    })
    .await;
    // And the cache reads them back, strictly: no error hides behind a miss.
    for n in (0..200).step_by(7) {
        assert_eq!(
            strictly(&cache, n).await.as_deref(),
            Some(format!("w{n}").as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_slots_are_followed_without_an_error_reaching_the_caller() {
    let cluster = RedisCluster::start().unwrap();
    let url = cluster.url();
    let cache = cluster_cache(&url, RedisOptions::default()).await;
    let mut pipe = cache.pipeline();
    for n in 0..300 {
        pipe.increment(&Hits(n), 1);
    }
    pipe.run().await.unwrap();
    cache
        .insert_many((0..300).map(|n| (Item(n), format!("v{n}"))).collect())
        .await;

    // An operator moves a third of the first master's slots to the second, keys included.
    cluster.reshard(0, 1, 2000).unwrap();

    // Commands and per-slot pipelines meet MOVED (or ASK) and are sent again where the reply
    // says, once each: every counter counts once. None of it reaches the caller.
    let mut pipe = cache.pipeline();
    let counted: Vec<_> = (0..300).map(|n| pipe.increment(&Hits(n), 1)).collect();
    let mut answers = pipe.run().await.unwrap();
    for slot in counted {
        assert_eq!(answers.take(slot).unwrap(), 2);
    }
    cache
        .insert_many((0..300).map(|n| (Item(n), format!("w{n}"))).collect())
        .await;
    assert_eq!(held(&url, 0..300, |n| format!("w{n}")).await, 300);
    for n in (0..300).step_by(11) {
        assert_eq!(
            strictly(&cache, n).await.as_deref(),
            Some(format!("w{n}").as_str())
        );
    }
    assert_eq!(
        cache.stats().total().store_errors,
        0,
        "no failure was absorbed either"
    );

    // Three hundred callers at once, not one batch: redis-rs's cluster connection may stall
    // when that many requests meet MOVED together. Every read still answers (a fail-open miss
    // at worst), and the store replaces the stalled connection, so the cluster serves again.
    cluster.reshard(1, 2, 2000).unwrap();
    let cache = &cache;
    let reads = futures_util::future::join_all(
        (0..300).map(|n| async move { (n, cache.get(&Item(n)).await) }),
    )
    .await;
    for (n, value) in reads {
        if let Some(value) = value {
            assert_eq!(*value, format!("w{n}"));
        }
    }
    within(Duration::from_secs(30), async || {
        let mut served = 0;
        for n in 0..300 {
            let value = cache.strict().get(&Item(n)).await;
            if value.is_ok_and(|v| v.is_some_and(|v| *v == format!("w{n}"))) {
                served += 1;
            }
        }
        (served < 300)
            .then(|| format!("{served} of 300 read back after 300 callers met MOVED at once"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_during_a_live_reshard_reach_no_caller_as_errors() {
    let cluster = std::sync::Arc::new(RedisCluster::start().unwrap());
    let url = cluster.url();
    let cache = cluster_cache(&url, RedisOptions::default()).await;
    cache
        .insert_many((0..500).map(|n| (Item(n), format!("v{n}"))).collect())
        .await;

    // While redis-cli moves slots key by key (MOVED once a slot has gone, ASK for a key
    // already gone from a slot still moving), every read and write gets through.
    let moving = cluster.clone();
    let reshard = tokio::task::spawn_blocking(move || moving.reshard(0, 2, 3000));
    let mut rounds = 0;
    while !reshard.is_finished() {
        for n in 0..500 {
            assert_eq!(
                strictly(&cache, n).await.as_deref(),
                Some(format!("v{n}").as_str())
            );
            cache
                .strict()
                .insert(Item(n), format!("v{n}"))
                .await
                .unwrap();
        }
        rounds += 1;
    }
    reshard.await.unwrap().unwrap();
    assert!(rounds > 0);

    let mut pipe = cache.pipeline();
    for n in 0..500 {
        pipe.increment(&Hits(n), 1);
    }
    pipe.run().await.unwrap();
    assert_eq!(held(&url, 0..500, |n| format!("v{n}")).await, 500);
}

/// Sends `command` to the node at `url` alone (not through the cluster client).
async fn on_node(url: &str, command: &[&str]) -> redis::Value {
    let mut conn = connect(url).await.unwrap();
    let mut cmd = redis::cmd(command[0]);
    for arg in &command[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(&mut conn).await.unwrap()
}

fn text(value: redis::Value) -> String {
    redis::from_redis_value(value).unwrap()
}

#[tokio::test]
async fn a_key_in_a_slot_half_moved_is_reached_through_ask() {
    let cluster = RedisCluster::start().unwrap();
    let url = cluster.url();
    let cache = cluster_cache(&url, RedisOptions::default()).await;
    cache.insert(Item(1), "v1".to_owned()).await;

    // The slot of `item:1`, the master serving it (source) and another (target).
    let nodes = cluster.urls();
    let slot = text(on_node(&nodes[0], &["CLUSTER", "KEYSLOT", "item:1"]).await);
    let mut ids = Vec::new();
    let mut source = None;
    for (i, node) in nodes.iter().enumerate() {
        ids.push(text(on_node(node, &["CLUSTER", "MYID"]).await));
        let held = text(on_node(node, &["CLUSTER", "COUNTKEYSINSLOT", &slot]).await);
        if held == "1" {
            source = Some(i);
        }
    }
    let source = source.expect("a master holds item:1");
    let target = (source + 1) % nodes.len();
    let port = |i: usize| {
        nodes[i]
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/0")
            .to_owned()
    };

    // Half a move, as redis-cli leaves it between two keys: the slot is migrating from the
    // source and importing on the target, and `item:1` has gone over.
    on_node(
        &nodes[target],
        &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &ids[source]],
    )
    .await;
    on_node(
        &nodes[source],
        &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &ids[target]],
    )
    .await;
    let migrated = on_node(
        &nodes[source],
        &[
            "MIGRATE",
            "127.0.0.1",
            &port(target),
            "",
            "0",
            "5000",
            "KEYS",
            "item:1",
        ],
    )
    .await;
    assert_eq!(text(migrated), "OK");

    // The source answers ASK for it; reads, writes and pipelines get there all the same.
    assert_eq!(strictly(&cache, 1).await.as_deref(), Some("v1"));
    cache
        .strict()
        .insert(Item(1), "v2".to_owned())
        .await
        .unwrap();
    let mut pipe = cache.pipeline();
    let read = pipe.get(&Item(1));
    let mut answers = pipe.run().await.unwrap();
    assert_eq!(
        answers.take(read).unwrap().as_deref().map(String::as_str),
        Some("v2")
    );
    let asked = text(on_node(&nodes[target], &["INFO", "commandstats"]).await);
    assert!(
        asked.contains("cmdstat_asking:calls="),
        "the client never sent ASKING: {asked}"
    );

    // The move completes; the key is served from its new master.
    for node in &nodes {
        on_node(node, &["CLUSTER", "SETSLOT", &slot, "NODE", &ids[target]]).await;
    }
    assert_eq!(strictly(&cache, 1).await.as_deref(), Some("v2"));
}

#[tokio::test]
async fn a_cluster_with_a_password_is_served_and_refuses_a_wrong_one() {
    let cluster = RedisCluster::builder().password("s3cret").start().unwrap();
    let url = cluster.url();
    assert!(url.starts_with("redis+cluster://:s3cret@"), "{url}");
    let cache = cluster_cache(&url, RedisOptions::default()).await;
    cache.insert(Item(1), "one".to_owned()).await;
    assert_eq!(strictly(&cache, 1).await.as_deref(), Some("one"));

    let wrong = url.replace("s3cret", "guess");
    let error = RedisStore::connect(&wrong).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(
        !error.to_string().contains("guess"),
        "the password is hidden: {error}"
    );
    let seeds: Vec<String> = cluster
        .urls()
        .iter()
        .map(|u| u.replace("s3cret", "guess"))
        .collect();
    let error = RedisStore::connect_cluster(&seeds, RedisOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn a_tls_cluster_is_served_and_its_certificate_verified() {
    let cluster = RedisCluster::builder()
        .tls()
        .password("s3cret")
        .start()
        .unwrap();
    let url = cluster.url();
    assert!(url.starts_with("rediss+cluster://:s3cret@"), "{url}");
    let ca = cluster.tls_ca_pem().unwrap();
    let cache = cluster_cache(&url, RedisOptions::default().tls_root_certificate(ca)).await;
    cache
        .insert_many((0..50).map(|n| (Item(n), format!("v{n}"))).collect())
        .await;
    for n in (0..50).step_by(7) {
        assert_eq!(
            strictly(&cache, n).await.as_deref(),
            Some(format!("v{n}").as_str())
        );
    }
    // A walk over every master, over TLS.
    let items = cache_core::KeyPrefix::namespace::<Item>().unwrap();
    assert_eq!(cache.strict().invalidate_prefix(&items).await.unwrap(), 50);

    // Without the private CA, the certificate is refused: nothing is sent in the clear.
    support::assert_untrusted_certificate_refused(&url).await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn cluster_connections_send_tcp_keepalives_unless_turned_off() {
    for (keepalive, timer) in [(Some(Duration::from_secs(30)), "02"), (None, "00")] {
        // A cluster of its own each time, so that no connection is counted twice.
        let cluster = RedisCluster::start().unwrap();
        let store =
            RedisStore::connect_with(&cluster.url(), RedisOptions::default().keepalive(keepalive))
                .await
                .unwrap();
        let mut seen = 0;
        for node in cluster.urls() {
            let port: u16 = node
                .rsplit(':')
                .next()
                .and_then(|rest| rest.split('/').next())
                .unwrap()
                .parse()
                .unwrap();
            for found in support::timers_of_connections_to(port) {
                assert_eq!(found, timer, "keepalive {keepalive:?}, node {node}");
                seen += 1;
            }
        }
        assert!(seen >= 3, "a connection to every master: {seen}");
        drop(store);
    }
}

#[tokio::test]
async fn cluster_settings_that_cannot_work_are_config_errors() {
    let cluster = RedisCluster::start().unwrap();
    let pooled = RedisStore::connect_with(
        &cluster.url(),
        RedisOptions::default().mode(ConnectionMode::pooled(4)),
    )
    .await
    .unwrap_err();
    assert_eq!(pooled.kind(), ErrorKind::Config, "{pooled}");

    let nothing = RedisStore::connect("redis+cluster:///0").await.unwrap_err();
    assert_eq!(nothing.kind(), ErrorKind::Config, "{nothing}");
    let none: [&str; 0] = [];
    let empty = RedisStore::connect_cluster(none, RedisOptions::default())
        .await
        .unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::Config, "{empty}");

    // One seed that is down is passed over when another answers.
    let mut urls = cluster.urls();
    urls.insert(0, "redis://127.0.0.1:1".to_owned());
    let store = RedisStore::connect_cluster(&urls, RedisOptions::default())
        .await
        .unwrap();
    assert!(format!("{store:?}").contains("cluster"), "{store:?}");
}
