//! Sets, sorted sets, job queues, single hash fields, `EXISTS`/`EXPIRE`, daily counters,
//! pipelines and fleet-wide stats: the same scenarios in process and on a real, private
//! `redis-server`, and on Redis read back by another client as it would see them.

use std::time::{Duration, SystemTime};

use cache_core::codec::{Fields, Json, Text};
use cache_core::store::redis::RedisStore;
use cache_core::test_util::{RedisServer, Topology, connect};
use cache_core::{Attempts, Cache, CacheKey, ErrorKind, Worked};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

/// The users who viewed an offer: `offer:<id>:viewers`, plain ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "t:{run}:offer:{id}:viewers", ttl = "7d", value = u64, codec = Text)]
struct Viewers {
    run: String,
    id: u64,
}

/// Trending offers by clicks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "t:{0}:offers:trending", ttl = "1h", value = u64, codec = Text)]
struct Trending(String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Email {
    to: String,
    #[serde(default)]
    retry_count: u32,
}

impl Attempts for Email {
    fn attempts(&self) -> u32 {
        self.retry_count
    }
    fn record_failure(&mut self) {
        self.retry_count += 1;
    }
}

/// `queue:emails` and its dead letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "t:{run}:queue:{name}", ttl = "7d", value = Email, codec = Json)]
struct EmailQueue {
    run: String,
    name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Verification {
    status: String,
    updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// A verification state, a hash field by field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "t:{run}:{account}", ttl = "1d", value = Verification, codec = Fields)]
struct VerificationKey {
    run: String,
    account: String,
}

/// `stats:clicks:today`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "t:{0}:stats:clicks:today", ttl = "1d", value = i64, codec = Text)]
struct ClicksToday(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "video", ttl = "10m", value = String)]
struct Video(String, u64);

async fn redis_cache(url: &str) -> Cache {
    let store = RedisStore::connect(url).await.unwrap();
    Cache::builder().far(store).build().unwrap()
}

/// A name of its own for each run, so that runs sharing a `REDIS_URL` server never meet.
fn run_name(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

async fn sets_and_sorted_sets(cache: &Cache, run: &str) {
    let viewers = cache.set_of(&Viewers {
        run: run.into(),
        id: 42,
    });
    assert!(viewers.add(&7).await.unwrap());
    assert!(!viewers.add(&7).await.unwrap(), "already a member");
    assert_eq!(viewers.add_many(&[8, 9, 7]).await.unwrap(), 2);
    assert_eq!(viewers.len().await.unwrap(), 3);
    assert!(viewers.contains(&9).await.unwrap());
    assert!(viewers.remove(&9).await.unwrap());
    assert!(!viewers.contains(&9).await.unwrap());
    let mut members = viewers.members().await.unwrap();
    members.sort_unstable();
    assert_eq!(members, [7, 8]);

    let trending = cache.sorted_set(&Trending(run.into()));
    for (offer, clicks) in [(1, 3.0), (2, 10.0), (3, 5.0), (1, 4.0)] {
        trending.increment(&offer, clicks).await.unwrap();
    }
    assert_eq!(
        trending.top(2).await.unwrap(),
        [(2, 10.0), (1, 7.0)],
        "highest first, with scores"
    );
    assert_eq!(trending.rank(&3).await.unwrap(), Some(2));
    assert_eq!(trending.rank(&99).await.unwrap(), None);
    assert_eq!(trending.score(&1).await.unwrap(), Some(7.0));
    assert_eq!(
        trending.range(0, -1, false).await.unwrap(),
        [(3, 5.0), (1, 7.0), (2, 10.0)]
    );
    assert_eq!(trending.len().await.unwrap(), 3);
    // ZADD sets a score outright, adding the member when absent.
    assert_eq!(trending.set_score(&3, 20.0).await.unwrap(), 20.0);
    assert_eq!(trending.set_score(&4, 1.5).await.unwrap(), 1.5);
    assert_eq!(trending.top(2).await.unwrap(), [(3, 20.0), (2, 10.0)]);
    assert_eq!(trending.score(&4).await.unwrap(), Some(1.5));
    assert!(trending.set_score(&5, f64::NAN).await.is_err());
    assert_eq!(trending.score(&5).await.unwrap(), None);
    assert!(trending.remove(&4).await.unwrap());
    assert_eq!(trending.len().await.unwrap(), 3);
}

async fn a_queue_retries_then_gives_up(cache: &Cache, run: &str) {
    let key = |name| EmailQueue {
        run: run.into(),
        name,
    };
    let queue = cache.queue(&key("emails")).dead_letter(&key("emails:dead"));
    let dead = cache.queue(&key("emails:dead"));
    let email = |to: &str| Email {
        to: to.into(),
        retry_count: 0,
    };
    assert_eq!(
        queue
            .push_many(&[email("a@x"), email("b@x")])
            .await
            .unwrap(),
        2
    );
    let sent = queue
        .work_one(3, |e: Email| async move {
            assert_eq!(e.to, "a@x", "first in, first out");
            Ok::<_, String>(())
        })
        .await
        .unwrap();
    assert_eq!(sent, Worked::Done);
    let failing = |e: Email| async move { Err::<(), _>(format!("smtp refused {}", e.to)) };
    assert_eq!(
        queue.work_one(3, failing).await.unwrap(),
        Worked::Requeued { attempts: 1 }
    );
    assert_eq!(
        queue.work_one(3, failing).await.unwrap(),
        Worked::Requeued { attempts: 2 }
    );
    assert_eq!(
        queue.work_one(3, failing).await.unwrap(),
        Worked::GaveUp { attempts: 3 }
    );
    assert_eq!(queue.work_one(3, failing).await.unwrap(), Worked::Empty);
    assert_eq!(
        dead.peek(0, -1).await.unwrap(),
        [Email {
            to: "b@x".into(),
            retry_count: 3
        }]
    );
}

async fn daily_counters_and_pipelines(cache: &Cache, run: &str) {
    let clicks = ClicksToday(run.into());
    assert_eq!(cache.increment_daily(&clicks, 1).await.unwrap(), 1);
    assert_eq!(cache.increment_daily(&clicks, 2).await.unwrap(), 3);
    let left = cache.time_to_live(&clicks).await.unwrap().unwrap();
    assert!(
        left <= Duration::from_secs(24 * 3600),
        "resets by midnight: {left:?}"
    );

    cache.insert(Video(run.into(), 1), "cats".to_owned()).await;
    let mut pipe = cache.pipeline();
    let first = pipe.get(&Video(run.into(), 1));
    let absent = pipe.get(&Video(run.into(), 2));
    let views = pipe.increment(&ClicksToday(format!("{run}-views")), 5);
    let added = pipe.set_add(
        &Viewers {
            run: run.into(),
            id: 1,
        },
        &3,
    );
    pipe.insert(Video(run.into(), 3), "dogs".to_owned());
    let mut answers = pipe.run().await.unwrap();
    assert_eq!(answers.take(first).unwrap().as_deref().unwrap(), "cats");
    assert!(answers.take(absent).unwrap().is_none());
    assert_eq!(answers.take(views).unwrap(), 5);
    assert!(answers.take(added).unwrap());
    assert_eq!(
        cache.get(&Video(run.into(), 3)).await.as_deref().unwrap(),
        "dogs"
    );
    let mut other = cache.pipeline();
    let elsewhere = other.increment(&ClicksToday(format!("{run}-other")), 1);
    let misread = answers.take(elsewhere).unwrap_err();
    assert_eq!(
        misread.kind(),
        ErrorKind::Config,
        "a slot of another pipeline"
    );
}

async fn hash_fields_exists_and_expire(cache: &Cache, run: &str) {
    let key = VerificationKey {
        run: run.into(),
        account: "5Grw".into(),
    };
    assert!(!cache.exists(&key).await.unwrap());
    assert!(
        !cache
            .set_hash_fields(&key, &[("status", &"verified")])
            .await
            .unwrap(),
        "no partial value is created"
    );
    assert!(!cache.exists(&key).await.unwrap());
    cache
        .insert(
            key.clone(),
            Verification {
                status: "pending".into(),
                updated_at: "t0".into(),
                note: Some("called twice".into()),
            },
        )
        .await;
    assert!(cache.exists(&key).await.unwrap());
    assert_eq!(
        cache
            .hash_field::<_, String>(&key, "status")
            .await
            .unwrap()
            .as_deref(),
        Some("pending")
    );
    assert!(
        cache
            .set_hash_fields(&key, &[("status", &"verified"), ("updated_at", &"t1")])
            .await
            .unwrap()
    );
    assert_eq!(
        *cache.get(&key).await.unwrap(),
        Verification {
            status: "verified".into(),
            updated_at: "t1".into(),
            note: Some("called twice".into()),
        },
        "the whole value reads the new fields"
    );
    // HDEL of an optional field; a missing one counts nothing.
    assert_eq!(
        cache
            .remove_hash_fields(&key, &["note", "absent"])
            .await
            .unwrap(),
        1
    );
    assert_eq!(cache.get(&key).await.unwrap().note, None);
    assert_eq!(cache.remove_hash_fields(&key, &["note"]).await.unwrap(), 0);

    assert!(cache.expire(&key, Duration::from_secs(30)).await.unwrap());
    let left = cache.time_to_live(&key).await;
    if let Ok(Some(left)) = left {
        assert!(left <= Duration::from_secs(30), "{left:?}");
    }
    assert!(
        !cache
            .expire(
                &VerificationKey {
                    run: run.into(),
                    account: "none".into()
                },
                Duration::from_secs(30)
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn structures_in_process() {
    let cache = Cache::new(1_000);
    let run = run_name("memory");
    sets_and_sorted_sets(&cache, &run).await;
    a_queue_retries_then_gives_up(&cache, &run).await;
    daily_counters_and_pipelines(&cache, &run).await;
    hash_fields_exists_and_expire(&cache, &run).await;

    // Removing a field the type requires is refused and changes nothing.
    let key = VerificationKey {
        run: run.clone(),
        account: "5Grw".into(),
    };
    let e = cache
        .remove_hash_fields(&key, &["status"])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Codec, "{e}");
    assert_eq!(cache.get(&key).await.unwrap().status, "verified");
}

async fn structures_on_redis_as_other_clients_see_them(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    let run = run_name("redis");
    sets_and_sorted_sets(&cache, &run).await;
    a_queue_retries_then_gives_up(&cache, &run).await;
    daily_counters_and_pipelines(&cache, &run).await;
    hash_fields_exists_and_expire(&cache, &run).await;

    let mut redis = connect(&url).await.unwrap();
    let viewers = format!("t:{run}:offer:42:viewers");
    assert_eq!(redis.scard::<_, u64>(&viewers).await.unwrap(), 2);
    let ttl: i64 = redis.ttl(&viewers).await.unwrap();
    assert!(
        ttl > 6 * 24 * 3600,
        "created with the key type's TTL: {ttl}"
    );
    let top: Vec<(String, f64)> = redis
        .zrevrange_withscores(format!("t:{run}:offers:trending"), 0, 0)
        .await
        .unwrap();
    assert_eq!(top, [("3".to_owned(), 20.0)], "the score ZADD set");
    // A user segment is escaped: `emails:dead` cannot reach another queue's key.
    let dead_key = format!("t:{run}:queue:emails%3Adead");
    let dead: Vec<String> = redis.lrange(&dead_key, 0, -1).await.unwrap();
    assert_eq!(dead, [r#"{"to":"b@x","retry_count":3}"#]);
    let status: String = redis.hget(format!("t:{run}:5Grw"), "status").await.unwrap();
    assert_eq!(status, "verified");
    let note: Option<String> = redis.hget(format!("t:{run}:5Grw"), "note").await.unwrap();
    assert_eq!(note, None, "HDEL removed the field");
    // On Redis a required field can be removed (as any client could): the hash then reads as
    // an undecodable entry, a miss that removes it.
    let key = VerificationKey {
        run: run.clone(),
        account: "5Grw".into(),
    };
    assert_eq!(
        cache.remove_hash_fields(&key, &["status"]).await.unwrap(),
        1
    );
    assert_eq!(cache.get(&key).await, None);
    assert!(
        !redis
            .exists::<_, bool>(format!("t:{run}:5Grw"))
            .await
            .unwrap()
    );
    let clicks_ttl: i64 = redis
        .ttl(format!("t:{run}:stats:clicks:today"))
        .await
        .unwrap();
    assert!((1..=24 * 3600).contains(&clicks_ttl), "{clicks_ttl}");

    // What another client pushed is read typed; what does not decode goes to the dead letters.
    let queue_key = format!("t:{run}:queue:emails");
    let _: () = redis
        .rpush(
            &queue_key,
            &[r#"{"to":"py@x"}"#, "not json", r#"{"to":"c@x"}"#],
        )
        .await
        .unwrap();
    let queue = cache
        .queue(&EmailQueue {
            run: run.clone(),
            name: "emails",
        })
        .dead_letter(&EmailQueue {
            run: run.clone(),
            name: "emails:dead",
        });
    assert_eq!(queue.pop().await.unwrap().unwrap().to, "py@x");
    assert_eq!(queue.pop().await.unwrap().unwrap().to, "c@x");
    let dead: Vec<String> = redis.lrange(&dead_key, 0, -1).await.unwrap();
    assert_eq!(dead.last().map(String::as_str), Some("not json"));
    assert!(cache.stats().total().decode_errors >= 1);

    // A key of another kind is a clear error, not a panic.
    let wrong = cache
        .set_of(&Viewers {
            run: run.clone(),
            id: 0,
        })
        .key()
        .to_owned();
    let _: () = redis.set(&wrong, "plain").await.unwrap();
    let err = cache
        .set_of(&Viewers { run, id: 0 })
        .add(&1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

#[tokio::test]
async fn a_pipeline_is_one_round_trip_on_redis() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    let run = run_name("pipeline");
    let mut redis = connect(&url).await.unwrap();
    let before: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut redis)
        .await
        .unwrap();
    let reads = |info: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("total_reads_processed:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let mut pipe = cache.pipeline();
    let slots: Vec<_> = (0..20)
        .map(|i| pipe.increment(&ClicksToday(format!("{run}-{i}")), i))
        .collect();
    let mut answers = pipe.run().await.unwrap();
    for (i, slot) in slots.into_iter().enumerate() {
        assert_eq!(answers.take(slot).unwrap(), i as i64);
    }
    let after: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut redis)
        .await
        .unwrap();
    // Twenty increments in one read of the cache's socket, beside the reads of the two INFOs
    // (one at a time, they would take twenty).
    let reads = reads(&after) - reads(&before);
    assert!(reads <= 4, "{reads} socket reads");
}

async fn fleet_stats_add_up_what_every_instance_published(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let a = redis_cache(&url).await;
    let b = redis_cache(&url).await;
    let run = run_name("fleet");
    a.insert(Video(run.clone(), 1), "x".to_owned()).await;
    for cache in [&a, &b] {
        // A and B each hit once (B from Redis) and miss once.
        assert!(cache.get(&Video(run.clone(), 1)).await.is_some());
        assert!(cache.get(&Video(run.clone(), 2)).await.is_none());
    }
    let before = a.fleet_stats(&["video"]).await.unwrap();
    a.publish_stats().await.unwrap();
    b.publish_stats().await.unwrap();
    // Publishing again adds nothing new.
    a.publish_stats().await.unwrap();
    let after = b.fleet_stats(&["video"]).await.unwrap();
    let (was, now) = (
        before.namespace("video").unwrap(),
        after.namespace("video").unwrap(),
    );
    assert_eq!((now.hits - was.hits, now.misses - was.misses), (2, 2));
    assert!(after.hit_ratio() > 0.0);
}

cache_core::on_each_topology!(
    structures_on_redis_as_other_clients_see_them,
    fleet_stats_add_up_what_every_instance_published,
);
