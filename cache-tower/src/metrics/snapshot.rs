//! [`MetricsSnapshot`]: the counts a [`MetricsLayer`](super::MetricsLayer) kept, per route.

use super::outcome::Outcome;

/// The counts of one route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteCounts {
    /// The route label (the matched path template).
    pub route: String,
    /// Fresh answers from storage.
    pub hits: u64,
    /// Stale answers from storage.
    pub stale: u64,
    /// Stale responses validated with a `304`.
    pub revalidated: u64,
    /// Requests the origin answered because nothing usable was stored.
    pub misses: u64,
    /// Requests that did not go through storage.
    pub bypassed: u64,
    /// Requests whose storage read failed (answered by the origin; counted in `misses` too).
    pub store_errors: u64,
}

impl RouteCounts {
    pub(crate) fn add(&mut self, outcome: Outcome, store_error: bool) {
        self.store_errors += u64::from(store_error);
        let slot = match outcome {
            Outcome::Hit => &mut self.hits,
            Outcome::Stale => &mut self.stale,
            Outcome::Revalidated => &mut self.revalidated,
            Outcome::Miss => &mut self.misses,
            Outcome::Bypass => &mut self.bypassed,
        };
        *slot += 1;
    }

    /// Answers from storage (fresh, stale or revalidated) over cacheable requests; 0 when
    /// there were none.
    pub fn hit_ratio(&self) -> f64 {
        let served = self.hits + self.stale + self.revalidated;
        let total = served + self.misses;
        if total == 0 {
            0.0
        } else {
            served as f64 / total as f64
        }
    }
}

/// Every route's counts, sorted by route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// One entry per route label seen.
    pub routes: Vec<RouteCounts>,
}

impl MetricsSnapshot {
    /// The counts of `route`, if it was seen.
    pub fn route(&self, route: &str) -> Option<&RouteCounts> {
        self.routes.iter().find(|r| r.route == route)
    }

    /// All routes together.
    pub fn total(&self) -> RouteCounts {
        let mut total = RouteCounts::default();
        for r in &self.routes {
            total.hits += r.hits;
            total.stale += r.stale;
            total.revalidated += r.revalidated;
            total.misses += r.misses;
            total.bypassed += r.bypassed;
            total.store_errors += r.store_errors;
        }
        total
    }

    /// The hit ratio over all routes.
    pub fn hit_ratio(&self) -> f64 {
        self.total().hit_ratio()
    }
}
