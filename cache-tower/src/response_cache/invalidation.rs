//! Invalidation: what a successful unsafe request removes (RFC 9111 section 4.4), and the
//! removals other layers ask of the response cache (by URL, by URL prefix).

use cache_core::Cache;
use http::Method;
use http::Request;
use http::header::{CONTENT_LOCATION, LOCATION};

use super::entry::ResponseKey;
use super::exchange::{Exchange, Origin, Out, key_of};
use super::key::MakeCacheKey;
use super::lookup::pass;
use super::rules::status::{CacheStatus, Fwd};

impl<S, K: MakeCacheKey> Exchange<S, K> {
    /// Methods the cache does not serve. A non-error response to an unsafe one invalidates the
    /// stored responses of the target URI and of a same-origin `Location` or
    /// `Content-Location`.
    pub(crate) async fn other_method<ReqBody>(
        mut self,
        req: Request<ReqBody>,
    ) -> Out<S::Body, S::Error>
    where
        S: Origin<ReqBody>,
    {
        let safe = matches!(*req.method(), Method::OPTIONS | Method::TRACE);
        let (parts, body) = req.into_parts();
        let target = (!safe).then(|| crate::uri::head_copy(&parts));
        let req = Request::from_parts(parts, body);
        let response = self.inner.call(req).await?;
        let code = response.status();
        if let Some(target) = target
            && (code.is_success() || code.is_redirection())
        {
            let storage = &self.storage;
            let config = &storage.config;
            let mut uris: Vec<String> = key_of(config, &storage.make_key, &target)
                .into_iter()
                .collect();
            for name in [LOCATION, CONTENT_LOCATION] {
                let Some(value) = response.headers().get(name) else {
                    continue;
                };
                let other =
                    crate::uri::same_origin(&target, value.as_bytes(), &config.default_scheme);
                uris.extend(other.and_then(|p| key_of(config, &storage.make_key, &p)));
            }
            // A representation the write-through layer just stored is the new state, not a
            // stale one.
            let written = response.extensions().get::<WrittenThrough>();
            for uri in uris {
                if written.is_some_and(|w| w.0 == uri) {
                    continue;
                }
                invalidate_uri(&storage.cache, &uri).await;
            }
        }
        let mut status = CacheStatus::forwarded(Fwd::Method);
        status.fwd_status = Some(code.as_u16());
        Ok(pass(&self.storage.config, response, &status))
    }
}

/// Removes the stored `GET` and `HEAD` responses under the primary key `uri`, in every tier.
pub(crate) async fn invalidate_uri(cache: &Cache, uri: &str) {
    for head in [false, true] {
        let key = ResponseKey {
            head,
            uri: uri.to_owned(),
        };
        cache.invalidate(&key).await;
    }
}

/// [`invalidate_uri`] that reports a failed far tier; the in-process entries go either way.
#[cfg(feature = "invalidate")]
pub(crate) async fn invalidate_uri_strictly(
    cache: &Cache,
    uri: &str,
) -> Result<(), cache_core::Error> {
    let mut result = Ok(());
    for head in [false, true] {
        let key = ResponseKey {
            head,
            uri: uri.to_owned(),
        };
        if let Err(e) = cache.strict().invalidate(&key).await {
            result = Err(e);
        }
    }
    result
}

/// The prefix of every stored `GET` response whose primary key starts with `uri_prefix`.
#[cfg(feature = "invalidate")]
pub(crate) fn uri_prefix(uri_prefix: &str) -> cache_core::KeyPrefix {
    cache_core::KeyPrefix::of::<ResponseKey>()
        .segment("GET")
        .partial(uri_prefix)
}

/// Marks a response whose representation was stored as the `GET` entry of this primary key by
/// the write-through layer, so that the unsafe-method invalidation spares it.
#[derive(Debug, Clone)]
pub(crate) struct WrittenThrough(pub(crate) String);
