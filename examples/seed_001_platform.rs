//! Seed 001 (a coupon platform's Redis guide) rebuilt with typed keys: sessions for 24 h, OTP
//! codes for 5 min with an attempt counter, a 100-per-minute rate limit, the merchant cache
//! invalidated on update, top offers for 10 min, and the withdrawal lock.
//!
//! Runs against `REDIS_URL`, or a private `redis-server` it starts:
//! `cargo run -p examples --example seed_001_platform`

use std::time::Duration;

use cache_core::codec::{Json, Text};
use cache_core::store::redis::RedisStore;
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    user_id: u64,
    email: String,
    role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Merchant {
    id: u64,
    name: String,
    slug: String,
    default_cashback_value: f64,
}

// Seed 001's key table, one line each, in its exact layouts: the Python service and this one
// share the keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "session:{0}", namespace = "session", ttl = "24h", value = Session, codec = Json)]
struct SessionKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "otp:{0}", namespace = "otp", ttl = "5m", value = String, codec = Text)]
struct OtpKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "otp:attempts:{0}", namespace = "otp_attempts", ttl = "1h", value = i64, codec = Text)]
struct OtpAttempts(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "rate_limit:{0}", namespace = "rate_limit", ttl = "60s", value = i64, codec = Text)]
struct RateLimit(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "merchant:{0}", namespace = "merchant", ttl = "1h", value = Merchant, codec = Json)]
struct MerchantKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "offers:top:{0}", namespace = "offers_top", ttl = "10m", value = Vec<u64>, codec = Json)]
struct TopOffers(u32);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "lock:withdraw:{0}", namespace = "lock", ttl = "10s", value = (), codec = Json)]
struct WithdrawLock(u64);

/// `verify_otp`: at most 5 attempts an hour, the code deleted once used.
async fn verify_otp(
    cache: &Cache,
    mobile: &str,
    code: &str,
) -> Result<bool, Box<dyn std::error::Error>> {
    let attempts = cache.increment(&OtpAttempts(mobile.into()), 1).await?;
    if attempts > 5 {
        return Err("too many OTP attempts; try again in an hour".into());
    }
    let otp = OtpKey(mobile.into());
    match cache.strict().get(&otp).await? {
        Some(stored) if *stored == code => {
            cache.invalidate(&otp).await;
            cache.invalidate(&OtpAttempts(mobile.into())).await;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = RedisServer::url_or_start()?;
    let redis = RedisStore::connect(&url).await?;
    // Sessions and OTPs are read back right after a write on another instance: keep no
    // in-process copies longer than a few seconds.
    let cache = Cache::builder()
        .far(redis)
        .near_ttl(Duration::from_secs(5))
        .build()?;

    // 1. Sessions: login stores, protected routes read, logout deletes.
    let token = SessionKey("eyJhbGciOiJIUzI1NiJ9.demo".into());
    cache
        .insert(
            token.clone(),
            Session {
                user_id: 7,
                email: "a@example.com".into(),
                role: "admin".into(),
            },
        )
        .await;
    println!(
        "session of user {}",
        cache.get(&token).await.ok_or("session missing")?.user_id
    );
    cache.invalidate(&token).await;
    println!(
        "after logout: {:?}",
        cache.get(&token).await.map(|s| s.user_id)
    );

    // 2. OTP with attempts.
    cache
        .insert(OtpKey("+919876543210".into()), "482913".into())
        .await;
    println!(
        "wrong code: {}",
        verify_otp(&cache, "+919876543210", "000000").await?
    );
    println!(
        "right code: {}",
        verify_otp(&cache, "+919876543210", "482913").await?
    );

    // 3. Rate limit: the counter and its 60 s window in one atomic step.
    let ip = RateLimit("203.0.113.9".into());
    let mut last = 0;
    for _ in 0..3 {
        last = cache.increment(&ip, 1).await?;
    }
    let reset = cache.time_to_live(&ip).await?.unwrap_or_default();
    println!(
        "X-RateLimit-Limit: 100, X-RateLimit-Remaining: {}, X-RateLimit-Reset: {}",
        100 - last,
        reset.as_secs()
    );

    // 4. Merchant cache-aside, invalidated by the admin update.
    let slug = MerchantKey("amazon".into());
    let load = || async {
        println!("  (database query for merchant amazon)");
        Merchant {
            id: 42,
            name: "Amazon".into(),
            slug: "amazon".into(),
            default_cashback_value: 5.5,
        }
    };
    cache.get_with(&slug, load()).await;
    cache.get_with(&slug, load()).await; // a hit: no query
    cache.invalidate(&slug).await; // PUT /admin/merchants/42
    cache.get_with(&slug, load()).await; // queried again

    // 5. Top offers for 10 minutes.
    let top = cache
        .get_with(&TopOffers(10), async { vec![101, 102, 103] })
        .await;
    println!("top offers: {top:?}");

    // 6. The withdrawal lock: one owner, released by compare-and-delete.
    if let Some(lease) = cache
        .try_lock(&WithdrawLock(7), Duration::from_secs(10))
        .await?
    {
        println!(
            "second withdrawal while locked: {:?}",
            cache
                .try_lock(&WithdrawLock(7), Duration::from_secs(10))
                .await?
                .is_some()
        );
        lease.release().await?;
    }

    let stats = cache.stats();
    println!(
        "merchant hit ratio: {:.2}",
        stats.namespace("merchant").map_or(0.0, |n| n.hit_ratio())
    );
    Ok(())
}
