use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "10m", refresh_after = "10m")]
struct TopOffers;

fn main() {}
