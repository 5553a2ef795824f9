//! Write-through: what a successful `PUT` or `PATCH` returns becomes the cache's new state, so
//! the next read is a hit with the new data instead of a miss.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, body::Body, routing::put};
//! use cache_core::Cache;
//! use cache_tower::{ResponseCacheLayer, WriteThroughLayer};
//! use http::{Method, Request};
//! use tower::ServiceExt;
//!
//! let cache = Cache::new(10_000);
//! let app = Router::new()
//!     .route("/notes/{id}", put(|body: String| async move {
//!         ([("content-location", "/notes/1"), ("cache-control", "max-age=300")], body)
//!     }))
//!     .layer(WriteThroughLayer::new(cache.clone()))
//!     .layer(ResponseCacheLayer::new(cache));
//!
//! let put = Request::put("http://notes.example/notes/1").body(Body::from("v2")).unwrap();
//! app.clone().oneshot(put).await.unwrap();
//! let get = Request::get("http://notes.example/notes/1").body(Body::empty()).unwrap();
//! let read = app.clone().oneshot(get).await.unwrap();
//! assert!(read.headers()["cache-status"].to_str().unwrap().contains("hit"));
//! # });
//! ```

mod future;
mod layer;
mod rule;
mod service;
mod write;

pub use future::ResponseFuture;
pub use layer::WriteThroughLayer;
pub use rule::{RepresentationPath, TypedWrites};
pub use service::WriteThrough;
pub use write::Write;

pub use crate::route::Matched;
