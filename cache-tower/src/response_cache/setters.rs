//! The builder methods shared by [`ResponseCacheLayer`](super::ResponseCacheLayer) and
//! [`ResponseCache`](super::ResponseCache): both hold an `Arc<Config>` named `config` and the
//! `Cache` named `cache`.

/// Expands to the option setters, documented once for both types.
macro_rules! config_setters {
    () => {
        /// Runs as a private cache (RFC 9111 section 1): `private` responses are stored too,
        /// each kept apart by the request's `Authorization` and `Cookie` values, so that only a
        /// request with the same credentials reuses it. `s-maxage` and `proxy-revalidate` are
        /// ignored. Off by default: the cache is shared.
        #[must_use]
        pub fn private_cache(mut self, private: bool) -> Self {
            std::sync::Arc::make_mut(&mut self.config).shared = !private;
            self
        }

        /// Turns on heuristic freshness (RFC 9111 section 4.2.2) for responses without an
        /// explicit lifetime: `fraction` of the time since `Last-Modified`, at most `max`, for
        /// heuristically cacheable statuses or `public` responses. Off by default.
        #[must_use]
        pub fn heuristic_freshness(mut self, fraction: f64, max: std::time::Duration) -> Self {
            std::sync::Arc::make_mut(&mut self.config).heuristic =
                Some(super::rules::freshness::Heuristic {
                    fraction: fraction.clamp(0.0, 1.0),
                    max: max.as_secs(),
                });
            self
        }

        /// The targeted cache-control fields (RFC 9213) this cache obeys before
        /// `Cache-Control`, first match wins; `CDN-Cache-Control` by default.
        #[must_use]
        pub fn targeted_fields(
            mut self,
            names: impl IntoIterator<Item = http::HeaderName>,
        ) -> Self {
            std::sync::Arc::make_mut(&mut self.config).targeted = names.into_iter().collect();
            self
        }

        /// Ignores the request's `Cache-Control` (`no-cache`, `no-store`, `max-age`,
        /// `max-stale`, `min-fresh`, `only-if-cached`), as many CDNs do. Off by default.
        #[must_use]
        pub fn ignore_request_directives(mut self, ignore: bool) -> Self {
            std::sync::Arc::make_mut(&mut self.config).ignore_request_directives = ignore;
            self
        }

        /// Stores responses that carry `Set-Cookie`, without those fields: the client whose
        /// request went to the origin gets its cookies, nobody else ever does. Off by default:
        /// such responses are not stored.
        #[must_use]
        pub fn store_set_cookie(mut self, store: bool) -> Self {
            std::sync::Arc::make_mut(&mut self.config).store_set_cookie = store;
            self
        }

        /// Stores responses to `GET`s of `path` or under it (`/welcome` covers
        /// `/welcome/fr`, not `/welcomes`) *with* their `Set-Cookie` fields, and replays those
        /// cookies to every client a stored response answers. Both paths are normalised as
        /// RFC 3986 section 6.2.2 says, so `/welcome/../account` is not covered. Call it once
        /// per path.
        ///
        /// Only for cookies that are the same for everyone (a default locale, a consent
        /// banner's state): a session or user cookie replayed this way logs every client in
        /// as one user. Everything else about storing still holds: `private`, `no-store` and
        /// requests with `Authorization` are not shared. Representations written through from
        /// `PUT`/`PATCH` never keep cookies. Off by default: responses with `Set-Cookie` are
        /// not stored (or stored without them, with
        /// [`store_set_cookie`](Self::store_set_cookie)).
        #[must_use]
        pub fn replay_set_cookie(mut self, path: &str) -> Self {
            std::sync::Arc::make_mut(&mut self.config)
                .replay_set_cookie
                .push(crate::uri::normalize_path(path));
            self
        }

        /// The largest body that is buffered and stored (1 MiB by default); a larger one
        /// streams through untouched and is not stored.
        #[must_use]
        pub fn max_body_size(mut self, bytes: usize) -> Self {
            std::sync::Arc::make_mut(&mut self.config).max_body = bytes;
            self
        }

        /// The in-process memory stored responses may take, in bytes (64 MiB by default):
        /// past it, the least recently useful responses are evicted, so that URLs with
        /// cache-busting query strings cannot fill the process's memory. Each response is
        /// weighed with its URL, headers and body. It applies to the [`Cache`](cache_core::Cache)'s
        /// in-process tier, for every response cache on that `Cache`
        /// ([`Cache::set_memory_budget`](cache_core::Cache::set_memory_budget)); Redis is
        /// bounded by its own `maxmemory`.
        #[must_use]
        pub fn max_memory(mut self, bytes: u64) -> Self {
            self.cache
                .set_memory_budget::<super::entry::ResponseKey>(bytes);
            std::sync::Arc::make_mut(&mut self.config).memory = bytes;
            self
        }

        /// The longest primary key (by default the effective request URI) a response is
        /// stored under: 8 KiB by default. Requests with longer URLs go to the origin and are
        /// not stored.
        #[must_use]
        pub fn max_key_size(mut self, bytes: usize) -> Self {
            std::sync::Arc::make_mut(&mut self.config).max_key = bytes;
            self
        }

        /// How many `Vary` variants of one URI are kept (16 by default); the oldest goes first.
        #[must_use]
        pub fn max_variants(mut self, variants: usize) -> Self {
            std::sync::Arc::make_mut(&mut self.config).max_variants = variants.max(1);
            self
        }

        /// How long a response is kept once stale (5 minutes by default): to be revalidated
        /// with a conditional request when it has a validator (`ETag`, `Last-Modified`), and
        /// to be served stale while the origin cannot be reached when its directives allow
        /// that (no `no-cache`, `must-revalidate`, `proxy-revalidate`, or shared `s-maxage`).
        #[must_use]
        pub fn keep_stale(mut self, keep: std::time::Duration) -> Self {
            std::sync::Arc::make_mut(&mut self.config).keep_stale = super::config::secs(keep);
            self
        }

        /// The longest any response is stored, whatever its headers say (1 day by default).
        #[must_use]
        pub fn max_ttl(mut self, ttl: std::time::Duration) -> Self {
            std::sync::Arc::make_mut(&mut self.config).max_ttl = super::config::secs(ttl).max(1);
            self
        }

        /// The cache's name in `Cache-Status` (`cache-tower` by default). It must be a
        /// structured-field token or it is ignored.
        #[must_use]
        pub fn name(mut self, name: &str) -> Self {
            let token = name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'*')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b));
            if token {
                std::sync::Arc::make_mut(&mut self.config).name = name.into();
            }
            self
        }

        /// The scheme of requests whose target has none (origin-form, as servers see them):
        /// `http` by default; `https` behind a TLS terminator.
        #[must_use]
        pub fn default_scheme(mut self, scheme: &str) -> Self {
            std::sync::Arc::make_mut(&mut self.config).default_scheme = scheme.into();
            self
        }

        /// Collapses concurrent misses and revalidations of one key into one origin request
        /// (on by default): the others wait for its answer and reuse what it stored.
        /// Conditional and range requests, and requests whose key answered uncacheably in the
        /// last 30 s, are never collapsed.
        #[must_use]
        pub fn collapse_requests(mut self, collapse: bool) -> Self {
            std::sync::Arc::make_mut(&mut self.config).collapse = collapse;
            self
        }

        /// The longest a collapsed request waits for the one at the origin (5 s by default);
        /// then it goes to the origin itself, so a stuck request never holds the others.
        #[must_use]
        pub fn collapse_timeout(mut self, wait: std::time::Duration) -> Self {
            std::sync::Arc::make_mut(&mut self.config).collapse_wait = wait;
            self
        }

        /// Passes `Surrogate-Key` and `Cache-Tag` on to clients. Off by default: the tags a
        /// response is stored under (for purging by tag) are the origin's business, stripped
        /// before the client sees the response.
        #[must_use]
        pub fn expose_tag_headers(mut self, expose: bool) -> Self {
            std::sync::Arc::make_mut(&mut self.config).expose_tags = expose;
            self
        }

        /// Reads time from `clock` (for tests, [`Clock::mock`](cache_core::Clock::mock)),
        /// starting at the current wall time. Build the `Cache` with the same clock.
        #[must_use]
        pub fn clock(mut self, clock: cache_core::Clock) -> Self {
            std::sync::Arc::make_mut(&mut self.config).with_clock(clock);
            self
        }
    };
}

pub(crate) use config_setters;
