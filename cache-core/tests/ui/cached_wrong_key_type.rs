use std::sync::LazyLock;

use cache_core::{Cache, CacheKey, cached};

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10));

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = u64, ttl = "1h")]
struct CountKey(u64);

// The key caches a u64, the function returns a String.
#[cached(cache = CACHE, key = CountKey(id))]
async fn name(id: u64) -> String {
    id.to_string()
}

fn main() {}
