//! Each service example run end to end on a private `redis-server` and on a private Redis
//! Cluster (each example writes fixed key names, so no two runs share one): what it says it
//! did, and what it left in Redis as another client sees it.

use cache_core::test_util::{RedisServer, Topology, connect};
use examples::Narration;
use redis::AsyncCommands;

fn assert_said(say: &Narration, line: &str) {
    assert!(say.said(line), "expected {line:?} in {:#?}", say.lines());
}

async fn coupon_platform(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut say = Narration::default();
    examples::coupon_platform::run(&url, &mut say)
        .await
        .unwrap();
    for line in [
        "session of user 7",
        "after logout: None",
        "wrong code: false",
        "right code: true",
        "X-RateLimit-Limit: 100, X-RateLimit-Remaining: 97, resets within 60 s",
        "merchant queries for three reads around an update: 2",
        "top offers: [101, 102, 103]",
        "second withdrawal while locked: false",
        "emails sent: 1, given up after 3 attempts: 1, in queue:emails_failed: 1",
        "trending: [(102, 3.0), (103, 1.0)], viewers of 102: 2, active users: 3, clicks today: 5",
        "referral leaderboard: [(\"asha\", 7.0), (\"ben\", 5.0)]; asha ranks Some(1)",
    ] {
        assert_said(&say, line);
    }
    // One server's memory, or each master's of a cluster.
    let memory = say
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("redis memory in use: "))
        .expect("the memory line")
        .to_owned();
    let masters = if topology == Topology::Cluster { 3 } else { 1 };
    assert_eq!(memory.split(", ").count(), masters, "{memory}");
    assert!(
        memory
            .split(", ")
            .all(|used| used.ends_with(['B', 'K', 'M', 'G'])),
        "{memory}"
    );
    let mut conn = connect(&url).await.unwrap();
    // The platform's own layout, readable by any client.
    let clicks: i64 = conn.get("offer:102:clicks").await.unwrap();
    assert_eq!(clicks, 3);
    let merchant: String = conn.get("merchant:amazon").await.unwrap();
    assert!(merchant.contains("\"slug\":\"amazon\""), "{merchant}");
    let ttl: i64 = conn.ttl("merchant:amazon").await.unwrap();
    assert!((3590..=3600).contains(&ttl), "{ttl}");
    let failed: Vec<String> = conn.lrange("queue:emails_failed", 0, -1).await.unwrap();
    assert!(failed[0].contains("\"retry_count\":3"), "{failed:?}");
    let exists: bool = conn
        .exists("session:eyJhbGciOiJIUzI1NiJ9.demo")
        .await
        .unwrap();
    assert!(!exists, "logged out");
    let lock: bool = conn.exists("lock:withdraw:7").await.unwrap();
    assert!(!lock, "released");
}

async fn verification_states(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut say = Narration::default();
    examples::verification_states::run(&url, &mut say)
        .await
        .unwrap();
    let account = examples::verification_states::ACCOUNT;
    assert_said(
        &say,
        &format!("polkadot:{account} is Pending for discord,twitter,matrix"),
    );
    assert_said(&say, "discord token: Q8KGYC7P");
    assert_said(&say, "discord status: Verified");
    assert_said(
        &say,
        &format!(
            "keys of the account: polkadot:{account} polkadot:{account}:discord polkadot:{account}:matrix polkadot:{account}:twitter"
        ),
    );
    assert_said(&say, "removed on reset: 4");
    let mut conn = connect(&url).await.unwrap();
    // The other account's state is a hash a Python service reads with HGETALL; the reset
    // account's keys are gone.
    let other = examples::verification_states::OTHER_ACCOUNT;
    let state: std::collections::HashMap<String, String> =
        conn.hgetall(format!("polkadot:{other}")).await.unwrap();
    assert_eq!(state["status"], "Pending");
    assert_eq!(state["media_types"], "discord,twitter,matrix");
    let keys: Vec<String> = conn.keys(format!("polkadot:{account}*")).await.unwrap();
    assert_eq!(keys, vec![format!("polkadot:{other}")]);
}

async fn video_platform(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut say = Narration::default();
    examples::video_platform::run(&url, &mut say).await.unwrap();
    for line in [
        "warmed 3 popular videos",
        "read Ada twice with 1 database query",
        "after the update: Ada L. (0 queries)",
        "batch of 5 videos: 5 found with 1 database query",
        "v6 is processing at 45%",
        "Lesson 1: 120 s in 1080p, 1 view",
        "online: 2",
        "search 'asl basics': [\"v1\", \"v3\"]",
        "deleted u1: 2 cached entries removed, both gone: true",
    ] {
        assert_said(&say, line);
    }
    let mut conn = connect(&url).await.unwrap();
    let user: Option<String> = conn.get("user:u1").await.unwrap();
    assert_eq!(user, None, "the deleted user is gone from Redis");
    let trust: Option<String> = conn.get("trust:u1").await.unwrap();
    assert_eq!(trust, None);
    let video: String = conn.get("video:v4").await.unwrap();
    assert!(
        video.contains("Lesson 4"),
        "a batch miss was cached: {video}"
    );
    // Fleet-wide counts are plain counters another process can read.
    let hits: u64 = conn.get("cache-core:stats:user:hits").await.unwrap();
    assert!(hits >= 1, "{hits}");
    assert!(
        say.lines().iter().any(|l| l.starts_with("fleet user: ")),
        "{:?}",
        say.lines()
    );
}

async fn token_store(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut say = Narration::default();
    examples::token_store::run(&url, &mut say).await.unwrap();
    for line in [
        "opening an unreachable Redis: Connection error",
        "connected; health check every 30 s",
        "refresh token lives 7 days",
        "active tokens: 5",
        "signed out 3; left: fba:token:admin fba:token:superuser",
        "captcha accepted: true",
        "mallory failed 5 times; locked: true",
        "oauth2 callback: true, replayed: false",
        "203.0.113.9 is in Sydney, AU",
        "login requests allowed: 3 of 5",
        "snowflake node 1 claimed twice: false",
        "online: 5",
    ] {
        assert_said(&say, line);
    }
    let mut conn = connect(&url).await.unwrap();
    let captcha_ttl: i64 = conn.ttl("fba:email:captcha:a@example.com").await.unwrap();
    assert!((170..=180).contains(&captcha_ttl), "{captcha_ttl}");
    let lock_ttl: i64 = conn.ttl("fba:user:lock:mallory").await.unwrap();
    assert!((290..=300).contains(&lock_ttl), "{lock_ttl}");
    let refresh: bool = conn.exists("fba:refresh_token:alice").await.unwrap();
    assert!(
        refresh,
        "refresh tokens are not under the access-token prefix"
    );
}

#[tokio::test]
async fn token_store_with_a_password_and_a_database() {
    let server = RedisServer::builder().password("s3cret").start().unwrap();
    let url = format!("redis://:s3cret@127.0.0.1:{}/2", server.port());
    let mut say = Narration::default();
    examples::token_store::run(&url, &mut say).await.unwrap();
    assert_said(&say, "active tokens: 5");
    let mut conn = connect(&url).await.unwrap();
    let in_db2: bool = conn.exists("fba:token:admin").await.unwrap();
    assert!(in_db2);
    let wrong = format!("redis://:wrong@127.0.0.1:{}/2", server.port());
    let error = examples::token_store::run(&wrong, &mut Narration::default())
        .await
        .unwrap_err();
    let error = error.downcast::<cache_core::Error>().unwrap();
    assert_eq!(error.kind(), cache_core::ErrorKind::Auth, "{error}");
}

async fn verification_stream(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let mut say = Narration::default();
    examples::verification_stream::run(&url, &mut say)
        .await
        .unwrap();
    for line in [
        "published 5 results",
        "acknowledged 4, dead-lettered 1",
        "pending after shutdown: 0",
        "cached attestation: verified for 0",
        "after revocation: none (1 invalidation applied)",
    ] {
        assert_said(&say, line);
    }
    assert!(
        say.lines()
            .iter()
            .any(|l| l.starts_with("dead letter: undecodable")),
        "{:?}",
        say.lines()
    );
    let mut conn = connect(&url).await.unwrap();
    let groups: Vec<std::collections::HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("verification_stream")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups[0]["name"],
        redis::Value::BulkString(b"attestation_processors".to_vec())
    );
}

cache_core::on_each_topology!(
    coupon_platform,
    verification_states,
    video_platform,
    token_store,
    verification_stream,
);
