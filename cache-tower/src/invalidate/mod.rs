//! Invalidation on mutation, and a guarded purge endpoint.
//!
//! [`InvalidationLayer`] maps successful mutations to invalidations: of typed keys built from
//! the request (path parameters, headers), of tags, of key prefixes, or of stored HTTP
//! responses. It sits inside a [`ResponseCacheLayer`](crate::ResponseCacheLayer), so that the
//! next read after a mutation misses:
//!
//! ```text
//! request -> ResponseCacheLayer -> InvalidationLayer -> application
//! ```
//!
//! Rules run only when the inner service answers `2xx`: a failed mutation changed nothing and
//! invalidates nothing. The purge endpoint ([`Purge`]) is off unless configured, and cannot be
//! configured without an authorization check.
//!
//! # Example
//!
//! Updating a merchant invalidates its typed entry, its tag (every response the
//! origin tagged `Surrogate-Key: merchant:<slug>`) and its public page.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, body::Body, routing::{get, put}};
//! use cache_core::{Cache, CacheKey};
//! use cache_tower::invalidate::{Invalidate, InvalidationLayer, Matched, Purge};
//! use cache_tower::ResponseCacheLayer;
//! use http::{Method, Request};
//! use tower::ServiceExt;
//!
//! #[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
//! #[cache(namespace = "merchant", ttl = "1h", value = String, key = "merchant:{slug}")]
//! struct MerchantKey { slug: String }
//!
//! let cache = Cache::new(10_000);
//! let invalidation = InvalidationLayer::new(cache.clone())
//!     .rule(Method::PUT, "/admin/merchants/{slug}", |m: &Matched<'_>| {
//!         let slug = m.param("slug").unwrap_or_default().to_owned();
//!         vec![
//!             Invalidate::tag(format!("merchant:{slug}")),
//!             Invalidate::path(format!("/merchants/{slug}")),
//!             Invalidate::key(MerchantKey { slug }),
//!         ]
//!     })
//!     .purge(Purge::bearer("ops-secret"));
//! let app = Router::new()
//!     .route("/merchants/{slug}", get(|| async { ([("cache-control", "max-age=3600")], "Amazon") }))
//!     .route("/admin/merchants/{slug}", put(|| async { "saved" }))
//!     .layer(invalidation)
//!     .layer(ResponseCacheLayer::new(cache.clone()));
//!
//! let call = |method: Method, path: &str| {
//!     Request::builder().method(method).uri(format!("http://shop.example{path}")).body(Body::empty()).unwrap()
//! };
//! app.clone().oneshot(call(Method::GET, "/merchants/amazon")).await.unwrap();
//! let hit = app.clone().oneshot(call(Method::GET, "/merchants/amazon")).await.unwrap();
//! assert!(hit.headers()["cache-status"].to_str().unwrap().contains("hit"));
//! app.clone().oneshot(call(Method::PUT, "/admin/merchants/amazon")).await.unwrap();
//! let after = app.clone().oneshot(call(Method::GET, "/merchants/amazon")).await.unwrap();
//! assert!(after.headers()["cache-status"].to_str().unwrap().contains("uri-miss"));
//! # });
//! ```

mod action;
mod future;
mod layer;
mod purge;
mod rule;
mod service;

pub use action::Invalidate;
pub use future::ResponseFuture;
pub use layer::InvalidationLayer;
pub use purge::{Authorize, Bearer, NoPurge, Purge};
pub use rule::InvalidationRule;
pub use service::Invalidation;

pub use crate::route::Matched;
