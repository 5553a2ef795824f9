//! A shared HTTP cache for any Tower service over `http` types, storing responses in a
//! cache-core [`Cache`](cache_core::Cache): in process, in Redis, or both, so a fleet of
//! stateless instances shares one HTTP cache.
//!
//! # Contents
//!
//! - [What it follows](#what-it-follows)
//! - [What it never does](#what-it-never-does)
//! - [Example](#example)
//!
//! # What it follows
//!
//! | rule | source |
//! |---|---|
//! | key: method and effective request URI (or [`cache_key`](ResponseCacheLayer::cache_key)); `Vary` selects among variants, `Vary: *` never matches; `HEAD` is answered from a stored `GET`, and a `HEAD` that must validate one asks the origin with `GET` | RFC 9111 §4, §4.1 |
//! | storing: final statuses any client would get (not `206`, `412`, `416`, nor registered errors other than the heuristically cacheable `404`, `405`, `410`, `414`, `501`; statuses no specification defines, such as `299`, `499`, `599`, only with explicit freshness); no `no-store`; no `private` (unless [`private_cache`](ResponseCacheLayer::private_cache)); `Authorization` only with `public`, `s-maxage` or `must-revalidate`; hop-by-hop and `Connection` fields stripped; no `Set-Cookie` (unless [stripped](ResponseCacheLayer::store_set_cookie) or [replayed](ResponseCacheLayer::replay_set_cookie) on chosen paths) | RFC 9111 §3 |
//! | freshness: `s-maxage`, `max-age`, `Expires` − `Date`, then (opt-in) heuristic; invalid or repeated values are stale; `Age` computed and sent on every stored answer, a received list-valued `Age` read by its first member and an invalid one (not digits, or lines that disagree) ignored | RFC 9111 §4.2, §5.1 |
//! | an origin that cannot be reached (refused, reset, closed before answering): a stale response is served (`Cache-Status: ...; hit; detail=origin-unreachable`) unless `no-cache`, `must-revalidate`, `proxy-revalidate` or `s-maxage` forbid it, and then the cache answers `504`; stale responses are kept [`keep_stale`](ResponseCacheLayer::keep_stale) for that | RFC 9111 §4.2.4, §5.2.2 |
//! | validation with the stored validators, `304` freshening the right stored responses (every field of the `304` replaces the stored one, except `Content-Length`); client conditionals answered with `304` from storage; a client's `If-Match` / `If-Unmodified-Since` that the stored response fails goes to the origin | RFC 9111 §3.2, §4.3, RFC 9110 §13 |
//! | a `GET` with one byte range of a stored `200` gets a `206` with `Content-Range` from storage, or a `416` (`Content-Range: bytes */length`) when the range starts past the end; `If-Range` needs a strong `ETag` match or the exact strong `Last-Modified`; several ranges get the whole `200`; an origin's `206` passes through unstored | RFC 9110 §14, §13.1.5 |
//! | `stale-while-revalidate` (one background revalidation), `stale-if-error` | RFC 5861 |
//! | request `no-cache`, `no-store`, `max-age`, `max-stale`, `min-fresh`, `only-if-cached` (can be [ignored](ResponseCacheLayer::ignore_request_directives)) | RFC 9111 §5.2.1 |
//! | `CDN-Cache-Control` and other [targeted fields](ResponseCacheLayer::targeted_fields) before `Cache-Control` | RFC 9213 |
//! | a non-error response to an unsafe method invalidates the target URI and same-origin `Location` / `Content-Location` | RFC 9111 §4.4 |
//! | a `Cache-Status` member on every response | RFC 9211 |
//! | `Surrogate-Key` (space-separated) and `Cache-Tag` (comma-separated) become the entry's tags, for [`Cache::invalidate_tag`](cache_core::Cache::invalidate_tag); stripped before the client sees them unless [exposed](ResponseCacheLayer::expose_tag_headers) | Fastly, Cloudflare |
//! | concurrent misses on one key send one request to the origin | request collapsing |
//!
//! # What it never does
//!
//! - serve a response stored for other credentials: `private` is not stored by a shared cache,
//!   and in private mode every response is kept apart by the request's `Authorization` and
//!   `Cookie`;
//! - serve one host's response for another: a request whose absolute-form target names
//!   another authority than its `Host` (`GET http://a.example/` with `Host: b.example`), or
//!   with several `Host` lines, goes to the origin uncached (`Cache-Status: ...; fwd=bypass`),
//!   and write-through and purges take no key from it;
//! - store a `HEAD` answer as a `GET`'s, or an answer to one client's range or precondition;
//! - replay `Set-Cookie`, except on the paths given to
//!   [`replay_set_cookie`](ResponseCacheLayer::replay_set_cookie);
//! - grow without bound: stored responses take at most
//!   [`max_memory`](ResponseCacheLayer::max_memory) of process memory (64 MiB by default),
//!   and URLs longer than [`max_key_size`](ResponseCacheLayer::max_key_size) (8 KiB) are not
//!   stored;
//! - change the origin's response because storage failed: a dead Redis is a miss, and a body
//!   larger than [`max_body_size`](ResponseCacheLayer::max_body_size) streams through untouched.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::convert::Infallible;
//! use cache_core::Cache;
//! use cache_tower::response_cache::ResponseCacheLayer;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let origin = tower::service_fn(|_req: Request<Full<bytes::Bytes>>| async {
//!     let response = Response::builder()
//!         .header("cache-control", "max-age=60")
//!         .body(Full::new(bytes::Bytes::from("hello")))
//!         .unwrap();
//!     Ok::<_, Infallible>(response)
//! });
//! let service = ServiceBuilder::new()
//!     .layer(ResponseCacheLayer::new(Cache::new(10_000)))
//!     .service(origin);
//!
//! let get = || Request::get("http://example.com/greeting").body(Full::default()).unwrap();
//! let first = service.clone().oneshot(get()).await.unwrap();
//! assert_eq!(first.headers()["cache-status"], "cache-tower; fwd=uri-miss; fwd-status=200; stored");
//! let second = service.clone().oneshot(get()).await.unwrap();
//! assert_eq!(second.headers()["cache-status"], "cache-tower; hit; ttl=60");
//! assert_eq!(second.headers()["age"], "0");
//! assert_eq!(second.into_body().collect().await.unwrap().to_bytes(), "hello");
//! # });
//! ```

mod collapse;
mod config;
mod entry;
mod exchange;
mod fetch;
mod future;
mod invalidation;
mod key;
mod layer;
mod lookup;
mod revalidate;
pub(crate) mod rules;
mod service;
mod setters;
mod store;

#[cfg(feature = "write-through")]
pub(crate) use config::Config;
#[cfg(any(feature = "invalidate", feature = "write-through"))]
pub(crate) use config::Published;
pub use future::ResponseFuture;

/// The stored-entry decoder under arbitrary bytes (see [`crate::fuzzing`]).
#[cfg(fuzzing)]
pub(crate) fn fuzz_entry(data: &[u8]) {
    use cache_core::codec::Codec;
    if let Ok(variants) = entry::EntryCodec::decode(data) {
        let bytes = entry::EntryCodec::encode(&variants).expect("a decoded entry encodes");
        let again = entry::EntryCodec::decode(&bytes).expect("an encoded entry decodes");
        assert_eq!(
            entry::EntryCodec::encode(&again).expect("encodes"),
            bytes,
            "decoding and encoding lose nothing"
        );
    }
}
#[cfg(feature = "write-through")]
pub(crate) use invalidation::WrittenThrough;
#[cfg(feature = "invalidate")]
pub(crate) use invalidation::{invalidate_uri, invalidate_uri_strictly, uri_prefix};
pub use key::{EffectiveUri, MakeCacheKey};
pub use layer::ResponseCacheLayer;
pub use rules::storable::remove_hop_by_hop;
pub use service::ResponseCache;
#[cfg(feature = "write-through")]
pub(crate) use store::write_representation;
