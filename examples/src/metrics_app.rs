//! An axum shop behind the response cache and the metrics layer, with the counts served as
//! Prometheus text at `/metrics`. The `metrics` example runs it; a test drives it over a socket.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{MatchedPath, Path};
use axum::routing::get;
use cache_core::Cache;
use cache_tower::metrics::RouteLabel;
use cache_tower::{MetricsLayer, ResponseCacheLayer};
use http::request::Parts;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder (the `metrics` facade takes one per process).
///
/// # Panics
///
/// When another recorder was installed first.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// The shop: `/products/{id}` is cacheable for a minute, `/cart` never; `/metrics` answers the
/// Prometheus text and is itself neither cached nor counted. Also returns the metrics layer,
/// for its snapshot.
pub fn app(cache: Cache) -> (Router, MetricsLayer<impl RouteLabel>) {
    let handle = prometheus();
    let metrics = MetricsLayer::new().route_label(|parts: &Parts| {
        parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
    });
    let shop = Router::new()
        .route(
            "/products/{id}",
            get(|Path(id): Path<u64>| async move {
                (
                    [("cache-control", "public, max-age=60")],
                    format!("product {id}"),
                )
            }),
        )
        .route(
            "/cart",
            get(|| async { ([("cache-control", "no-store")], "your cart") }),
        )
        .layer(ResponseCacheLayer::new(cache))
        .layer(metrics.clone());
    let scrape = Router::new().route("/metrics", get(move || async move { handle.render() }));
    (shop.merge(scrape), metrics)
}
