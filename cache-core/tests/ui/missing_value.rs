use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "session", ttl = "24h")]
struct SessionKey(String);

fn main() {}
