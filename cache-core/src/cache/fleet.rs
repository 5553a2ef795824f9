//! Fleet-wide hit and miss counts: each instance adds what it counted since it last did to
//! counters in the far tier, so that a dashboard reads the hit ratio of the whole fleet, next
//! to each process's own [`stats`](Cache::stats).
//!
//! The counters are `cache-core:stats:<namespace>:hits` and `...:misses`, plain integers
//! (`GET` reads them from any client). Publishing is a batch of `INCRBY`s every so often, never
//! a write per read: the hit path stays as it is.

use std::time::Duration;

use super::Cache;
use crate::error::Error;
use crate::key::escape_segment;
use crate::store::{Op, Reply};

/// The fleet-wide counts of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetNamespace {
    /// The namespace, as key types declare it.
    pub namespace: &'static str,
    /// Reads answered from the cache, by every instance that published.
    pub hits: u64,
    /// Reads the cache could not answer, likewise.
    pub misses: u64,
}

impl FleetNamespace {
    /// Hits over reads; `0.0` before the first read.
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }
}

/// Fleet-wide counts from [`Cache::fleet_stats`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FleetStats {
    namespaces: Vec<FleetNamespace>,
}

impl FleetStats {
    /// Every namespace asked about.
    pub fn namespaces(&self) -> &[FleetNamespace] {
        &self.namespaces
    }

    /// One namespace's counts.
    pub fn namespace(&self, name: &str) -> Option<&FleetNamespace> {
        self.namespaces.iter().find(|n| n.namespace == name)
    }

    /// Hits over reads across the namespaces.
    pub fn hit_ratio(&self) -> f64 {
        let (hits, misses) = self
            .namespaces
            .iter()
            .fold((0, 0), |(h, m), n| (h + n.hits, m + n.misses));
        FleetNamespace {
            namespace: "",
            hits,
            misses,
        }
        .hit_ratio()
    }
}

fn counter_key(namespace: &str, what: &str) -> String {
    format!("cache-core:stats:{}:{what}", escape_segment(namespace))
}

impl Cache {
    /// Adds the hits and misses this process counted since its last publish to the
    /// fleet-wide counters, in one round trip. What fails to be added is added by the next
    /// publish: nothing is lost or counted twice.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails or keeps no counters (without a far tier the counters
    /// are this process's own).
    pub async fn publish_stats(&self) -> Result<(), Error> {
        let stats = self.stats();
        let mut ops = Vec::new();
        let mut after = Vec::new();
        {
            let published = self
                .inner
                .published
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ns in stats.namespaces() {
                let (hits, misses) = published.get(ns.namespace).copied().unwrap_or((0, 0));
                let (now_hits, now_misses) = (ns.counts.hits, ns.counts.misses);
                for (what, by) in [("hits", now_hits - hits), ("misses", now_misses - misses)] {
                    if by > 0 {
                        ops.push(Op::Increment {
                            key: counter_key(ns.namespace, what),
                            by: i64::try_from(by).unwrap_or(i64::MAX),
                            ttl: None,
                        });
                    }
                }
                after.push((ns.namespace, (now_hits, now_misses)));
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        let ns = self.inner.stats.namespace("(stats)");
        let call = self.structures()?.run(&ops);
        self.far_call(ns, "INCRBY", call).await?;
        let mut published = self
            .inner
            .published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        published.extend(after);
        Ok(())
    }

    /// Publishes every `every` in a background task (on the current Tokio runtime) until the
    /// last clone of the cache is dropped; failures are logged and made up by the next
    /// publish.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn publish_stats_every(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = (Cache { inner }).publish_stats().await {
                    tracing::debug!(error = %e, "publishing cache stats failed; the next publish adds them");
                }
            }
        })
    }

    /// The fleet-wide hits and misses of `namespaces` (the namespaces of the key types to
    /// report on), as every instance published them.
    ///
    /// # Errors
    ///
    /// As [`publish_stats`](Self::publish_stats).
    pub async fn fleet_stats(&self, namespaces: &[&'static str]) -> Result<FleetStats, Error> {
        let ops: Vec<Op> = namespaces
            .iter()
            .flat_map(|ns| {
                ["hits", "misses"].map(|what| Op::Get {
                    key: counter_key(ns, what),
                })
            })
            .collect();
        let ns = self.inner.stats.namespace("(stats)");
        let call = self.structures()?.run(&ops);
        let replies = self.far_call(ns, "GET", call).await?;
        let count = |reply: &Reply| match reply {
            Reply::Bytes(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0),
            _ => 0,
        };
        let namespaces = namespaces
            .iter()
            .zip(replies.chunks(2))
            .map(|(&namespace, pair)| FleetNamespace {
                namespace,
                hits: pair.first().map_or(0, count),
                misses: pair.get(1).map_or(0, count),
            })
            .collect();
        Ok(FleetStats { namespaces })
    }
}
