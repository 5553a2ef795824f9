//! Runnable examples of the typed cache; see the `examples/` folder and
//! `cargo run -p examples --example quickstart`. The library part holds what both an example
//! and the end-to-end tests run, such as the caching reverse proxy.

pub mod metrics_app;
pub mod proxy;
