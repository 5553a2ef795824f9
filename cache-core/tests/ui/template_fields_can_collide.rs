use cache_core::CacheKey;

// ("x-y", "z") and ("x", "y-z") would both render `x-y-z`.
#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h", key = "{network}-{account}")]
struct Verification {
    network: String,
    account: String,
}

fn main() {}
