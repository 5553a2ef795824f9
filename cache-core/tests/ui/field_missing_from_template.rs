use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h", key = "{network}")]
struct Verification {
    network: String,
    account: String,
}

fn main() {}
