use cache_core::{Cache, CacheKey};

// The derive reports its mistake; the uses of the key below add no errors of their own.
#[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(value = String, ttl = "5 years")]
struct SessionKey(String);

async fn use_it(cache: Cache) {
    cache.insert(SessionKey("t".into()), "user 7".to_owned()).await;
    let _ = cache.get(&SessionKey("t".into())).await;
}

fn main() {
    let _ = use_it;
}
