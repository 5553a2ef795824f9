use std::sync::LazyLock;

use cache_core::{Cache, CacheKey, cached};

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10));

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h")]
struct NameKey(u64);

#[cached(cache = CACHE, key = NameKey(id), ttl = "5m")]
async fn name(id: u64) -> String {
    id.to_string()
}

fn main() {}
