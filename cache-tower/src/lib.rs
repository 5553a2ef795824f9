//! Tower middleware over a `cache-core` [`Cache`](cache_core::Cache), one folder and Cargo
//! feature each:
//!
//! | module | feature | what |
//! |---|---|---|
//! | [`response_cache`] | `response-cache` (default) | a shared HTTP cache following RFC 9111, 5861, 9211 and 9213 |
//! | [`invalidate`] | `invalidate` | mutations invalidate typed keys, tags, prefixes and URLs; a guarded purge endpoint |
//! | [`write_through`] | `write-through` | `PUT`/`PATCH` responses stored as the next `GET`'s answer; typed values written from responses |
//! | [`rate_limit`] | `rate-limit` | per-client fixed-window limits shared through the far tier, `X-RateLimit-*`, `429` |
//! | [`metrics`] | `metrics` | per-route hit/stale/revalidated/miss/bypass counts and latency, through the `metrics` facade |
//!
//! The crate depends on `cache-core` only, never on a store: a layer talks to whatever tiers
//! the `Cache` was built with (memory, Redis, or memory in front of Redis).
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "response-cache")] {
//! use cache_tower::response_cache::ResponseCacheLayer;
//!
//! let layer = ResponseCacheLayer::new(cache_core::Cache::new(10_000)).name("edge");
//! # let _ = layer;
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod body;
mod macros;
#[cfg(any(feature = "invalidate", feature = "write-through"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "invalidate", feature = "write-through")))
)]
pub mod route;
mod uri;

#[cfg(all(fuzzing, feature = "response-cache"))]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(feature = "response-cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "response-cache")))]
pub mod response_cache;

#[cfg(feature = "response-cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "response-cache")))]
pub use response_cache::{ResponseCache, ResponseCacheLayer};

#[cfg(feature = "invalidate")]
#[cfg_attr(docsrs, doc(cfg(feature = "invalidate")))]
pub mod invalidate;

#[cfg(feature = "invalidate")]
#[cfg_attr(docsrs, doc(cfg(feature = "invalidate")))]
pub use invalidate::{Invalidate, InvalidationLayer, Purge};

#[cfg(feature = "write-through")]
#[cfg_attr(docsrs, doc(cfg(feature = "write-through")))]
pub mod write_through;

#[cfg(feature = "write-through")]
#[cfg_attr(docsrs, doc(cfg(feature = "write-through")))]
pub use write_through::{Write, WriteThroughLayer};

#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub mod rate_limit;

#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub use rate_limit::RateLimitLayer;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::MetricsLayer;

/// The README's examples, compiled and run as doctests here, the one crate that sees both
/// `cache-core` (with Redis) and the layers.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
