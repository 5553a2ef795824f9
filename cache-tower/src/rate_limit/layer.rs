//! [`RateLimitLayer`]: wraps services in a [`RateLimit`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cache_core::Cache;
use http::request::Parts;
use tower_layer::Layer;

use super::service::RateLimit;

type ClientFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) scope: String,
    pub(crate) limit: u64,
    pub(crate) window: Duration,
    pub(crate) client: ClientFn,
    pub(crate) exempt: Vec<String>,
    pub(crate) fail_open: bool,
    /// `Some(burst)`: the GCRA instead of fixed windows.
    pub(crate) gcra: Option<u64>,
}

/// Per-client request limits kept in the cache's far tier (Redis), so every instance of a
/// service shares one limit, as seed 001's `rate_limit:<ip>` counter does.
///
/// A fixed window: the first request of a client in a window creates its counter with the
/// window as TTL in one atomic step (no counter is ever left without expiry); requests past
/// `limit` get `429 Too Many Requests` with `Retry-After`. Every answer carries
/// `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds). When the
/// far tier fails the request goes through (fail open) unless [`fail_closed`](Self::fail_closed).
#[derive(Clone)]
pub struct RateLimitLayer {
    cache: Cache,
    settings: Arc<Settings>,
}

impl RateLimitLayer {
    /// At most `limit` requests per `window` for each client, the client being what `client`
    /// returns for a request (an IP from a trusted proxy header, an API key, an authenticated
    /// user); requests it returns `None` for are not limited.
    pub fn new<F>(cache: Cache, limit: u64, window: Duration, client: F) -> Self
    where
        F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        Self {
            cache,
            settings: Arc::new(Settings {
                scope: "default".to_owned(),
                limit,
                window: window.max(Duration::from_millis(1)),
                client: Arc::new(client),
                exempt: Vec::new(),
                fail_open: true,
                gcra: None,
            }),
        }
    }

    /// Names this limiter, so that several (per route group, per plan) keep separate counts.
    #[must_use]
    pub fn scope(mut self, scope: &str) -> Self {
        Arc::make_mut(&mut self.settings).scope = scope.to_owned();
        self
    }

    /// Never limits requests whose path is `path` or under it (`/health`).
    #[must_use]
    pub fn exempt(mut self, path: &str) -> Self {
        Arc::make_mut(&mut self.settings)
            .exempt
            .push(path.to_owned());
        self
    }

    /// Limits with the generic cell rate algorithm instead of fixed windows: `limit` per
    /// `window` sustained, evenly spaced, with at most `burst` requests at once. No window
    /// edge lets a client send twice the limit in a short time; one small value per client, set
    /// by a Lua script on Redis's clock. `X-RateLimit-Reset` is then the time until the full
    /// burst is available again.
    #[must_use]
    pub fn gcra(mut self, burst: u64) -> Self {
        Arc::make_mut(&mut self.settings).gcra = Some(burst.max(1));
        self
    }

    /// Answers `503 Service Unavailable` when the counters cannot be reached, instead of
    /// letting requests through.
    #[must_use]
    pub fn fail_closed(mut self) -> Self {
        Arc::make_mut(&mut self.settings).fail_open = false;
        self
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::from_parts(inner, self.cache.clone(), self.settings.clone())
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("scope", &self.settings.scope)
            .field("limit", &self.settings.limit)
            .field("window", &self.settings.window)
            .field("exempt", &self.settings.exempt)
            .field("fail_open", &self.settings.fail_open)
            .finish_non_exhaustive()
    }
}
