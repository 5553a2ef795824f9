//! Runnable examples of the typed cache; see the `examples/` folder and `cargo run -p examples --example quickstart`.
