use cache_core::{Cache, CacheKey};

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h")]
struct Name(u64);

async fn use_it(cache: Cache) {
    // The key type fixes the value type: a number is not a String.
    cache.insert(Name(1), 42u64).await;
}

fn main() {}
