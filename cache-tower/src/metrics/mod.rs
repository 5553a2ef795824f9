//! Per-route cache metrics: hits, stale answers, revalidations, misses and bypasses, with
//! latency, through the [`metrics`](https://docs.rs/metrics) facade (any exporter: Prometheus,
//! StatsD, ...) and as a programmatic [`MetricsSnapshot`] with the hit ratio.
//!
//! Labels are bounded: the route is the matched path template (a function you give), never
//! the raw URI, and at most 1000 distinct routes are kept.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, body::Body, extract::MatchedPath, routing::get};
//! use cache_core::Cache;
//! use cache_tower::{MetricsLayer, ResponseCacheLayer};
//! use http::{Request, request::Parts};
//! use tower::ServiceExt;
//!
//! let metrics = MetricsLayer::new().route_label(|parts: &Parts| {
//!     parts.extensions.get::<MatchedPath>().map(|p| p.as_str().to_owned())
//! });
//! let app = Router::new()
//!     .route("/products/{id}", get(|| async { ([("cache-control", "max-age=60")], "p") }))
//!     .layer(ResponseCacheLayer::new(Cache::new(1000)))
//!     .layer(metrics.clone());
//! for _ in 0..3 {
//!     let req = Request::get("http://shop.example/products/7").body(Body::empty()).unwrap();
//!     app.clone().oneshot(req).await.unwrap();
//! }
//! let products = metrics.snapshot();
//! let products = products.route("/products/{id}").unwrap();
//! assert_eq!((products.misses, products.hits), (1, 2));
//! assert!((products.hit_ratio() - 2.0 / 3.0).abs() < 1e-9);
//! # });
//! ```

mod future;
mod layer;
mod outcome;
mod route;
mod service;
mod snapshot;

pub use future::ResponseFuture;
pub use layer::MetricsLayer;
pub use outcome::Outcome;
pub use route::{AllRoutes, RouteLabel};
pub use service::Metrics;
pub use snapshot::{MetricsSnapshot, RouteCounts};
