use std::sync::LazyLock;

use cache_core::{Cache, cached};

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10));

#[cached(cache = CACHE)]
async fn name(id: u64) -> String {
    id.to_string()
}

fn main() {}
