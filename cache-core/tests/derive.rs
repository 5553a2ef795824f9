//! `#[derive(CacheKey)]`: the key tables of existing services written with the derive,
//! rendering exactly the layouts those services use, and the compile errors pinned by trybuild.

use std::time::Duration;

use cache_core::codec::{Fields, Json, Text};
use cache_core::{Cache, CacheKey, KeyLayout, Policy};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Session {
    user_id: u64,
}

// A coupon platform's key table: sessions, one-time codes, rate limits, merchants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "session:{0}", namespace = "session", ttl = "24h", value = Session, codec = Json)]
struct SessionKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "otp:{mobile}", namespace = "otp", ttl = "5m", value = String, codec = Text)]
struct Otp {
    mobile: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "otp:attempts:{0}", namespace = "otp_attempts", ttl = "1h", value = i64, codec = Text)]
struct OtpAttempts(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "rate_limit:{0}", namespace = "rate_limit", ttl = "60s", value = i64, codec = Text)]
struct RateLimit(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "merchant:{slug}", namespace = "merchant", ttl = "1h", value = String, codec = Json, negative_ttl = "30s")]
struct Merchant {
    slug: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "offers:top:{0}", namespace = "offers_top", ttl = "10m", value = Vec<u64>, codec = Json, refresh_after = "8m")]
struct TopOffers(u32);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "lock:withdraw:{user_id}", namespace = "lock", ttl = "10s", value = (), codec = Json)]
struct WithdrawLock {
    user_id: u64,
}

// A FastAPI service's `fba:*` table (a few of its rows).
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:token:{0}", namespace = "fba_token", ttl = "1d", value = String, codec = Text)]
struct FbaToken(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:refresh_token:{0}", namespace = "fba_refresh_token", ttl = "7d", value = String, codec = Text)]
struct FbaRefreshToken(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:login:captcha:{0}", namespace = "fba_login_captcha", ttl = "5m", value = String, codec = Text)]
struct FbaLoginCaptcha(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:oauth2:state:{0}", namespace = "fba_oauth2_state", ttl = "3m", value = String, codec = Text)]
struct FbaOauthState(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "fba:snowflake:{0}", namespace = "fba_snowflake", ttl = "60s", value = String, codec = Text)]
struct FbaSnowflake(u32);

// Composite keys of verification states kept as hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Verification {
    status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}", namespace = "verification", ttl = "1d", value = Verification, codec = Fields)]
struct VerificationKey {
    network: String,
    account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}:{media}", namespace = "media_state", ttl = "1d", value = Verification, codec = Fields)]
struct MediaKey {
    network: String,
    account: String,
    media: String,
}

// The default layout: namespace, version, fields as segments; default codec and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "300ms", version = 3, jitter = "100ms")]
struct UserProfile {
    tenant: String,
    id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "config", value = String, no_expiry)]
struct Config;

#[test]
fn a_platforms_layouts_and_ttls() {
    assert_eq!(SessionKey("tok".into()).render(), "session:tok");
    assert_eq!(
        SessionKey::POLICY.time_to_live(),
        Some(Duration::from_secs(86_400))
    );
    assert_eq!(
        Otp {
            mobile: "+919876543210".into()
        }
        .render(),
        "otp:+919876543210"
    );
    assert_eq!(Otp::POLICY.time_to_live(), Some(Duration::from_secs(300)));
    assert_eq!(OtpAttempts("+91".into()).render(), "otp:attempts:+91");
    assert_eq!(
        OtpAttempts::POLICY.time_to_live(),
        Some(Duration::from_secs(3600))
    );
    assert_eq!(RateLimit("10.0.0.1".into()).render(), "rate_limit:10.0.0.1");
    assert_eq!(
        RateLimit::POLICY.time_to_live(),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        Merchant {
            slug: "amazon".into()
        }
        .render(),
        "merchant:amazon"
    );
    assert_eq!(
        Merchant::POLICY.negative_time_to_live(),
        Some(Duration::from_secs(30))
    );
    assert_eq!(TopOffers(10).render(), "offers:top:10");
    assert_eq!(
        TopOffers::POLICY.refresh_after(),
        Some(Duration::from_secs(480))
    );
    assert_eq!(WithdrawLock { user_id: 7 }.render(), "lock:withdraw:7");
    assert_eq!(
        WithdrawLock::POLICY.time_to_live(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(Merchant::LAYOUT.fixed_prefix(), Some("merchant:"));
}

#[test]
fn a_fastapi_key_table() {
    assert_eq!(FbaToken("abc".into()).render(), "fba:token:abc");
    assert_eq!(
        FbaToken::POLICY.time_to_live(),
        Some(Duration::from_secs(86_400))
    );
    assert_eq!(FbaRefreshToken("r".into()).render(), "fba:refresh_token:r");
    assert_eq!(
        FbaRefreshToken::POLICY.time_to_live(),
        Some(Duration::from_secs(7 * 86_400))
    );
    assert_eq!(FbaLoginCaptcha("u".into()).render(), "fba:login:captcha:u");
    assert_eq!(
        FbaLoginCaptcha::POLICY.time_to_live(),
        Some(Duration::from_secs(300))
    );
    assert_eq!(FbaOauthState("s".into()).render(), "fba:oauth2:state:s");
    assert_eq!(
        FbaOauthState::POLICY.time_to_live(),
        Some(Duration::from_secs(180))
    );
    assert_eq!(FbaSnowflake(1).render(), "fba:snowflake:1");
    assert_eq!(
        FbaSnowflake::POLICY.time_to_live(),
        Some(Duration::from_secs(60))
    );
}

#[test]
fn composite_keys_escape_their_segments() {
    let main = VerificationKey {
        network: "polkadot".into(),
        account: "5Grw".into(),
    };
    assert_eq!(main.render(), "polkadot:5Grw");
    assert_eq!(VerificationKey::LAYOUT, KeyLayout::template(""));
    let media = MediaKey {
        network: "polkadot".into(),
        account: "5Grw".into(),
        media: "discord".into(),
    };
    assert_eq!(media.render(), "polkadot:5Grw:discord");
    // A crafted account cannot name the other key.
    let sneaky = VerificationKey {
        network: "polkadot".into(),
        account: "5Grw:discord".into(),
    };
    assert_ne!(sneaky.render(), media.render());
}

#[test]
fn default_layout_namespace_version_and_policy() {
    let key = UserProfile {
        tenant: "acme:eu".into(),
        id: 7,
    };
    assert_eq!(key.render(), "user_profile:v3:acme%3Aeu:7");
    assert_eq!(UserProfile::NAMESPACE, "user_profile");
    assert_eq!(
        UserProfile::POLICY,
        Policy::builder()
            .time_to_live(Duration::from_millis(300))
            .jitter(Duration::from_millis(100))
            .build()
    );
    assert_eq!(Config.render(), "config:v1");
    assert_eq!(Config::POLICY.time_to_live(), None);
}

#[tokio::test]
async fn derived_keys_work_in_a_cache() {
    let cache = Cache::new(100);
    cache
        .insert(SessionKey("tok".into()), Session { user_id: 1 })
        .await;
    assert_eq!(
        cache.get(&SessionKey("tok".into())).await.unwrap().user_id,
        1
    );
    assert_eq!(
        cache.increment(&RateLimit("ip".into()), 2).await.unwrap(),
        2
    );
}

#[test]
fn compile_errors_point_at_the_mistake() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

/// Offers carry their merchant's tag, so one merchant's offers go together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "offer", ttl = "1h", value = String, codec = Json, tags = ["merchant:{merchant}", "offers"])]
struct OfferKey {
    merchant: String,
    offer: u64,
}

#[tokio::test]
async fn key_type_tags_group_entries() {
    let key = OfferKey {
        merchant: "a:b".into(),
        offer: 1,
    };
    assert_eq!(
        key.tags(),
        ["merchant:a%3Ab", "offers"],
        "field values in tags are escaped"
    );
    let cache = Cache::new(100);
    cache
        .insert(
            OfferKey {
                merchant: "amazon".into(),
                offer: 1,
            },
            "10% off".into(),
        )
        .await;
    cache
        .insert(
            OfferKey {
                merchant: "amazon".into(),
                offer: 2,
            },
            "free delivery".into(),
        )
        .await;
    cache
        .insert(
            OfferKey {
                merchant: "flipkart".into(),
                offer: 3,
            },
            "5% off".into(),
        )
        .await;
    assert_eq!(cache.invalidate_tag("merchant:amazon").await, 2);
    assert!(
        cache
            .get(&OfferKey {
                merchant: "amazon".into(),
                offer: 1
            })
            .await
            .is_none()
    );
    assert!(
        cache
            .get(&OfferKey {
                merchant: "flipkart".into(),
                offer: 3
            })
            .await
            .is_some()
    );
    assert_eq!(cache.invalidate_tag("offers").await, 1);

    // insert_many records the key type's tags too.
    cache
        .insert_many(vec![
            (
                OfferKey {
                    merchant: "myntra".into(),
                    offer: 4,
                },
                "a".to_string(),
            ),
            (
                OfferKey {
                    merchant: "myntra".into(),
                    offer: 5,
                },
                "b".to_string(),
            ),
        ])
        .await;
    assert_eq!(cache.invalidate_tag("merchant:myntra").await, 2);
}
