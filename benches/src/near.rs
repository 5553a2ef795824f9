//! The near-tier hit fixture shared by the `near_hit` bench and the `near_probe` run: 10 000
//! five-field records behind `Arc`s, their typed key, the `RwLock<HashMap>` reference and a
//! `#[cached]` function over a static cache.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use cache_core::codec::Postcard;
use cache_core::{Cache, CacheKey, KeyWriter, Policy};
use serde::{Deserialize, Serialize};

/// How many entries every variant holds.
pub const ENTRIES: u64 = 10_000;

/// The next index of the stride that visits every entry in an order the CPU cannot prefetch.
pub fn next(i: usize) -> usize {
    (i + 7919) % ENTRIES as usize
}

/// A user profile: five fields, three of them on the heap.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The id.
    pub id: u64,
    /// A short string.
    pub name: String,
    /// Another short string.
    pub email: String,
    /// A float.
    pub score: f64,
    /// A list.
    pub roles: Vec<String>,
}

/// The typed key of a [`Profile`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileKey(pub u64);

impl CacheKey for ProfileKey {
    type Value = Profile;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "profile";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

/// The profile of `id`, shared.
pub fn profile(id: u64) -> Arc<Profile> {
    Arc::new(Profile {
        id,
        name: format!("user {id}"),
        email: format!("user{id}@example.com"),
        score: 0.5,
        roles: vec!["member".into()],
    })
}

/// The cache behind [`cached_profile`].
pub static CACHED: LazyLock<Cache> = LazyLock::new(|| Cache::new(ENTRIES * 2));

/// The reference of the `#[cached]` comparison: an async fn that reads the value from a
/// `RwLock<HashMap>`.
pub async fn read_locked(
    locked: &RwLock<HashMap<u64, Arc<Profile>>>,
    id: u64,
) -> Option<Arc<Profile>> {
    locked.read().unwrap().get(&id).cloned()
}

/// The same read through `#[cached]`; the body (the "origin") never runs once [`CACHED`]
/// holds every profile.
#[cache_core::cached(cache = CACHED, key = ProfileKey(id))]
pub async fn cached_profile(id: u64) -> Arc<Profile> {
    profile(id)
}
