use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h", no_expiry)]
struct Config;

fn main() {}
