//! Request collapsing over real sockets: revalidations collapse like misses, a stuck leader
//! holds its waiters no longer than the collapse timeout, and a request with a body is never
//! answered from storage, stored, or collapsed.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use cache_tower::ResponseCacheLayer;
use http::{Request, Response};
use support::{mocked, raw, serve};

async fn get(addr: std::net::SocketAddr, path: &str) -> support::Got {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nhost: example.com"),
        "",
        false,
    )
    .await
}

#[derive(Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
    validations: Arc<AtomicUsize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revalidations_send_one_request() {
    let origin = Counter::default();
    let answer = |State(c): State<Counter>, req: Request<Body>| async move {
        c.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut response = Response::new(Body::from("doc"));
        if req.headers().contains_key("if-none-match") {
            c.validations.fetch_add(1, Ordering::SeqCst);
            *response.status_mut() = http::StatusCode::NOT_MODIFIED;
            *response.body_mut() = Body::empty();
        }
        let headers = response.headers_mut();
        headers.insert("cache-control", "max-age=10".parse().unwrap());
        headers.insert("etag", "\"d1\"".parse().unwrap());
        response
    };
    let (cache, mock, clock) = mocked();
    let app = Router::new()
        .fallback(answer)
        .with_state(origin.clone())
        .layer(ResponseCacheLayer::new(cache).clock(clock));
    let addr = serve(app).await;
    assert_eq!(get(addr, "/doc").await.text(), "doc");
    mock.advance(Duration::from_secs(11));
    let clients: Vec<_> = (0..10).map(|_| tokio::spawn(get(addr, "/doc"))).collect();
    for client in clients {
        let got = client.await.unwrap();
        assert_eq!(
            (got.status.as_u16(), got.text()),
            (200, "doc"),
            "{}",
            got.cache_status()
        );
    }
    assert_eq!(
        origin.validations.load(Ordering::SeqCst),
        1,
        "one validation for ten clients"
    );
    assert_eq!(origin.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_leader_holds_its_waiters_no_longer_than_the_timeout() {
    let calls = Arc::new(AtomicUsize::new(0));
    let leader_done = Arc::new(AtomicBool::new(false));
    let state = (calls.clone(), leader_done.clone());
    let answer = |State((calls, done)): State<(Arc<AtomicUsize>, Arc<AtomicBool>)>| async move {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            // The first request is stuck far longer than the others wait.
            tokio::time::sleep(Duration::from_secs(3)).await;
            done.store(true, Ordering::SeqCst);
        }
        ([("cache-control", "max-age=60")], "page")
    };
    let (cache, _mock, clock) = mocked();
    let app = Router::new().fallback(answer).with_state(state).layer(
        ResponseCacheLayer::new(cache)
            .collapse_timeout(Duration::from_millis(100))
            .clock(clock),
    );
    let addr = serve(app).await;
    let leader = tokio::spawn(get(addr, "/slow"));
    while calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiters: Vec<_> = (0..4).map(|_| tokio::spawn(get(addr, "/slow"))).collect();
    for waiter in waiters {
        let got = waiter.await.unwrap();
        assert_eq!(got.text(), "page");
    }
    assert!(
        !leader_done.load(Ordering::SeqCst),
        "the waiters finished only after the stuck leader"
    );
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "the waiters went to the origin themselves"
    );
    assert_eq!(leader.await.unwrap().text(), "page");
}

#[tokio::test]
async fn a_request_with_a_body_is_neither_served_nor_stored() {
    let calls = Arc::new(AtomicUsize::new(0));
    let answer = |State(calls): State<Arc<AtomicUsize>>, req: Request<Body>| async move {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        let body = http_body_util::BodyExt::collect(req.into_body())
            .await
            .unwrap()
            .to_bytes();
        let text = format!("results {n} for {:?}", String::from_utf8_lossy(&body));
        ([("cache-control", "max-age=60")], text)
    };
    let (cache, _mock, clock) = mocked();
    let app = Router::new()
        .fallback(answer)
        .with_state(calls.clone())
        .layer(ResponseCacheLayer::new(cache).clock(clock));
    let addr = serve(app).await;
    let plain = get(addr, "/search").await;
    assert_eq!(plain.text(), "results 0 for \"\"");
    // The key does not cover a body: a GET with one goes to the origin, uncached.
    let searched = raw(
        addr,
        "GET /search HTTP/1.1\r\nhost: example.com",
        "q=secret",
        false,
    )
    .await;
    assert_eq!(searched.text(), "results 1 for \"q=secret\"");
    assert!(
        searched
            .cache_status()
            .contains("fwd=bypass; fwd-status=200; detail=request-body"),
        "{}",
        searched.cache_status()
    );
    let again = get(addr, "/search").await;
    assert_eq!(
        again.text(),
        "results 0 for \"\"",
        "the stored answer is untouched"
    );
    assert!(
        again.cache_status().contains("hit"),
        "{}",
        again.cache_status()
    );
}
