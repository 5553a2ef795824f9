//! Quickstart: a typed key with a TTL, stored, hit, expired, reloaded through `get_with`, and
//! the hit ratio. In process memory; no Redis, no setup.
//!
//! ```text
//! cargo run -p examples --example quickstart
//! ```

use std::time::Duration;

use cache_core::codec::Json;
use cache_core::{Cache, CacheKey, Clock, KeyWriter, Policy};
use serde::{Deserialize, Serialize};

/// A merchant's profile, cached for an hour under `merchant:<slug>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Merchant {
    id: u64,
    name: String,
    cashback_percent: f64,
}

/// `merchant:v1:<slug>`, one hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MerchantKey {
    slug: String,
}

impl CacheKey for MerchantKey {
    type Value = Merchant;
    type Codec = Json;
    const NAMESPACE: &'static str = "merchant";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.slug);
    }
}

/// The slow origin: a database query.
async fn load_merchant(slug: &str) -> Merchant {
    println!("  origin: loading {slug:?} from the database");
    tokio::time::sleep(Duration::from_millis(20)).await;
    Merchant {
        id: 42,
        name: "Amazon".into(),
        cashback_percent: 5.5,
    }
}

#[tokio::main]
async fn main() {
    // A mocked clock lets the demo skip an hour instead of waiting for it.
    let (clock, time) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(10_000)
        .clock(clock)
        .build()
        .expect("valid settings");
    let key = MerchantKey {
        slug: "amazon".into(),
    };
    println!("key: {}", key.render());

    println!(
        "1. get on an empty cache: {:?}",
        cache.get(&key).await.map(|m| m.name.clone())
    );

    println!("2. get_with misses and runs the loader:");
    let merchant = cache.get_with(&key, load_merchant(&key.slug)).await;
    println!("   -> {merchant:?}");

    println!("3. get_with again is a hit; the loader does not run:");
    let merchant = cache.get_with(&key, load_merchant(&key.slug)).await;
    println!("   -> {}", merchant.name);

    time.advance(Duration::from_secs(3601));
    println!(
        "4. an hour later the entry has expired: {:?}",
        cache.get(&key).await.map(|m| m.name.clone())
    );

    println!("5. get_with reloads it:");
    let merchant = cache.get_with(&key, load_merchant(&key.slug)).await;
    println!("   -> {}", merchant.name);
    for _ in 0..6 {
        cache.get(&key).await;
    }

    let stats = cache.stats();
    let counts = stats
        .namespace("merchant")
        .expect("the namespace was used")
        .counts;
    println!(
        "stats: {} hits, {} misses, {} loads, {} expired; hit ratio {:.2}",
        counts.hits,
        counts.misses,
        counts.loads,
        counts.expirations,
        stats.hit_ratio()
    );
}
