//! Tower middleware over a `cache-core` [`Cache`](cache_core::Cache): an HTTP response cache,
//! invalidation, write-through, metrics and rate limiting, one folder and Cargo feature each.
//!
//! Not written yet; the layers arrive with their issues. This crate already depends on
//! `cache-core` only, never on a store: a layer talks to whatever tiers the `Cache` was built
//! with.
//!
//! # Example
//!
//! ```
//! // The layers will wrap a cache built like this one.
//! let cache = cache_core::Cache::new(10_000);
//! assert_eq!(cache.entry_count(), 0);
//! ```
