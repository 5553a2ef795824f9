use std::sync::LazyLock;

use cache_core::{Cache, cache_evict};

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10));

#[cache_evict(cache = CACHE)]
async fn update() {}

fn main() {}
