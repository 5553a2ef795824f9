//! Identity-verification states kept in Redis hashes that a Python service reads and writes
//! field by field (`HSET`/`HGETALL`): the state of an account under `{network}:{account}` and
//! one state per medium (Discord, Twitter, Matrix) under `{network}:{account}:{media}`, shared
//! by stateless instances; a single field (`status`, `updated_at`) changed without rewriting
//! the hash; an account's keys listed and removed by prefix on reset.
//!
//! `cargo run -p examples --example verification_states -- --redis redis://127.0.0.1:6379`

use cache_core::codec::Fields;
use cache_core::store::redis::RedisStore;
use cache_core::{Cache, CacheKey, KeyPrefix};
use serde::{Deserialize, Serialize};

use crate::{Narration, Outcome};

/// The state of an account's verification, as the Python service writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    /// `Pending`, `Verified`, …
    pub status: String,
    /// When the challenge started.
    pub created_at: String,
    /// When the state last changed.
    pub updated_at: String,
    /// The media being verified, comma-separated.
    pub media_types: String,
}

/// The state of one medium of a verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaState {
    /// The account name on the medium.
    pub name: String,
    /// `Pending`, `Verified`, …
    pub status: String,
    /// The challenge token sent to the account.
    pub token: String,
}

/// `{network}:{account}`, a hash. If Redis loses the data, users restart their challenge: a
/// day is plenty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}", namespace = "verification", ttl = "1d", value = Verification, codec = Fields)]
pub struct VerificationKey {
    /// `polkadot`, `kusama`, …
    pub network: String,
    /// The account address.
    pub account: String,
}

/// `{network}:{account}:{media}`, a hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}:{media}", namespace = "media_state", ttl = "1d", value = MediaState, codec = Fields)]
pub struct MediaKey {
    /// `polkadot`, `kusama`, …
    pub network: String,
    /// The account address.
    pub account: String,
    /// `discord`, `twitter`, `matrix`.
    pub media: String,
}

/// The account the run verifies, then resets.
pub const ACCOUNT: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
/// An account whose state the reset must leave alone.
pub const OTHER_ACCOUNT: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQYx";

/// Runs the verification flow on the Redis at `url`.
///
/// # Errors
///
/// An unreachable Redis, or a state that went missing.
pub async fn run(url: &str, say: &mut Narration) -> Outcome {
    // Two stateless instances behind a load balancer, sharing Redis.
    let instance = |url: String| async move {
        let store = RedisStore::connect(&url).await?;
        Cache::builder().far(store).near(false).build()
    };
    let (a, b) = (
        instance(url.to_owned()).await?,
        instance(url.to_owned()).await?,
    );
    let account = ACCOUNT;
    let main_key = VerificationKey {
        network: "polkadot".into(),
        account: account.into(),
    };
    // Two accounts start a challenge; the second one's account name extends the first's.
    for account in [ACCOUNT, OTHER_ACCOUNT] {
        a.insert(
            VerificationKey {
                network: "polkadot".into(),
                account: account.into(),
            },
            Verification {
                status: "Pending".into(),
                created_at: "2024-01-11T22:25:36".into(),
                updated_at: "2024-01-11T22:25:36".into(),
                media_types: "discord,twitter,matrix".into(),
            },
        )
        .await;
    }
    for (media, name) in [
        ("discord", "patchwinner"),
        ("twitter", "@patch"),
        ("matrix", "@patch:matrix.org"),
    ] {
        let key = MediaKey {
            network: "polkadot".into(),
            account: account.into(),
            media: media.into(),
        };
        a.insert(
            key,
            MediaState {
                name: name.into(),
                status: "Pending".into(),
                token: "Q8KGYC7P".into(),
            },
        )
        .await;
    }

    // The challenge continues on the other instance.
    let state = b.get(&main_key).await.ok_or("state missing")?;
    say.say(format!(
        "{} is {} for {}",
        main_key.render(),
        state.status,
        state.media_types
    ));
    let discord = MediaKey {
        network: "polkadot".into(),
        account: account.into(),
        media: "discord".into(),
    };
    say.say(format!(
        "discord token: {}",
        b.get(&discord).await.ok_or("media state missing")?.token
    ));

    // The Discord account answered the challenge: two fields change, the rest of the hash
    // (and whatever the Python service added to it) stays.
    a.set_hash_fields(
        &discord,
        &[
            ("status", &"Verified"),
            ("updated_at", &"2024-01-11T22:31:02"),
        ],
    )
    .await?;
    let status: Option<String> = b.hash_field(&discord, "status").await?;
    say.say(format!(
        "discord status: {}",
        status.as_deref().unwrap_or("missing")
    ));

    // The user restarts: list the account's states (its own and its media's) and remove them,
    // with the account escaped into the prefix as a whole segment, so that it can never name
    // another account's keys, not even one whose name starts with this one's.
    let of_account = KeyPrefix::of::<MediaKey>()
        .segment("polkadot")
        .segment(account);
    let mut keys = b.keys(&of_account).await?;
    keys.sort();
    say.say(format!("keys of the account: {}", keys.join(" ")));
    say.say(format!(
        "removed on reset: {}",
        b.invalidate_prefix(&of_account).await?
    ));
    Ok(())
}
