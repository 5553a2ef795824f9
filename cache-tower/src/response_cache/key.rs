//! [`MakeCacheKey`]: how a request's primary cache key is made; the effective request URI by
//! default.

use http::request::Parts;

/// Makes the primary cache key of a request (RFC 9111 section 4); `None` sends the request to
/// the origin and stores nothing.
///
/// The default, [`EffectiveUri`], keys on scheme, host, path and query. Any
/// `Fn(&Parts) -> Option<String>` is one too, so a closure can merge URLs (dropping tracking
/// parameters, say) or bypass some. The key is escaped when rendered, so no text can reach
/// another key; keys longer than [`max_key_size`](super::ResponseCacheLayer::max_key_size) are
/// not stored. The invalidation that follows unsafe requests, and [`Invalidate::path`] and
/// purges, name URLs the default way.
///
/// [`Invalidate::path`]: https://docs.rs/cache-tower/latest/cache_tower/invalidate/struct.Invalidate.html#method.path
pub trait MakeCacheKey: Clone + Send + Sync + 'static {
    /// The primary key of the request `parts` whose origin-form targets have the scheme
    /// `default_scheme`.
    fn make_key(&self, parts: &Parts, default_scheme: &str) -> Option<String>;
}

/// The effective request URI (RFC 9110 section 7.1) as the primary key: the default.
///
/// `None`, so that the request bypasses the cache, when no single authority can be told: no
/// authority at all, several `Host` lines, a `Host` that is not a plain `host[:port]`, or an
/// absolute-form target whose authority disagrees with `Host`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EffectiveUri;

impl MakeCacheKey for EffectiveUri {
    fn make_key(&self, parts: &Parts, default_scheme: &str) -> Option<String> {
        crate::uri::effective_uri(parts, default_scheme)
    }
}

impl<F> MakeCacheKey for F
where
    F: Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    fn make_key(&self, parts: &Parts, _: &str) -> Option<String> {
        self(parts)
    }
}
