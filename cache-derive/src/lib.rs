//! Derive and attribute macros for `cache-core`: `#[derive(CacheKey)]`, `#[cached]`,
//! `#[cache_put]` and `#[cache_evict]`.
//!
//! Not written yet: until they are, implement [`CacheKey`] by hand as in the `cache-core`
//! documentation. The macros will emit exactly that code, through `cache_core::__private`,
//! and `cache-core` re-exports them behind its default `derive` feature.
//!
//! [`CacheKey`]: https://docs.rs/cache-core/latest/cache_core/trait.CacheKey.html
