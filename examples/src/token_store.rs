//! An API backend's Redis client on typed keys: the connection settings (password, database,
//! timeouts, TCP keepalive, a health check every 30 s, a `PING` at start-up that turns a bad
//! address or password into a clear error), and its table of key prefixes with their TTLs:
//! access tokens for a day, refresh tokens for 7 days, online tokens, login and email
//! captchas, failed-login counters, user locks, OAuth2 states, IP locations, the rate
//! limiter's counters and the id generator's node claim. Then the two helpers such a client
//! adds: list the keys under a prefix, and delete them in batches except some.
//!
//! `cargo run -p examples --example token_store -- --redis redis://127.0.0.1:6379`

use std::time::Duration;

use cache_core::codec::Text;
use cache_core::store::redis::{RedisOptions, RedisStore};
use cache_core::{Cache, CacheKey, KeyPrefix};
use serde::{Deserialize, Serialize};

use crate::{Narration, Outcome};

/// `fba:token:<user>`: an access token, a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:token:{0}", namespace = "token", ttl = "1d", value = String, codec = Text)]
pub struct AccessToken(pub String);

/// `fba:refresh_token:<user>`: 7 days.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:refresh_token:{0}", namespace = "refresh_token", ttl = "7d", value = String, codec = Text)]
pub struct RefreshToken(pub String);

/// `fba:token_online`: the users with a live session, for as long as a session lasts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:token_online", namespace = "token_online", ttl = "1d", value = String, codec = Text)]
pub struct TokensOnline;

/// `fba:user:<id>`: the user info cache; each call site picks its TTL within the hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:user:{0}", namespace = "user", ttl = "1h", value = UserInfo)]
pub struct UserInfoKey(pub u64);

/// `fba:login:captcha:<uuid>`: 5 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:login:captcha:{0}", namespace = "login_captcha", ttl = "5m", value = String, codec = Text)]
pub struct LoginCaptcha(pub String);

/// `fba:login:failure:<user>`: failed logins, counted in a 30-minute window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:login:failure:{0}", namespace = "login_failure", ttl = "30m", value = i64, codec = Text)]
pub struct LoginFailures(pub String);

/// `fba:user:lock:<user>`: a locked account, 5 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:user:lock:{0}", namespace = "user_lock", ttl = "5m", value = String, codec = Text)]
pub struct UserLock(pub String);

/// `fba:oauth2:state:<state>`: 3 minutes, used once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:oauth2:state:{0}", namespace = "oauth2_state", ttl = "3m", value = String, codec = Text)]
pub struct OAuthState(pub String);

/// `fba:email:captcha:<email>`: 3 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:email:captcha:{0}", namespace = "email_captcha", ttl = "3m", value = String, codec = Text)]
pub struct EmailCaptcha(pub String);

/// `fba:ip:location:<ip>`: a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:ip:location:{0}", namespace = "ip_location", ttl = "1d", value = String, codec = Text)]
pub struct IpLocation(pub String);

/// `fba:limiter:<route>:<ip>`: the rate limiter's counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:limiter:{route}:{ip}", namespace = "limiter", ttl = "1m", value = i64, codec = Text)]
pub struct Limiter {
    /// The limited route.
    pub route: String,
    /// The client address.
    pub ip: String,
}

/// `fba:snowflake:<node>`: which process owns an id generator's node number, 60 s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:snowflake:{0}", namespace = "snowflake", ttl = "60s", value = (), codec = cache_core::codec::Json)]
pub struct SnowflakeNode(pub u16);

/// What the user info cache holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user name.
    pub username: String,
    /// Whether the user is a superuser.
    pub is_superuser: bool,
}

/// The client's settings: `REDIS_TIMEOUT` of 5 s for connecting and for each command,
/// keepalive on the socket, a `PING` every 30 s while the client lives.
pub fn options() -> RedisOptions {
    RedisOptions::default()
        .connect_timeout(Duration::from_secs(5))
        .command_timeout(Duration::from_secs(5))
        .keepalive(Some(Duration::from_secs(60)))
        .health_check(Some(Duration::from_secs(30)))
}

/// Runs the client's flows on the Redis at `url` (which may carry a password and a database:
/// `redis://:password@host:6379/2`).
///
/// # Errors
///
/// An unreachable Redis.
pub async fn run(url: &str, say: &mut Narration) -> Outcome {
    // Opening checks the connection: a wrong address fails here with a clear error, not on
    // the first request.
    let unreachable = RedisStore::connect_with(
        "redis://127.0.0.1:1",
        options().connect_timeout(Duration::from_millis(500)),
    )
    .await;
    if let Err(e) = unreachable {
        say.say(format!(
            "opening an unreachable Redis: {:?} error",
            e.kind()
        ));
    }
    let redis = RedisStore::connect_with(url, options()).await?;
    redis.ping().await?;
    say.say("connected; health check every 30 s");
    let cache = Cache::builder().far(redis).near(false).build()?;

    // Sign-ins: an access and a refresh token each, and the online set.
    let users = ["admin", "superuser", "alice", "bob", "carol"];
    for user in users {
        cache
            .insert(AccessToken(user.into()), format!("jwt-of-{user}"))
            .await;
        cache
            .insert(RefreshToken(user.into()), format!("refresh-of-{user}"))
            .await;
        cache.set_of(&TokensOnline).add(&user.to_owned()).await?;
    }
    let ttl = cache
        .time_to_live(&RefreshToken("alice".into()))
        .await?
        .unwrap_or_default();
    say.say(format!(
        "refresh token lives {} days",
        ttl.as_secs().div_ceil(86_400)
    ));

    // get_prefix: the live access tokens.
    let tokens = KeyPrefix::namespace::<AccessToken>()?;
    say.say(format!(
        "active tokens: {}",
        cache.keys(&tokens).await?.len()
    ));

    // delete_prefix with exclude: sign everyone out but the two operators, in batches.
    let everyone_else = tokens
        .exclude(&AccessToken("admin".into()))
        .exclude(&AccessToken("superuser".into()));
    let removed = cache.invalidate_prefix(&everyone_else).await?;
    let mut left = cache.keys(&KeyPrefix::namespace::<AccessToken>()?).await?;
    left.sort();
    say.say(format!("signed out {removed}; left: {}", left.join(" ")));

    // A login: captcha (5 min), failure counter, lock after 5 failures in 30 minutes.
    cache
        .insert(LoginCaptcha("c0ffee".into()), "x7k2".into())
        .await;
    let captcha_ok = cache
        .get(&LoginCaptcha("c0ffee".into()))
        .await
        .is_some_and(|code| *code == "x7k2");
    cache.invalidate(&LoginCaptcha("c0ffee".into())).await;
    say.say(format!("captcha accepted: {captcha_ok}"));
    let mut failures = 0;
    for _ in 0..5 {
        failures = cache
            .increment_within(
                &LoginFailures("mallory".into()),
                1,
                Some(Duration::from_secs(1800)),
            )
            .await?;
    }
    if failures >= 5 {
        cache
            .insert(UserLock("mallory".into()), "too many failed logins".into())
            .await;
    }
    let locked = cache.exists(&UserLock("mallory".into())).await?;
    say.say(format!("mallory failed {failures} times; locked: {locked}"));

    // OAuth2 state: written on redirect, taken once on callback.
    cache
        .insert(OAuthState("st-91".into()), "github".into())
        .await;
    let first = cache.get(&OAuthState("st-91".into())).await;
    cache.invalidate(&OAuthState("st-91".into())).await;
    let replay = cache.get(&OAuthState("st-91".into())).await;
    say.say(format!(
        "oauth2 callback: {}, replayed: {}",
        first.is_some(),
        replay.is_some()
    ));

    // Email captcha, the user info cache and IP locations.
    cache
        .insert(EmailCaptcha("a@example.com".into()), "559012".into())
        .await;
    cache
        .insert(
            UserInfoKey(1),
            UserInfo {
                username: "admin".into(),
                is_superuser: true,
            },
        )
        .await;
    let location = cache
        .get_with(&IpLocation("203.0.113.9".into()), async {
            "Sydney, AU".to_owned()
        })
        .await;
    say.say(format!("203.0.113.9 is in {location}"));

    // The rate limiter: 3 requests a minute on the login route.
    let limiter = Limiter {
        route: "login".into(),
        ip: "203.0.113.9".into(),
    };
    let mut allowed = 0;
    for _ in 0..5 {
        let window = cache
            .count_in_window(&limiter, Duration::from_secs(60), 1)
            .await?;
        if window.count <= 3 {
            allowed += 1;
        }
    }
    say.say(format!("login requests allowed: {allowed} of 5"));

    // The id generator claims node 1 for 60 s; a second process cannot.
    let claim = cache
        .try_lock(&SnowflakeNode(1), Duration::from_secs(60))
        .await?
        .ok_or("node 1 is taken")?;
    let second = cache
        .try_lock(&SnowflakeNode(1), Duration::from_secs(60))
        .await?
        .is_some();
    say.say(format!("snowflake node 1 claimed twice: {second}"));
    claim.release().await?;

    let online = cache.set_of(&TokensOnline).len().await?;
    say.say(format!("online: {online}"));
    Ok(())
}
