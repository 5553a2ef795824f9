//! Typed Redis streams with consumer groups, on a real, private `redis-server`: acknowledgement
//! after the handler, retries and the dead-letter stream, redelivery of a dead consumer's
//! messages, recovery after a restart, graceful shutdown, the invalidation consumer, and
//! messages written and consumed by a Python process with redis-py.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_core::store::redis::RedisStore;
use cache_core::stream::{Delivery, Invalidation, Report, StartFrom, Stream};
use cache_core::test_util::{RedisServer, TestConnection, Topology, connect};
use cache_core::{Cache, CacheKey, KeyPrefix};
use redis::AsyncCommands;
use redis::streams::StreamRangeReply;
use serde::{Deserialize, Serialize};

/// A verification result, as the producing service writes it: one stream field per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Verified {
    user_wallet: String,
    did_id: String,
    result: String,
    verified_at: u64,
}

fn verified(n: u64) -> Verified {
    Verified {
        user_wallet: format!("5Grw{n}"),
        did_id: format!("did:example:{n}"),
        result: "verified".into(),
        verified_at: 1_700_000_000 + n,
    }
}

/// What a [`recording`] handler was handed: each message with its delivery count.
type Seen = Arc<Mutex<Vec<(Verified, u64)>>>;

/// A handler that keeps each message it is handed in `seen`, and succeeds.
fn recording(
    seen: &Seen,
) -> impl FnMut(Delivery<Verified>) -> std::future::Ready<Result<(), String>> {
    let seen = seen.clone();
    move |delivery| {
        seen.lock()
            .unwrap()
            .push((delivery.message, delivery.deliveries));
        std::future::ready(Ok(()))
    }
}

/// A stream name of its own for each test, so tests can share one Redis (`REDIS_URL`).
fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t:{nanos}:{}:{name}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn entries(conn: &mut TestConnection, stream: &str) -> StreamRangeReply {
    conn.xrange_all(stream).await.unwrap()
}

fn field(entry: &redis::streams::StreamId, name: &str) -> String {
    entry
        .get::<String>(name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

/// Polls until `done` holds of the running total, at most `rounds` times.
async fn poll_until<F, Fut>(
    consumer: &mut cache_core::stream::Consumer<Verified>,
    rounds: usize,
    mut handler: F,
    done: impl Fn(&Report) -> bool,
) -> Report
where
    F: FnMut(Delivery<Verified>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut total = Report::default();
    for _ in 0..rounds {
        let round = consumer.poll(&mut handler).await.unwrap();
        total.acked += round.acked;
        total.failed += round.failed;
        total.dead_lettered += round.dead_lettered;
        if done(&total) {
            return total;
        }
    }
    panic!("not done after {rounds} rounds: {total:?}");
}

async fn published_messages_are_flat_fields_handled_once_and_acknowledged(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let stream = Stream::<Verified>::new(&store, unique("verification_stream")).unwrap();
    for n in 0..3 {
        stream.publish(&verified(n)).await.unwrap();
    }
    assert_eq!(stream.len().await.unwrap(), 3);

    // Another client sees one field per struct field, as text.
    let mut conn = connect(&url).await.unwrap();
    let written = entries(&mut conn, stream.name()).await;
    assert_eq!(field(&written.ids[1], "user_wallet"), "5Grw1");
    assert_eq!(field(&written.ids[1], "verified_at"), "1700000001");

    let mut consumer = stream
        .consumer("attestation_processors", "rust_processor_1")
        .block(Duration::from_millis(20));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let report = poll_until(&mut consumer, 5, recording(&seen), |total| total.acked == 3).await;
    assert_eq!(
        report,
        Report {
            acked: 3,
            failed: 0,
            dead_lettered: 0
        }
    );
    assert_eq!(
        *seen.lock().unwrap(),
        (0..3).map(|n| (verified(n), 1)).collect::<Vec<_>>()
    );
    assert_eq!(consumer.pending().await.unwrap(), 0);
    // Nothing more to read: a later round hands nothing.
    let again = consumer
        .poll(|_| async { Ok::<(), String>(()) })
        .await
        .unwrap();
    assert_eq!(again, Report::default());
}

async fn a_failing_message_is_retried_then_moved_to_the_dead_letter_stream(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let stream = Stream::<Verified>::new(&store, unique("verifications")).unwrap();
    let id = stream.publish(&verified(7)).await.unwrap();
    let mut consumer = stream
        .consumer("processors", "one")
        .block(Duration::from_millis(20))
        .claim_idle(Duration::from_millis(30))
        .max_deliveries(3);
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let report = poll_until(
        &mut consumer,
        200,
        |delivery| {
            let deliveries = deliveries.clone();
            async move {
                deliveries.lock().unwrap().push(delivery.deliveries);
                Err("the ledger is down".to_owned())
            }
        },
        |total| total.dead_lettered == 1,
    )
    .await;
    assert_eq!(report.failed, 3);
    assert_eq!(*deliveries.lock().unwrap(), vec![1, 2, 3]);
    assert_eq!(consumer.pending().await.unwrap(), 0);

    let mut conn = connect(&url).await.unwrap();
    let dead = entries(&mut conn, &format!("{}:dead", stream.name())).await;
    assert_eq!(dead.ids.len(), 1);
    let entry = &dead.ids[0];
    assert_eq!(field(entry, "user_wallet"), "5Grw7");
    assert_eq!(field(entry, "_source_id"), id);
    assert_eq!(field(entry, "_deliveries"), "3");
    assert_eq!(field(entry, "_reason"), "the ledger is down");
}

async fn undecodable_messages_go_to_the_dead_letter_stream_without_the_handler(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let name = unique("verifications");
    let stream = Stream::<Verified>::new(&store, &name).unwrap();
    let mut conn = connect(&url).await.unwrap();
    // A field of the wrong type, a missing field, a value that is not UTF-8.
    let _: String = redis::cmd("XADD")
        .arg(&name)
        .arg("*")
        .arg(&[
            ("user_wallet", "a"),
            ("did_id", "b"),
            ("result", "c"),
            ("verified_at", "yesterday"),
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = conn
        .xadd(&name, "*", &[("user_wallet", "a")])
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&name)
        .arg("*")
        .arg("user_wallet")
        .arg(&[0xff_u8, 0xfe][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    stream.publish(&verified(1)).await.unwrap();

    let mut consumer = stream
        .consumer("processors", "one")
        .block(Duration::from_millis(20))
        .dead_letter(format!("{name}:rejected"));
    let handled = Arc::new(Mutex::new(Vec::new()));
    let report = poll_until(
        &mut consumer,
        5,
        |delivery| {
            let handled = handled.clone();
            async move {
                handled.lock().unwrap().push(delivery.message);
                Ok(())
            }
        },
        |total| total.acked + total.dead_lettered == 4,
    )
    .await;
    assert_eq!(
        report,
        Report {
            acked: 1,
            failed: 0,
            dead_lettered: 3
        }
    );
    assert_eq!(*handled.lock().unwrap(), vec![verified(1)]);
    let dead = entries(&mut conn, &format!("{name}:rejected")).await;
    let reasons: Vec<String> = dead.ids.iter().map(|e| field(e, "_reason")).collect();
    assert!(reasons[0].starts_with("undecodable"), "{reasons:?}");
    assert!(reasons[1].starts_with("undecodable"), "{reasons:?}");
    assert_eq!(reasons[2], "a field is not UTF-8 text");
    assert_eq!(field(&dead.ids[0], "verified_at"), "yesterday");
    assert_eq!(consumer.pending().await.unwrap(), 0);
}

async fn a_dead_consumers_message_is_claimed_and_handled_by_another(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let stream = Stream::<Verified>::new(&store, unique("verifications")).unwrap();
    stream.publish(&verified(3)).await.unwrap();

    // The first consumer is given the message and dies while handling it.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let mut first = stream
        .consumer("processors", "first")
        .block(Duration::from_millis(20));
    let dying = tokio::spawn(async move {
        let mut started = Some(started_tx);
        first
            .poll(move |_| {
                if let Some(started) = started.take() {
                    let _ = started.send(());
                }
                std::future::pending::<Result<(), String>>()
            })
            .await
    });
    started_rx.await.unwrap();
    dying.abort();
    let _ = dying.await;

    let mut second = stream
        .consumer("processors", "second")
        .block(Duration::from_millis(20))
        .claim_idle(Duration::from_millis(100));
    assert_eq!(second.pending().await.unwrap(), 1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    poll_until(&mut second, 100, recording(&seen), |total| total.acked == 1).await;
    assert_eq!(*seen.lock().unwrap(), vec![(verified(3), 2)]);
    assert_eq!(second.pending().await.unwrap(), 0);
}

async fn a_restarted_consumer_first_finishes_its_own_pending_messages(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let stream = Stream::<Verified>::new(&store, unique("verifications")).unwrap();
    stream.publish(&verified(1)).await.unwrap();
    stream.publish(&verified(2)).await.unwrap();
    let consumer = || {
        stream
            .consumer("processors", "stable-name")
            .block(Duration::from_millis(20))
            .claim_idle(Duration::from_secs(3600))
    };
    let mut before = consumer();
    let report = before
        .poll(|_| async { Err::<(), _>("crashed") })
        .await
        .unwrap();
    assert_eq!(report.failed, 2);
    drop(before);

    // Deleted from the stream while pending: acknowledged without a handler call.
    let mut conn = connect(&url).await.unwrap();
    let written = entries(&mut conn, stream.name()).await;
    let _: u64 = conn
        .xdel(stream.name(), &[&written.ids[0].id])
        .await
        .unwrap();

    let mut after = consumer();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let report = after.poll(recording(&seen)).await.unwrap();
    assert_eq!(report.acked, 1);
    assert_eq!(*seen.lock().unwrap(), vec![(verified(2), 2)]);
    assert_eq!(after.pending().await.unwrap(), 0);
}

async fn a_new_group_starts_where_it_is_told(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let stream = Stream::<Verified>::new(&store, unique("verifications")).unwrap();
    stream.publish(&verified(1)).await.unwrap();
    let mut from_start = stream
        .consumer("replay", "one")
        .block(Duration::from_millis(20));
    let mut only_new = stream
        .consumer("live", "one")
        .block(Duration::from_millis(20))
        .start_from(StartFrom::NewMessages);
    let ok = |_| async { Ok::<(), String>(()) };
    assert_eq!(from_start.poll(ok).await.unwrap().acked, 1);
    assert_eq!(only_new.poll(ok).await.unwrap().acked, 0);
    stream.publish(&verified(2)).await.unwrap();
    assert_eq!(only_new.poll(ok).await.unwrap().acked, 1);

    // A group deleted under a running consumer is created again.
    let mut conn = connect(&url).await.unwrap();
    let _: () = redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(stream.name())
        .arg("live")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(only_new.poll(ok).await.is_err());
    stream.publish(&verified(3)).await.unwrap();
    assert_eq!(only_new.poll(ok).await.unwrap().acked, 0);
    stream.publish(&verified(4)).await.unwrap();
    assert_eq!(only_new.poll(ok).await.unwrap().acked, 1);
}

async fn shutdown_finishes_the_message_in_hand_and_acknowledges_it(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let stream = Stream::<Verified>::new(&store, unique("verifications")).unwrap();
    stream.publish(&verified(1)).await.unwrap();
    let consumer = stream
        .consumer("processors", "one")
        .block(Duration::from_millis(20));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop_tx = Mutex::new(Some(stop_tx));
    let report = consumer
        .run(
            |_| {
                // Shutdown is asked for while the handler is still working.
                if let Some(stop) = stop_tx.lock().unwrap().take() {
                    let _ = stop.send(());
                }
                async {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok::<(), String>(())
                }
            },
            async {
                let _ = stop_rx.await;
            },
        )
        .await;
    assert_eq!(report.acked, 1);
    let group = stream.consumer("processors", "other");
    assert_eq!(group.pending().await.unwrap(), 0);

    // A dead Redis does not end a run; shutdown still does.
    let mut server = RedisServer::start().unwrap();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let stream = Stream::<Verified>::new(&store, "offline").unwrap();
    server.stop();
    let report = stream
        .consumer("processors", "one")
        .block(Duration::from_millis(20))
        .run(
            |_| async { Ok::<(), String>(()) },
            tokio::time::sleep(Duration::from_millis(500)),
        )
        .await;
    assert_eq!(report, Report::default());
}

/// A cached merchant profile, tagged with its merchant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{run}:merchant:{slug}", ttl = "1h", value = String)]
struct Merchant {
    run: String,
    slug: String,
}

async fn invalidation_messages_remove_keys_tags_and_prefixes_from_both_tiers(topology: Topology) {
    let (url, _redis) = topology.url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let cache = Cache::builder()
        .max_capacity(1000)
        .far(store.clone())
        .build()
        .unwrap();
    let run = unique("inv");
    let merchant = |slug: &str| Merchant {
        run: run.clone(),
        slug: slug.to_owned(),
    };
    for slug in ["coffee", "cookies", "tea", "milk"] {
        cache
            .insert(merchant(slug), format!("{slug} profile"))
            .await;
    }
    cache
        .insert_tagged(merchant("bread"), "bread profile".to_owned(), &["bakery"])
        .await;

    let name = unique("cache-invalidations");
    let stream = Stream::<Invalidation>::new(&store, &name).unwrap();
    // Written by another service, field by field.
    let mut conn = connect(&url).await.unwrap();
    let tea = merchant("tea").render();
    let _: String = conn
        .xadd(&name, "*", &[("key", tea.as_str())])
        .await
        .unwrap();
    let _: String = conn.xadd(&name, "*", &[("tag", "bakery")]).await.unwrap();
    stream
        .publish(&Invalidation::prefix(
            &KeyPrefix::of::<Merchant>()
                .segment(&run)
                .segment("merchant")
                .partial("co"),
        ))
        .await
        .unwrap();
    // Names nothing; an empty prefix would name everything: both refused.
    let _: String = conn.xadd(&name, "*", &[("note", "hello")]).await.unwrap();
    let _: String = conn.xadd(&name, "*", &[("prefix", "")]).await.unwrap();

    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let stream = stream.clone();
        tokio::spawn(async move {
            let mut conn = connect(&url).await.unwrap();
            loop {
                // The refused messages are the last ones: once both are buried, all is done.
                let dead: u64 = conn.xlen(format!("{}:dead", stream.name())).await.unwrap();
                let pending = stream
                    .consumer("invalidate-web-1", "x")
                    .pending()
                    .await
                    .unwrap();
                if dead == 2 && pending == 0 {
                    let _ = done_tx.send(());
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let report = stream
        .consumer("invalidate-web-1", "web-1")
        .block(Duration::from_millis(20))
        .run_invalidations(&cache, async {
            let _ = done_rx.await;
        })
        .await;
    watcher.await.unwrap();
    assert_eq!(report.acked, 3);
    assert_eq!(report.dead_lettered, 2);

    for gone in ["tea", "bread", "coffee", "cookies"] {
        assert_eq!(cache.get(&merchant(gone)).await, None, "{gone}");
        let far: Option<String> = conn.get(merchant(gone).render()).await.unwrap();
        assert_eq!(far, None, "{gone} in Redis");
    }
    // Nothing else was touched.
    assert_eq!(
        cache
            .get(&merchant("milk"))
            .await
            .as_deref()
            .map(String::as_str),
        Some("milk profile")
    );
    let reasons: Vec<String> = entries(&mut conn, &format!("{name}:dead"))
        .await
        .ids
        .iter()
        .map(|e| field(e, "_reason"))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("names no key, tag or prefix")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("empty prefix")),
        "{reasons:?}"
    );
}

/// The consumer group's work shared with a Python service: messages written with redis-py's
/// `xadd` are handled by the Rust group, and a Python consumer killed (SIGKILL) while it holds
/// a message has that message handed to the Rust consumer.
#[tokio::test]
async fn messages_from_python_are_consumed_and_a_killed_python_consumers_message_is_redelivered() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let name = unique("verification_stream");
    let python = |script: &str| {
        let mut command = std::process::Command::new("python3");
        command
            .arg("-c")
            .arg(script)
            .env("REDIS_URL", &url)
            .env("STREAM", &name)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let produced = python(
        "import os, redis\n\
         r = redis.Redis.from_url(os.environ['REDIS_URL'])\n\
         for n in range(3):\n\
         \x20   r.xadd(os.environ['STREAM'], {'user_wallet': f'5Grw{n}', 'did_id': f'did:example:{n}', 'result': 'verified', 'evidence_hash': 'ab' * 16, 'verified_at': 1700000000 + n})\n",
    )
    .output()
    .expect("python3 runs");
    assert!(
        produced.status.success(),
        "python3 with redis-py (pip install redis): {}",
        String::from_utf8_lossy(&produced.stderr)
    );

    // A Python consumer in the same group takes one message and is killed before its XACK.
    let mut worker = python(
        "import os, sys, time, redis\n\
         r = redis.Redis.from_url(os.environ['REDIS_URL'])\n\
         s = os.environ['STREAM']\n\
         try:\n\
         \x20   r.xgroup_create(s, 'attestation_processors', id='0', mkstream=True)\n\
         except redis.ResponseError:\n\
         \x20   pass\n\
         got = r.xreadgroup('attestation_processors', 'python_worker', {s: '>'}, count=1)\n\
         print(got[0][1][0][1][b'user_wallet'].decode(), flush=True)\n\
         time.sleep(60)\n",
    )
    .spawn()
    .unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        let stdout = worker.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
    }
    assert_eq!(
        line.trim(),
        "5Grw0",
        "the Python consumer took the first message"
    );
    worker.kill().unwrap();
    worker.wait().unwrap();

    let stream = Stream::<Verified>::new(&store, &name).unwrap();
    let mut consumer = stream
        .consumer("attestation_processors", "rust_processor_1")
        .batch(10)
        .block(Duration::from_millis(20))
        .claim_idle(Duration::from_millis(100));
    let seen = Arc::new(Mutex::new(Vec::new()));
    poll_until(&mut consumer, 100, recording(&seen), |total| {
        total.acked == 3
    })
    .await;
    let mut seen: Vec<(String, u64)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(message, deliveries)| (message.user_wallet.clone(), *deliveries))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("5Grw0".to_owned(), 2),
            ("5Grw1".to_owned(), 1),
            ("5Grw2".to_owned(), 1)
        ]
    );
    assert_eq!(consumer.pending().await.unwrap(), 0);

    // And Python sees the group with nothing pending.
    let checked = python(
        "import os, redis\n\
         r = redis.Redis.from_url(os.environ['REDIS_URL'])\n\
         print(r.xpending(os.environ['STREAM'], 'attestation_processors')['pending'])\n",
    )
    .output()
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&checked.stdout).trim(), "0");
}

cache_core::on_each_topology!(
    published_messages_are_flat_fields_handled_once_and_acknowledged,
    a_failing_message_is_retried_then_moved_to_the_dead_letter_stream,
    undecodable_messages_go_to_the_dead_letter_stream_without_the_handler,
    a_dead_consumers_message_is_claimed_and_handled_by_another,
    a_restarted_consumer_first_finishes_its_own_pending_messages,
    a_new_group_starts_where_it_is_told,
    shutdown_finishes_the_message_in_hand_and_acknowledges_it,
    invalidation_messages_remove_keys_tags_and_prefixes_from_both_tiers,
);
