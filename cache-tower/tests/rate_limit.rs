//! `RateLimitLayer` on axum servers over real sockets, counting in a real Redis: two instances
//! share one limit, exempt paths are never counted, and a dead Redis lets requests through.

#![cfg(feature = "rate-limit")]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing;
use bytes::Bytes;
use cache_core::Cache;
use cache_core::store::redis::{RedisOptions, RedisStore};
use cache_core::test_util::RedisServer;
use cache_tower::RateLimitLayer;
use http::request::Parts;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

async fn redis_cache(url: &str) -> Cache {
    let options = RedisOptions::default().command_timeout(Duration::from_millis(300));
    let store = RedisStore::connect_with(url, options).await.unwrap();
    Cache::builder().far(store).build().unwrap()
}

/// An instance of the service: `/offers` limited per `x-client` header, `/health` exempt.
async fn instance(cache: Cache, scope: &str, limit: u64) -> SocketAddr {
    serve(limiter(cache, scope, limit)).await
}

/// Requests count against their `x-client` header.
fn client_header(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-client")?
        .to_str()
        .ok()
        .map(str::to_owned)
}

type Limiter = RateLimitLayer<fn(&Parts) -> Option<String>>;

fn limiter(cache: Cache, scope: &str, limit: u64) -> Limiter {
    RateLimitLayer::new(cache, limit, Duration::from_secs(60), client_header as _)
        .scope(scope)
        .exempt("/health")
}

async fn serve(layer: Limiter) -> SocketAddr {
    let app = Router::new()
        .route("/offers", routing::get(|| async { "offers" }))
        .route("/health", routing::get(|| async { "ok" }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn get(addr: SocketAddr, path: &str, client: &str) -> (StatusCode, HeaderMap) {
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let req = Request::get(format!("http://{addr}{path}"))
        .header("x-client", client)
        .body(Empty::new())
        .unwrap();
    let response = http.request(req).await.unwrap();
    (response.status(), response.headers().clone())
}

fn scope() -> String {
    format!(
        "s{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn two_instances_share_one_limit_through_redis() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let scope = scope();
    let a = instance(redis_cache(&url).await, &scope, 3).await;
    let b = instance(redis_cache(&url).await, &scope, 3).await;
    let mut remaining = Vec::new();
    for addr in [a, b, a] {
        let (status, headers) = get(addr, "/offers", "203.0.113.9").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-ratelimit-limit"], "3");
        remaining.push(
            headers["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let reset: u64 = headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let (status, headers) = get(b, "/offers", "203.0.113.9").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Other clients have their own count; exempt paths are never counted.
    assert_eq!(get(a, "/offers", "198.51.100.1").await.0, StatusCode::OK);
    for _ in 0..5 {
        let (status, headers) = get(b, "/health", "203.0.113.9").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!headers.contains_key("x-ratelimit-limit"));
    }
}

#[tokio::test]
async fn a_dead_redis_lets_requests_through() {
    let mut server = RedisServer::start().unwrap();
    let addr = instance(redis_cache(&server.url()).await, &scope(), 1).await;
    assert_eq!(get(addr, "/offers", "c").await.0, StatusCode::OK);
    assert_eq!(
        get(addr, "/offers", "c").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    server.stop();
    for _ in 0..3 {
        let (status, headers) = get(addr, "/offers", "c").await;
        assert_eq!(status, StatusCode::OK, "fail open");
        assert!(!headers.contains_key("x-ratelimit-remaining"));
    }
}

#[tokio::test]
async fn the_gcra_variant_allows_a_burst_then_the_sustained_rate() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let scope = scope();
    // 60 per minute sustained (one a second), bursts of 2, shared by two instances.
    let a = serve(limiter(redis_cache(&url).await, &scope, 60).gcra(2)).await;
    let b = serve(limiter(redis_cache(&url).await, &scope, 60).gcra(2)).await;
    let (first, headers) = get(a, "/offers", "k").await;
    assert_eq!(first, StatusCode::OK);
    assert_eq!(headers["x-ratelimit-remaining"], "1");
    assert_eq!(get(b, "/offers", "k").await.0, StatusCode::OK);
    let (refused, headers) = get(a, "/offers", "k").await;
    assert_eq!(refused, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(get(b, "/offers", "other").await.0, StatusCode::OK);
}
