//! Rate limiting with the counts in the cache's far tier, shared by every instance, with
//! `X-RateLimit-*` headers and `429` + `Retry-After`.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use axum::{Router, body::Body, routing::get};
//! use cache_core::Cache;
//! use cache_tower::RateLimitLayer;
//! use http::{Request, request::Parts};
//! use tower::ServiceExt;
//!
//! let limit = RateLimitLayer::new(Cache::new(10_000), 2, Duration::from_secs(60), |parts: &Parts| {
//!     parts.headers.get("x-api-key")?.to_str().ok().map(str::to_owned)
//! })
//! .exempt("/health");
//! let app = Router::new().route("/offers", get(|| async { "offers" })).layer(limit);
//!
//! let call = || Request::get("/offers").header("x-api-key", "k1").body(Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(call()).await.unwrap().headers()["x-ratelimit-remaining"], "1");
//! assert_eq!(app.clone().oneshot(call()).await.unwrap().status(), 200);
//! let refused = app.clone().oneshot(call()).await.unwrap();
//! assert_eq!(refused.status(), 429);
//! assert!(refused.headers().contains_key("retry-after"));
//! # });
//! ```

mod client;
mod future;
mod layer;
mod service;
mod window;

pub use client::IdentifyClient;
pub use future::ResponseFuture;
pub use layer::RateLimitLayer;
pub use service::RateLimit;
