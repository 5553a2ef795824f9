use cache_core::CacheKey;

#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "1h", tags = ["merchant:{merchant_id}"])]
struct OfferKey {
    merchant: u64,
    offer: u64,
}

fn main() {}
