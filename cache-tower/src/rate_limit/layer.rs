//! [`RateLimitLayer`]: wraps services in a [`RateLimit`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cache_core::Cache;
use tower_layer::Layer;

use super::client::IdentifyClient;
use super::service::RateLimit;

/// The limits shared by a rate-limit layer and its services.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) scope: String,
    pub(crate) limit: u64,
    pub(crate) window: Duration,
    /// Normalised paths.
    pub(crate) exempt: Vec<String>,
    pub(crate) fail_open: bool,
    /// `Some(burst)`: the GCRA instead of fixed windows.
    pub(crate) gcra: Option<u64>,
}

impl Settings {
    pub(crate) fn new(limit: u64, window: Duration) -> Self {
        Self {
            scope: "default".to_owned(),
            limit,
            window: window.max(Duration::from_millis(1)),
            exempt: Vec::new(),
            fail_open: true,
            gcra: None,
        }
    }

    /// Whether `path` is exempt: one of the exempt paths or under one, once both are
    /// normalised, so that `/health/../login` or `//health` spell nothing new.
    pub(crate) fn exempts(&self, path: &str) -> bool {
        let path = crate::uri::normalize_path(path);
        self.exempt
            .iter()
            .any(|base| crate::uri::is_at_or_under(&path, base))
    }
}

/// The builder methods shared by [`RateLimitLayer`] and [`RateLimit`]: both hold an
/// `Arc<Settings>` named `settings`.
macro_rules! settings_setters {
    () => {
        /// Names this limiter, so that several (per route group, per plan) keep separate
        /// counts.
        #[must_use]
        pub fn scope(mut self, scope: &str) -> Self {
            std::sync::Arc::make_mut(&mut self.settings).scope = scope.to_owned();
            self
        }

        /// Never limits requests whose path is `path` or under it (`/health`). Both are
        /// normalised first (RFC 3986 section 6.2.2: dot segments resolved, empty segments
        /// dropped, unreserved escapes decoded), so `/health/../login` is not exempt.
        #[must_use]
        pub fn exempt(mut self, path: &str) -> Self {
            std::sync::Arc::make_mut(&mut self.settings)
                .exempt
                .push(crate::uri::normalize_path(path));
            self
        }

        /// Limits with the generic cell rate algorithm instead of fixed windows: `limit` per
        /// `window` sustained, evenly spaced, with at most `burst` requests at once. No window
        /// edge lets a client send twice the limit in a short time; one small value per
        /// client, set by a Lua script on Redis's clock. `X-RateLimit-Reset` is then the time
        /// until the full burst is available again.
        #[must_use]
        pub fn gcra(mut self, burst: u64) -> Self {
            std::sync::Arc::make_mut(&mut self.settings).gcra = Some(burst.max(1));
            self
        }

        /// Answers `503 Service Unavailable` when the counts cannot be kept (the far tier is
        /// down, or the in-process table is full), instead of letting requests through. Use it
        /// for limits that guard secrets, such as login or one-time-code attempts: failing
        /// open there lets an attacker guess without limit while Redis is down.
        #[must_use]
        pub fn fail_closed(mut self) -> Self {
            std::sync::Arc::make_mut(&mut self.settings).fail_open = false;
            self
        }
    };
}

pub(crate) use settings_setters;

/// Per-client request limits kept in the cache's far tier (Redis), so every instance of a
/// service shares one limit.
///
/// A fixed window: the window is told by the far tier's clock (Redis `TIME`), so instances
/// whose clocks disagree share one window; each client's count is one entry that expires with
/// its window; requests past `limit` get `429 Too Many Requests` with `Retry-After`. Every
/// answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
/// (seconds). Without a far tier the counts live in process, in a bounded table that cache
/// entries cannot evict.
///
/// When the counts cannot be kept the request goes through (fail open) unless
/// [`fail_closed`](Self::fail_closed): choose fail-closed for login and one-time-code limits.
pub struct RateLimitLayer<C> {
    cache: Cache,
    settings: Arc<Settings>,
    client: C,
}

impl<C: IdentifyClient> RateLimitLayer<C> {
    /// At most `limit` requests per `window` for each client, the client being what `client`
    /// returns for a request; requests it returns `None` for are not limited.
    pub fn new(cache: Cache, limit: u64, window: Duration, client: C) -> Self {
        Self {
            cache,
            settings: Arc::new(Settings::new(limit, window)),
            client,
        }
    }

    settings_setters!();
}

impl<C: Clone> Clone for RateLimitLayer<C> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            settings: self.settings.clone(),
            client: self.client.clone(),
        }
    }
}

impl<S, C: Clone> Layer<S> for RateLimitLayer<C> {
    type Service = RateLimit<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::from_parts(
            inner,
            self.cache.clone(),
            self.settings.clone(),
            self.client.clone(),
        )
    }
}

impl<C> fmt::Debug for RateLimitLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions_match_normalised_paths() {
        let mut settings = Settings::new(1, Duration::from_secs(1));
        settings.exempt.push(crate::uri::normalize_path("/health/"));
        for exempt in [
            "/health",
            "/health/",
            "//health",
            "/health/live",
            "/%68ealth",
            "/x/../health",
        ] {
            assert!(settings.exempts(exempt), "{exempt}");
        }
        for limited in [
            "/healthz",
            "/health/../login",
            "/login",
            "/",
            "/health%2F..%2Flogin",
        ] {
            assert!(!settings.exempts(limited), "{limited}");
        }
    }
}
