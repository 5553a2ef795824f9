use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "5 years")]
struct SessionKey(String);

fn main() {}
