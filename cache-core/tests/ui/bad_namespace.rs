use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "user:*", value = String, ttl = "1h")]
struct UserKey(u64);

fn main() {}
