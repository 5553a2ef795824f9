use std::sync::LazyLock;

use cache_core::{Cache, CacheKey, cache_put};

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10));

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h")]
struct NameKey(u64);

#[cache_put(cache = CACHE, key = NameKey(id))]
fn save(id: u64) -> String {
    id.to_string()
}

fn main() {}
