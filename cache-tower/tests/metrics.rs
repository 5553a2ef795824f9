//! `MetricsLayer` around `ResponseCacheLayer` through an axum router: outcomes per route, and
//! store errors when the Redis under the cache is gone.

#![cfg(feature = "metrics")]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::routing::get;
use cache_core::Cache;
use cache_core::store::redis::{RedisOptions, RedisStore};
use cache_core::test_util::RedisServer;
use cache_tower::{MetricsLayer, ResponseCacheLayer};
use http::Request;
use http::request::Parts;
use tower::ServiceExt;

#[tokio::test]
async fn store_errors_are_counted_per_route_and_requests_still_succeed() {
    let mut server = RedisServer::start().unwrap();
    let options = RedisOptions::default().command_timeout(Duration::from_millis(200));
    let store = RedisStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let cache = Cache::builder().far(store).build().unwrap();
    let metrics = MetricsLayer::new().route_label(|parts: &Parts| {
        parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
    });
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|| async { ([("cache-control", "max-age=60")], "item") }),
        )
        .layer(ResponseCacheLayer::new(cache))
        .layer(metrics.clone());
    let get = |path: &str| {
        Request::get(format!("http://shop.example{path}"))
            .body(Body::empty())
            .unwrap()
    };
    app.clone().oneshot(get("/items/1")).await.unwrap();
    app.clone().oneshot(get("/items/1")).await.unwrap();
    server.stop();
    for id in 2..5 {
        let response = app
            .clone()
            .oneshot(get(&format!("/items/{id}")))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let status = response.headers()["cache-status"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(status.contains("detail=store-error"), "{status}");
    }
    let snapshot = metrics.snapshot();
    let items = snapshot.route("/items/{id}").unwrap();
    assert_eq!((items.hits, items.misses, items.store_errors), (1, 4, 3));
    assert!((snapshot.hit_ratio() - 0.2).abs() < 1e-9);
}
