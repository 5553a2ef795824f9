//! A verification backend hands its results to an attestation processor through a Redis
//! stream: the backend appends each result (`XADD verification_stream * user_wallet …
//! did_id … result … evidence_hash … verified_at …`, flat fields, as a Python service writes
//! them), and processors in the consumer group `attestation_processors` take them in batches of
//! 10, waiting up to a second for new ones. A result is acknowledged once its attestation is
//! recorded; one that cannot be decoded goes to `verification_stream:dead` with the reason.
//! Then the processor's cache of attestations is kept right by invalidation messages on a
//! second stream, which the backend writes when it revokes a verification.
//!
//! `cargo run -p examples --example verification_stream -- --redis redis://127.0.0.1:6379`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::store::redis::RedisStore;
use cache_core::stream::{Invalidation, Stream};
use cache_core::{Cache, CacheKey};
use serde::{Deserialize, Serialize};

use crate::{Narration, Outcome};

/// A verification result, one stream field per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationResult {
    /// The wallet that was verified.
    pub user_wallet: String,
    /// The decentralised identity.
    pub did_id: String,
    /// `verified` or `rejected`.
    pub result: String,
    /// The hash of the evidence.
    pub evidence_hash: String,
    /// When, as ISO 8601 text.
    pub verified_at: String,
}

/// `attestation:<wallet>`: the attestation the processor recorded, for an hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "attestation:{0}", namespace = "attestation", ttl = "1h", value = String)]
pub struct AttestationKey(pub String);

/// The stream the backend writes.
pub const STREAM: &str = "verification_stream";
/// The stream of invalidations.
pub const INVALIDATIONS: &str = "cache-invalidations";

/// Waits until `done` holds, checking every 20 ms.
async fn until(done: impl Fn() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the producer and the processor on the Redis at `url`.
///
/// # Errors
///
/// An unreachable Redis.
pub async fn run(url: &str, say: &mut Narration) -> Outcome {
    let redis = RedisStore::connect(url).await?;
    let results = Stream::<VerificationResult>::new(&redis, STREAM)?.max_len(100_000);

    // The backend's side: four results, and one written by hand with a misspelt field.
    for (n, result) in ["verified", "verified", "rejected", "verified"]
        .iter()
        .enumerate()
    {
        let message = VerificationResult {
            user_wallet: format!("0x{n:040x}"),
            did_id: n.to_string(),
            result: (*result).to_owned(),
            evidence_hash: format!("{:064x}", n * 7919),
            verified_at: format!("2025-10-03T18:15:1{n}"),
        };
        results.publish(&message).await?;
    }
    let _: String = redis
        .command(
            redis::cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg("user_wallet")
                .arg("0xdead")
                .arg("reslut")
                .arg("verified"),
        )
        .await?;
    say.say(format!("published {} results", results.len().await?));

    // The processor: records each attestation, acknowledges it, stops when all are done.
    let cache = Cache::builder().far(redis.clone()).build()?;
    let handled = Arc::new(AtomicU64::new(0));
    let dead_letter = Stream::<VerificationResult>::new(&redis, format!("{STREAM}:dead"))?;
    let consumer = results
        .consumer("attestation_processors", "rust_processor_1")
        .batch(10)
        .block(Duration::from_secs(1));
    let report = consumer
        .run(
            |delivery| {
                let cache = cache.clone();
                let handled = handled.clone();
                async move {
                    let message = delivery.message;
                    let attestation = format!("{} for {}", message.result, message.did_id);
                    cache
                        .insert(AttestationKey(message.user_wallet), attestation)
                        .await;
                    handled.fetch_add(1, Ordering::Relaxed);
                    Ok::<(), cache_core::Error>(())
                }
            },
            async {
                until(|| handled.load(Ordering::Relaxed) == 4).await;
                while dead_letter.len().await.unwrap_or(0) < 1 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        )
        .await;
    say.say(format!(
        "acknowledged {}, dead-lettered {}",
        report.acked, report.dead_lettered
    ));
    let pending = results
        .consumer("attestation_processors", "rust_processor_1")
        .pending()
        .await?;
    say.say(format!("pending after shutdown: {pending}"));
    let buried: Vec<(String, Vec<(String, String)>)> = redis
        .command(
            redis::cmd("XRANGE")
                .arg(format!("{STREAM}:dead"))
                .arg("-")
                .arg("+"),
        )
        .await?;
    if let Some((_, fields)) = buried.first() {
        let reason = fields
            .iter()
            .find(|(name, _)| name == "_reason")
            .map_or("", |(_, reason)| reason.as_str());
        say.say(format!("dead letter: {reason}"));
    }

    // The backend revokes the first wallet's verification and says so on the invalidation
    // stream; the processor's invalidation consumer drops the cached attestation.
    let wallet = format!("0x{:040x}", 0);
    let cached = cache.get(&AttestationKey(wallet.clone())).await;
    say.say(format!(
        "cached attestation: {}",
        cached.as_deref().map_or("none", String::as_str)
    ));
    let invalidations = Stream::<Invalidation>::new(&redis, INVALIDATIONS)?.max_len(10_000);
    invalidations
        .publish(&Invalidation::key(&AttestationKey(wallet.clone())))
        .await?;
    let report = invalidations
        .consumer("invalidate-processor-1", "processor-1")
        .block(Duration::from_millis(100))
        .run_invalidations(&cache, async {
            until(|| {
                cache
                    .get_in_process(&AttestationKey(wallet.clone()))
                    .is_none()
            })
            .await;
        })
        .await;
    let after = cache.get(&AttestationKey(wallet)).await;
    say.say(format!(
        "after revocation: {} ({} invalidation applied)",
        after.as_deref().map_or("none", String::as_str),
        report.acked
    ));
    Ok(())
}
