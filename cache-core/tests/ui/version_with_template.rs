use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h", version = 2, key = "otp:{0}")]
struct Otp(String);

fn main() {}
