//! The options of a response cache, shared by the layer and the service.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_core::Clock;
use http::HeaderName;
use http::request::Parts;

use super::freshness::{Heuristic, Rules};
use super::storable::StoreRules;

/// Computes the primary cache key of a request; `None` sends it to the origin uncached.
pub(crate) type KeyFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) shared: bool,
    pub(crate) heuristic: Option<Heuristic>,
    pub(crate) targeted: Vec<HeaderName>,
    pub(crate) ignore_request_directives: bool,
    pub(crate) store_set_cookie: bool,
    pub(crate) max_body: usize,
    pub(crate) max_variants: usize,
    pub(crate) keep_stale: u64,
    pub(crate) max_ttl: u64,
    pub(crate) name: Arc<str>,
    pub(crate) default_scheme: Arc<str>,
    pub(crate) key: Option<KeyFn>,
    pub(crate) collapse: bool,
    pub(crate) expose_tags: bool,
    /// A mocked clock and the wall time it started at; `None` reads the system time.
    pub(crate) clock: Option<(Clock, u64)>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            shared: true,
            heuristic: None,
            targeted: vec![HeaderName::from_static("cdn-cache-control")],
            ignore_request_directives: false,
            store_set_cookie: false,
            max_body: 1 << 20,
            max_variants: 16,
            keep_stale: 300,
            max_ttl: 24 * 3600,
            name: "cache-tower".into(),
            default_scheme: "http".into(),
            key: None,
            collapse: true,
            expose_tags: false,
            clock: None,
        }
    }
}

impl Config {
    /// Seconds since the epoch.
    pub(crate) fn now(&self) -> u64 {
        match &self.clock {
            Some((clock, start)) => start + clock.now_nanos() / 1_000_000_000,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    pub(crate) fn freshness_rules(&self) -> Rules {
        Rules {
            shared: self.shared,
            heuristic: self.heuristic,
        }
    }

    pub(crate) fn store_rules(&self) -> StoreRules {
        StoreRules {
            shared: self.shared,
            set_cookie: self.store_set_cookie,
            ignore_request: self.ignore_request_directives,
        }
    }

    /// The primary key text of a request, or `None` to bypass the cache.
    pub(crate) fn key_of(&self, parts: &Parts) -> Option<String> {
        match &self.key {
            Some(f) => f(parts),
            None => super::key::effective_uri(parts, &self.default_scheme),
        }
    }

    pub(crate) fn with_clock(&mut self, clock: Clock) {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let start = wall.saturating_sub(clock.now_nanos() / 1_000_000_000);
        self.clock = Some((clock, start));
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("shared", &self.shared)
            .field("heuristic", &self.heuristic)
            .field("targeted", &self.targeted)
            .field("ignore_request_directives", &self.ignore_request_directives)
            .field("store_set_cookie", &self.store_set_cookie)
            .field("max_body", &self.max_body)
            .field("max_variants", &self.max_variants)
            .field("keep_stale", &self.keep_stale)
            .field("max_ttl", &self.max_ttl)
            .field("name", &self.name)
            .field("custom_key", &self.key.is_some())
            .field("collapse", &self.collapse)
            .field("expose_tags", &self.expose_tags)
            .finish_non_exhaustive()
    }
}

/// Whole seconds of a duration, for settings kept in seconds.
pub(crate) fn secs(d: Duration) -> u64 {
    d.as_secs()
}
