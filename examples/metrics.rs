//! A shop behind the response cache, with per-route hit/miss counts at `/metrics` (Prometheus
//! text):
//!
//! ```text
//! cargo run -p examples --example metrics -- 127.0.0.1:3000
//! curl -s localhost:3000/products/1 >/dev/null; curl -s localhost:3000/products/1 >/dev/null
//! curl -s localhost:3000/metrics | grep http_cache_requests_total
//! ```

use cache_core::Cache;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let (app, _metrics) = examples::metrics_app::app(Cache::new(10_000));
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("shop on http://{addr}, metrics at http://{addr}/metrics");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("server error: {e}");
    }
}
