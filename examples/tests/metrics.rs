//! The metrics example over a real socket: a scripted sequence of requests, then `/metrics`
//! shows exactly its hit and miss counts.

use std::net::SocketAddr;

use bytes::Bytes;
use cache_core::Cache;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

async fn get(addr: SocketAddr, path: &str) -> String {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .get(format!("http://{addr}{path}").parse().unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn metrics_show_the_exact_counts_of_a_scripted_sequence() {
    // On Redis (memory in front), as the shop would run; a private server per run.
    let (url, _server) = cache_core::test_util::RedisServer::url_or_start().unwrap();
    let store = cache_core::store::redis::RedisStore::connect(&url)
        .await
        .unwrap();
    let cache = Cache::builder().far(store).build().unwrap();
    let suffix = std::process::id();
    let (app, metrics) = examples::metrics_app::app(cache);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // products/1: miss, hit, hit; products/2: miss, hit; cart: three misses (its no-store
    // responses are never stored).
    // Product ids unique to this run, so a shared REDIS_URL holds nothing for them yet.
    let (p1, p2) = (
        format!("/products/{suffix}1"),
        format!("/products/{suffix}2"),
    );
    for path in [&p1, &p1, &p2, &p1, &p2] {
        get(addr, path).await;
    }
    for _ in 0..3 {
        assert_eq!(get(addr, "/cart").await, "your cart");
    }
    let text = get(addr, "/metrics").await;
    let line = |route: &str, outcome: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("http_cache_requests_total{")
                    && l.contains(&format!("route=\"{route}\""))
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(
        line("/products/{id}", "miss").as_deref(),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        line("/products/{id}", "hit").as_deref(),
        Some("3"),
        "{text}"
    );
    assert_eq!(line("/cart", "miss").as_deref(), Some("3"), "{text}");
    assert_eq!(line("/cart", "hit"), None, "{text}");
    assert!(
        !text.contains("route=\"/metrics\""),
        "the scrape itself is not counted"
    );
    assert!(
        text.contains("http_cache_request_duration_seconds"),
        "{text}"
    );

    let snapshot = metrics.snapshot();
    let products = snapshot.route("/products/{id}").unwrap();
    assert_eq!((products.hits, products.misses), (3, 2));
    assert!((products.hit_ratio() - 0.6).abs() < 1e-9);
    assert_eq!(snapshot.route("/cart").unwrap().misses, 3);
}
