//! Seed 000 (identity verification states) rebuilt with typed keys: the main state under
//! `{network}:{account}` and one per medium under `{network}:{account}:{media}`, both Redis
//! hashes written field by field exactly as the seed's Python does, shared by stateless
//! instances; plus seed 003's prefix listing and prefix delete.
//!
//! Runs against `REDIS_URL`, or a private `redis-server` it starts:
//! `cargo run -p examples --example seed_000_verification`

use cache_core::codec::Fields;
use cache_core::store::redis::RedisStore;
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey, KeyPrefix};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Verification {
    status: String,
    created_at: String,
    updated_at: String,
    media_types: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MediaState {
    name: String,
    status: String,
    token: String,
}

/// `{network}:{account}`, a hash. If Redis loses the data, users restart their challenge: a
/// day is plenty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}", namespace = "verification", ttl = "1d", value = Verification, codec = Fields)]
struct VerificationKey {
    network: String,
    account: String,
}

/// `{network}:{account}:{media}`, a hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "{network}:{account}:{media}", namespace = "media_state", ttl = "1d", value = MediaState, codec = Fields)]
struct MediaKey {
    network: String,
    account: String,
    media: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = RedisServer::url_or_start()?;
    // Two stateless instances behind a load balancer, sharing Redis.
    let instance = |url: String| async move {
        let store = RedisStore::connect(&url).await?;
        Ok::<_, Box<dyn std::error::Error>>(Cache::builder().far(store).near(false).build()?)
    };
    let (a, b) = (instance(url.clone()).await?, instance(url.clone()).await?);

    let account = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    let main_key = VerificationKey {
        network: "polkadot".into(),
        account: account.into(),
    };
    a.insert(
        main_key.clone(),
        Verification {
            status: "Pending".into(),
            created_at: "2024-01-11T22:25:36".into(),
            updated_at: "2024-01-11T22:25:36".into(),
            media_types: "discord,twitter,matrix".into(),
        },
    )
    .await;
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
    println!(
        "{} is {} for {}",
        main_key.render(),
        state.status,
        state.media_types
    );
    let discord = MediaKey {
        network: "polkadot".into(),
        account: account.into(),
        media: "discord".into(),
    };
    println!(
        "discord token: {}",
        b.get(&discord).await.ok_or("media state missing")?.token
    );

    // Seed 003's get_prefix and delete_prefix, with the account escaped into the prefix.
    let of_account = KeyPrefix::of::<MediaKey>()
        .segment("polkadot")
        .segment(account);
    println!("keys of the account: {:?}", b.keys(&of_account).await?);
    println!(
        "removed on reset: {}",
        b.invalidate_prefix(&of_account).await?
    );
    Ok(())
}
