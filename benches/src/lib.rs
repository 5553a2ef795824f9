//! Shared fixtures of the benchmarks in `benches/` and the load runs in `src/bin/`.

pub mod near;
pub mod strategy;

use std::future::Future;
use std::time::{Duration, Instant};

use cache_core::codec::Postcard;
use cache_core::{CacheKey, KeyWriter, Policy};
use serde::{Deserialize, Serialize};

/// A session or merchant record: ids, short strings, a float, a timestamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// An id.
    pub user_id: u64,
    /// A short string.
    pub email: String,
    /// Another short string.
    pub role: String,
    /// A float.
    pub cashback: f64,
    /// A timestamp.
    pub login_at: i64,
}

impl Record {
    /// A record for `id`.
    pub fn new(id: u64) -> Self {
        Self {
            user_id: id,
            email: format!("u{id}@example.com"),
            role: "member".into(),
            cashback: 2.5,
            login_at: 1_764_000_000,
        }
    }
}

/// `record:v1:<id>`, an hour, postcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey(pub u64);

impl CacheKey for RecordKey {
    type Value = Record;
    type Codec = Postcard;
    const NAMESPACE: &'static str = "record";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

/// Runs `tasks` Tokio tasks that each call `op` `per_task` times, on ids spread over `keys`
/// with a stride; returns the wall time.
pub async fn concurrent_reads<F, Fut>(tasks: usize, per_task: usize, keys: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let op = op.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    op(((t * per_task + i) as u64 * 7919) % keys).await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("a read task panicked");
    }
    start.elapsed()
}
