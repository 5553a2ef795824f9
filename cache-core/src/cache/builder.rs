//! [`CacheBuilder`]: the settings of a [`Cache`].

use std::sync::Arc;

use super::{Cache, Inner};
use crate::clock::Clock;
use crate::error::Error;
use crate::flight::Flights;
use crate::near::{Bound, NearStore};
use crate::stats::StatsTable;

/// Builds a [`Cache`]; start from [`Cache::builder`].
///
/// # Example
///
/// ```
/// use cache_core::Cache;
///
/// let cache = Cache::builder()
///     .max_capacity(10_000)
///     .max_weight(64 * 1024 * 1024)
///     .build()
///     .expect("valid settings");
/// assert_eq!(cache.entry_count(), 0);
/// ```
#[derive(Debug)]
#[must_use]
pub struct CacheBuilder {
    max_capacity: u64,
    max_weight: Option<u64>,
    clock: Clock,
}

impl CacheBuilder {
    pub(super) fn new() -> Self {
        Self {
            max_capacity: 10_000,
            max_weight: None,
            clock: Clock::system(),
        }
    }

    /// The most entries the in-process tier holds (default 10 000).
    pub fn max_capacity(mut self, entries: u64) -> Self {
        self.max_capacity = entries;
        self
    }

    /// Also bounds the in-process tier by the bytes its values hold, as weighed by
    /// [`CacheKey::weigh`](crate::CacheKey::weigh) plus the rendered key.
    pub fn max_weight(mut self, bytes: u64) -> Self {
        self.max_weight = Some(bytes);
        self
    }

    /// The time source; tests pass [`Clock::mock`] to control expiry without sleeping.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Config`](crate::ErrorKind::Config) when a bound is zero.
    pub fn build(self) -> Result<Cache, Error> {
        if self.max_capacity == 0 {
            return Err(Error::config(
                "max_capacity is 0: the cache could hold nothing; set at least 1",
            ));
        }
        if self.max_weight == Some(0) {
            return Err(Error::config(
                "max_weight is 0: the cache could hold nothing; set at least 1 byte or leave it unset",
            ));
        }
        Ok(self.assemble())
    }

    /// Builds the cache from settings already checked.
    pub(super) fn assemble(self) -> Cache {
        let stats = Arc::new(StatsTable::new());
        let bound = Bound {
            max_entries: self.max_capacity,
            max_bytes: self.max_weight,
        };
        let near = NearStore::new(bound, stats.clone());
        Cache {
            inner: Arc::new(Inner {
                near,
                stats,
                flights: Arc::new(Flights::default()),
                clock: self.clock,
            }),
        }
    }
}
