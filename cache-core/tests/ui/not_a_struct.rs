use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h")]
enum Key {
    A,
}

fn main() {}
