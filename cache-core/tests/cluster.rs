//! The test harness's Redis Cluster: three masters on free loopback ports, joined and ready,
//! with keys spread across all of them; the ground the cluster far tier will be tested on.

use cache_core::test_util::RedisCluster;
use redis::AsyncCommands;

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
