//! The settings of a response cache, shared by its layer and its services, and published to
//! the layers inside it (write-through, invalidation, purge) so that there is one settings
//! handle with one default scheme.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_core::Clock;
use http::HeaderName;

use super::rules::directives::Directives;
use super::rules::freshness::{Heuristic, Rules};
use super::rules::storable::{SetCookie, StoreRules};

/// A response cache's settings, put in the extensions of every request it forwards, so that
/// the layers inside it (write-through, invalidation, purge) key and store as it does.
#[cfg(any(feature = "invalidate", feature = "write-through"))]
#[derive(Debug, Clone)]
pub(crate) struct Published(pub(crate) Arc<Config>);

#[cfg(any(feature = "invalidate", feature = "write-through"))]
impl Published {
    /// The settings of the response cache in front of the request, else the defaults.
    pub(crate) fn of(extensions: &http::Extensions) -> Arc<Config> {
        extensions
            .get::<Self>()
            .map_or_else(Arc::default, |p| p.0.clone())
    }
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) shared: bool,
    pub(crate) heuristic: Option<Heuristic>,
    pub(crate) targeted: Vec<HeaderName>,
    pub(crate) ignore_request_directives: bool,
    pub(crate) store_set_cookie: bool,
    /// Normalised path prefixes whose responses are stored and replayed with `Set-Cookie`.
    pub(crate) replay_set_cookie: Vec<String>,
    pub(crate) max_body: usize,
    pub(crate) max_variants: usize,
    pub(crate) keep_stale: u64,
    pub(crate) max_ttl: u64,
    /// The longest primary key kept; a request with a longer one bypasses the cache.
    pub(crate) max_key: usize,
    /// The in-process memory budget of stored responses, in bytes.
    pub(crate) memory: u64,
    pub(crate) name: Arc<str>,
    pub(crate) default_scheme: Arc<str>,
    pub(crate) collapse: bool,
    /// The longest a collapsed request waits for the one at the origin before going itself.
    pub(crate) collapse_wait: std::time::Duration,
    pub(crate) expose_tags: bool,
    /// A mocked clock and the wall time it started at; `None` reads the system time.
    pub(crate) clock: Option<(Clock, u64)>,
}

/// The longest primary key (effective URI) stored by default: 8 KiB, the request-target length
/// RFC 9112 section 3 recommends every server to support.
pub(crate) const DEFAULT_MAX_KEY: usize = 8 * 1024;

/// The in-process memory stored responses may take by default: 64 MiB.
pub(crate) const DEFAULT_MEMORY: u64 = 64 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Self {
            shared: true,
            heuristic: None,
            targeted: vec![HeaderName::from_static("cdn-cache-control")],
            ignore_request_directives: false,
            store_set_cookie: false,
            replay_set_cookie: Vec::new(),
            max_body: 1 << 20,
            max_variants: 16,
            keep_stale: 300,
            max_ttl: 24 * 3600,
            max_key: DEFAULT_MAX_KEY,
            memory: DEFAULT_MEMORY,
            name: "cache-tower".into(),
            default_scheme: "http".into(),
            collapse: true,
            collapse_wait: std::time::Duration::from_secs(5),
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

    /// The effective directives of a response: those of the first valid targeted field
    /// (`CDN-Cache-Control`...) with `true`, else those of `Cache-Control` with `false`.
    pub(crate) fn response_directives(&self, headers: &http::HeaderMap) -> (Directives, bool) {
        match Directives::targeted(headers, &self.targeted) {
            Some(dirs) => (dirs, true),
            None => (Directives::from_headers(headers), false),
        }
    }

    /// The storing rules for a response to a request of `path` (`None`: a representation
    /// written through from a mutation, whose cookies are never replayed).
    pub(crate) fn store_rules(&self, path: Option<&str>) -> StoreRules {
        let set_cookie = if path.is_some_and(|p| self.replays_set_cookie(p)) {
            SetCookie::Replay
        } else if self.store_set_cookie {
            SetCookie::Strip
        } else {
            SetCookie::Refuse
        };
        StoreRules {
            shared: self.shared,
            set_cookie,
            ignore_request: self.ignore_request_directives,
        }
    }

    /// Whether responses to requests of `path` are stored and replayed with `Set-Cookie`.
    fn replays_set_cookie(&self, path: &str) -> bool {
        if self.replay_set_cookie.is_empty() {
            return false;
        }
        let path = crate::uri::normalize_path(path);
        self.replay_set_cookie
            .iter()
            .any(|base| crate::uri::is_at_or_under(&path, base))
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
            .field("replay_set_cookie", &self.replay_set_cookie)
            .field("max_body", &self.max_body)
            .field("max_variants", &self.max_variants)
            .field("keep_stale", &self.keep_stale)
            .field("max_ttl", &self.max_ttl)
            .field("max_key", &self.max_key)
            .field("memory", &self.memory)
            .field("name", &self.name)
            .field("collapse", &self.collapse)
            .field("collapse_wait", &self.collapse_wait)
            .field("expose_tags", &self.expose_tags)
            .finish_non_exhaustive()
    }
}

/// Whole seconds of a duration, for settings kept in seconds.
pub(crate) fn secs(d: Duration) -> u64 {
    d.as_secs()
}
