//! Seed 000 (identity verification states) rebuilt with typed keys: the main state under
//! `{network}:{account}` and one per medium under `{network}:{account}:{media}`, both Redis
//! hashes written field by field exactly as the seed's Python does, shared by stateless
//! instances; plus seed 003's prefix listing and prefix delete.
//!
//! Runs against `REDIS_URL`, or a private `redis-server` it starts:
//! `cargo run -p examples --example seed_000_verification`

use std::time::Duration;

use cache_core::codec::Fields;
use cache_core::store::redis::RedisStore;
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey, KeyLayout, KeyPrefix, KeyWriter, Policy};
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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct VerificationKey {
    network: String,
    account: String,
}

impl CacheKey for VerificationKey {
    type Value = Verification;
    type Codec = Fields;
    const NAMESPACE: &'static str = "verification";
    // If Redis loses the data, users restart their challenge: a day is plenty.
    const POLICY: Policy = Policy::ttl(Duration::from_secs(24 * 3600));
    const LAYOUT: KeyLayout = KeyLayout::template("");
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.network).segment_str(&self.account);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MediaKey {
    network: String,
    account: String,
    media: String,
}

impl CacheKey for MediaKey {
    type Value = MediaState;
    type Codec = Fields;
    const NAMESPACE: &'static str = "media_state";
    const POLICY: Policy = Policy::ttl(Duration::from_secs(24 * 3600));
    const LAYOUT: KeyLayout = KeyLayout::template("");
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.network)
            .segment_str(&self.account)
            .segment_str(&self.media);
    }
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
