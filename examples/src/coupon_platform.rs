//! A coupon and cashback platform's Redis use on typed keys: sessions for 24 h, OTP codes for
//! 5 min with an attempt counter, a 100-per-minute rate limit per IP, the merchant profile
//! cached for an hour and invalidated when an admin updates it, the top offers for 10 min, a
//! withdrawal lock released by compare-and-delete, an email queue retried up to 3 times,
//! offer clicks (a counter, a trending sorted set, unique viewers, clicks of the day), the
//! active users set, the referral leaderboard, several commands in one pipeline, and
//! `INFO memory` through the store's own connection.
//!
//! The keys are the platform's existing layout (`session:<token>`, `otp:<mobile>`,
//! `rate_limit:<ip>`, `merchant:<slug>`, `offers:top:10`, `lock:withdraw:<user>`,
//! `queue:emails`, `offer:<id>:clicks`, `offers:trending`, `offer:<id>:viewers`,
//! `users:active`, `stats:clicks:today`, `leaderboard:referrals`), so a service written in
//! another language shares them.
//!
//! `cargo run -p examples --example coupon_platform -- --redis redis://127.0.0.1:6379`

use std::time::Duration;

use cache_core::codec::{Json, Text};
use cache_core::store::redis::RedisStore;
use cache_core::{Attempts, Cache, CacheKey, Worked};
use serde::{Deserialize, Serialize};

use crate::{Narration, Outcome};

/// A signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The signed-in user.
    pub user_id: u64,
    /// Their email.
    pub email: String,
    /// `admin`, `member`, …
    pub role: String,
}

/// A merchant's profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Merchant {
    /// The database id.
    pub id: u64,
    /// The display name.
    pub name: String,
    /// The URL name.
    pub slug: String,
    /// The cashback in percent.
    pub default_cashback_value: f64,
}

// The platform's key table, one line each.
/// `session:<token>`, 24 h.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "session:{0}", namespace = "session", ttl = "24h", value = Session, codec = Json)]
pub struct SessionKey(pub String);

/// `otp:<mobile>`, 5 min.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "otp:{0}", namespace = "otp", ttl = "5m", value = String, codec = Text)]
pub struct OtpKey(pub String);

/// `otp:attempts:<mobile>`, an hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "otp:attempts:{0}", namespace = "otp_attempts", ttl = "1h", value = i64, codec = Text)]
pub struct OtpAttempts(pub String);

/// `rate_limit:<ip>`, a 60 s window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "rate_limit:{0}", namespace = "rate_limit", ttl = "60s", value = i64, codec = Text)]
pub struct RateLimit(pub String);

/// `merchant:<slug>`, an hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "merchant:{0}", namespace = "merchant", ttl = "1h", value = Merchant, codec = Json)]
pub struct MerchantKey(pub String);

/// `offers:top:<n>`, 10 min.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "offers:top:{0}", namespace = "offers_top", ttl = "10m", value = Vec<u64>, codec = Json)]
pub struct TopOffers(pub u32);

/// `lock:withdraw:<user>`, 10 s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "lock:withdraw:{0}", namespace = "lock", ttl = "10s", value = (), codec = Json)]
pub struct WithdrawLock(pub u64);

/// Checks an OTP code: at most 5 attempts an hour, the code deleted once used.
async fn verify_otp(
    cache: &Cache,
    mobile: &str,
    code: &str,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
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

/// An email waiting to be sent, with how often sending it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The recipient.
    pub to: String,
    /// The template to render.
    pub template: String,
    /// Failed attempts so far.
    #[serde(default)]
    pub retry_count: u32,
}

impl Attempts for Email {
    fn attempts(&self) -> u32 {
        self.retry_count
    }
    fn record_failure(&mut self) {
        self.retry_count += 1;
    }
}

/// `queue:<name>`: `queue:emails` and its dead letters, `queue:emails_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "queue:{0}", namespace = "queue", ttl = "7d", value = Email, codec = Json)]
pub struct QueueKey(pub &'static str);

/// `offer:<id>:clicks`, a plain counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "offer:{0}:clicks", namespace = "offer_clicks", ttl = "30d", value = i64, codec = Text)]
pub struct OfferClicks(pub u64);

/// `offer:<id>:viewers`, the users who viewed the offer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "offer:{0}:viewers", namespace = "offer_viewers", ttl = "7d", value = u64, codec = Text)]
pub struct OfferViewers(pub u64);

/// `offers:trending`, offers by clicks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "offers:trending", namespace = "trending", ttl = "1d", value = u64, codec = Text)]
pub struct Trending;

/// `users:active`, the users seen in the last hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "users:active", namespace = "active_users", ttl = "1h", value = u64, codec = Text)]
pub struct ActiveUsers;

/// `stats:clicks:today`, reset at midnight UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "stats:clicks:today", namespace = "clicks_today", ttl = "1d", value = i64, codec = Text)]
pub struct ClicksToday;

/// `leaderboard:referrals`, users by referrals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "leaderboard:referrals", namespace = "leaderboard", ttl = "30d", value = String, codec = Text)]
pub struct Referrals;

/// Records a click on `offer` by `user`, every structure in one round trip.
async fn click(cache: &Cache, offer: u64, user: u64) -> Result<i64, cache_core::Error> {
    let mut pipe = cache.pipeline();
    let clicks = pipe.increment(&OfferClicks(offer), 1);
    pipe.sorted_increment(&Trending, &offer, 1.0);
    pipe.set_add(&OfferViewers(offer), &user);
    pipe.set_add(&ActiveUsers, &user);
    let mut answers = pipe.run().await?;
    cache.increment_daily(&ClicksToday, 1).await?;
    answers.take(clicks)
}
/// Runs the platform's flows on the Redis at `url`.
///
/// # Errors
///
/// An unreachable Redis, or a value that went missing.
pub async fn run(url: &str, say: &mut Narration) -> Outcome {
    let redis = RedisStore::connect(url).await?;
    // Sessions and OTPs are read back right after a write on another instance: keep no
    // in-process copies longer than a few seconds.
    let cache = Cache::builder()
        .far(redis.clone())
        .near_ttl(Duration::from_secs(5))
        .build()?;

    // Sessions: login stores, protected routes read, logout deletes.
    let token = SessionKey("eyJhbGciOiJIUzI1NiJ9.demo".into());
    let session = Session {
        user_id: 7,
        email: "a@example.com".into(),
        role: "admin".into(),
    };
    cache.insert(token.clone(), session).await;
    let user = cache.get(&token).await.ok_or("session missing")?.user_id;
    say.say(format!("session of user {user}"));
    cache.invalidate(&token).await;
    let after = cache.get(&token).await.map(|s| s.user_id);
    say.say(format!("after logout: {after:?}"));

    // OTP with attempts.
    let mobile = "+919876543210";
    cache.insert(OtpKey(mobile.into()), "482913".into()).await;
    let wrong = verify_otp(&cache, mobile, "000000").await?;
    say.say(format!("wrong code: {wrong}"));
    let right = verify_otp(&cache, mobile, "482913").await?;
    say.say(format!("right code: {right}"));

    // Rate limit: the counter and its 60 s window in one atomic step.
    let ip = RateLimit("203.0.113.9".into());
    let mut last = 0;
    for _ in 0..3 {
        last = cache.increment(&ip, 1).await?;
    }
    let reset = cache.time_to_live(&ip).await?.unwrap_or_default();
    say.say(format!(
        "X-RateLimit-Limit: 100, X-RateLimit-Remaining: {}, resets within {} s",
        100 - last,
        reset.as_secs().div_ceil(60) * 60
    ));

    // The merchant profile: cache-aside, invalidated by the admin's update.
    let slug = MerchantKey("amazon".into());
    let queries = std::sync::atomic::AtomicU32::new(0);
    let load = || async {
        queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
    let queries = queries.load(std::sync::atomic::Ordering::Relaxed);
    say.say(format!(
        "merchant queries for three reads around an update: {queries}"
    ));

    // Top offers for 10 minutes.
    let top = cache
        .get_with(&TopOffers(10), async { vec![101, 102, 103] })
        .await;
    say.say(format!("top offers: {top:?}"));

    // The withdrawal lock: one owner, released by compare-and-delete.
    let lease = cache
        .try_lock(&WithdrawLock(7), Duration::from_secs(10))
        .await?
        .ok_or("the withdrawal lock is taken")?;
    let second = cache
        .try_lock(&WithdrawLock(7), Duration::from_secs(10))
        .await?
        .is_some();
    say.say(format!("second withdrawal while locked: {second}"));
    lease.release().await?;

    // The email queue: a failed send goes back with its retry count, up to 3 attempts.
    let emails = cache
        .queue(&QueueKey("emails"))
        .dead_letter(&QueueKey("emails_failed"));
    for to in ["a@example.com", "bounce@example.com"] {
        let email = Email {
            to: to.into(),
            template: "welcome".into(),
            retry_count: 0,
        };
        emails.push(&email).await?;
    }
    let mut sent = 0;
    let mut gave_up = 0;
    loop {
        let worked = emails
            .work_one(3, |email: Email| async move {
                if email.to.starts_with("bounce") {
                    Err("mailbox unavailable")
                } else {
                    Ok(())
                }
            })
            .await?;
        match worked {
            Worked::Empty => break,
            Worked::Done => sent += 1,
            Worked::GaveUp { .. } => gave_up += 1,
            _ => {}
        }
    }
    let failed = cache.queue(&QueueKey("emails_failed")).len().await?;
    say.say(format!(
        "emails sent: {sent}, given up after 3 attempts: {gave_up}, in queue:emails_failed: {failed}"
    ));

    // Clicks: counter, trending, unique viewers and active users in one round trip.
    for (offer, user) in [(101, 1), (102, 1), (102, 2), (102, 2), (103, 3)] {
        click(&cache, offer, user).await?;
    }
    let trending = cache.sorted_set(&Trending).top(2).await?;
    let viewers = cache.set_of(&OfferViewers(102)).len().await?;
    let active = cache.set_of(&ActiveUsers).len().await?;
    let today = cache.counter(&ClicksToday).await?.unwrap_or(0);
    say.say(format!(
        "trending: {trending:?}, viewers of 102: {viewers}, active users: {active}, clicks today: {today}"
    ));

    // The referral leaderboard.
    let board = cache.sorted_set(&Referrals);
    for (user, referrals) in [("asha", 3.0), ("ben", 5.0), ("asha", 4.0)] {
        board.increment(&user.to_owned(), referrals).await?;
    }
    let top = board.top(10).await?;
    let rank = board.rank(&"asha".to_owned()).await?.map(|r| r + 1);
    say.say(format!(
        "referral leaderboard: {top:?}; asha ranks {rank:?}"
    ));

    // Anything else through the store's own connection, with its timeouts: INFO memory. One
    // server answers with its report; a Redis Cluster with each master's, by address.
    let info: redis::Value = redis.command(redis::cmd("INFO").arg("memory")).await?;
    let reports: Vec<String> = match info {
        redis::Value::Map(masters) => masters
            .into_iter()
            .filter_map(|(_, report)| redis::from_redis_value(report).ok())
            .collect(),
        report => redis::from_redis_value(report).into_iter().collect(),
    };
    let used: Vec<&str> = reports
        .iter()
        .filter_map(|report| {
            report
                .lines()
                .find_map(|line| line.strip_prefix("used_memory_human:"))
        })
        .collect();
    say.say(format!("redis memory in use: {}", used.join(", ")));

    let stats = cache.stats();
    say.say(format!(
        "merchant hit ratio: {:.2}",
        stats.namespace("merchant").map_or(0.0, |n| n.hit_ratio())
    ));
    Ok(())
}
