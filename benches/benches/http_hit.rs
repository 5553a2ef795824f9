//! One request through an axum `Router` in process (no sockets): a bare handler returning a
//! 1 KiB body, against the same router behind `ResponseCacheLayer` answering from memory.
//! The difference is the cache's own cost per hit.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use cache_core::Cache;
use cache_tower::ResponseCacheLayer;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

static BODY: [u8; 1024] = [b'x'; 1024];

async fn handler() -> ([(&'static str, &'static str); 1], Bytes) {
    (
        [("cache-control", "max-age=3600")],
        Bytes::from_static(&BODY),
    )
}

async fn once(router: &Router) -> usize {
    let req = Request::get("/data")
        .header("host", "bench.local")
        .header("accept", "*/*")
        .header("user-agent", "bench")
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(req).await.expect("infallible");
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .len()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bare = Router::new().route("/data", get(handler));
    let cached = Router::new()
        .route("/data", get(handler))
        .layer(ResponseCacheLayer::new(Cache::new(10_000)));
    rt.block_on(once(&cached));
    let mut group = c.benchmark_group("http_hit");
    group.bench_function("bare_handler", |b| b.to_async(&rt).iter(|| once(&bare)));
    group.bench_function("response_cache_hit", |b| {
        b.to_async(&rt).iter(|| once(&cached))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
