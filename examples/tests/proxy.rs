//! End to end: a real origin (axum on a socket), the caching proxy on another socket, and a
//! hyper client, in memory and on Redis.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use bytes::Bytes;
use cache_core::test_util::RedisServer;
use examples::proxy::{Forward, cache_for, cached, spawn};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

type Seen = Arc<Mutex<HashMap<String, Vec<HeaderMap>>>>;

/// The origin: a few routes with known caching headers, counting what it is asked.
struct Origin {
    addr: SocketAddr,
    seen: Seen,
    task: JoinHandle<()>,
}

impl Origin {
    async fn start() -> Self {
        let seen: Seen = Arc::default();
        let router = Router::new().fallback(answer).with_state(seen.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            // Connections live in this task, so stopping it closes them all.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let service = TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen, task }
    }

    fn hits(&self, path: &str) -> usize {
        self.seen.lock().unwrap().get(path).map_or(0, Vec::len)
    }

    fn requests(&self, path: &str) -> Vec<HeaderMap> {
        self.seen
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    fn stop(&self) {
        self.task.abort();
    }

    fn forward(&self) -> Forward {
        Forward::new(&format!("http://{}", self.addr).parse().unwrap()).unwrap()
    }
}

async fn answer(State(seen): State<Seen>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let n = {
        let mut seen = seen.lock().unwrap();
        let list = seen.entry(path.clone()).or_default();
        list.push(req.headers().clone());
        list.len()
    };
    let reply = |cc: &str, body: String| {
        Response::builder()
            .header("cache-control", cc)
            .body(Body::from(body))
            .unwrap()
    };
    match path.as_str() {
        "/fresh" => reply("max-age=60", format!("fresh {n}")),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(150)).await;
            reply("max-age=60", format!("slow {n}"))
        }
        "/etag"
            if req
                .headers()
                .get("if-none-match")
                .is_some_and(|v| v == "\"e1\"") =>
        {
            Response::builder()
                .status(304)
                .header("etag", "\"e1\"")
                .header("cache-control", "max-age=0")
                .body(Body::empty())
                .unwrap()
        }
        "/etag" => Response::builder()
            .header("etag", "\"e1\"")
            .header("cache-control", "max-age=0")
            .body(Body::from("tagged"))
            .unwrap(),
        "/sie" => reply("max-age=0, stale-if-error=60", format!("sie {n}")),
        "/echo" => {
            let method = req.method().to_string();
            let target = req.uri().to_string();
            let header = req
                .headers()
                .get("x-test")
                .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let body = String::from_utf8(body.to_vec()).unwrap();
            reply("no-store", format!("{method} {target} {header} {body}"))
        }
        _ => Response::builder().status(404).body(Body::empty()).unwrap(),
    }
}

struct Got {
    status: StatusCode,
    cache_status: String,
    body: String,
}

async fn call(
    proxy: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Got {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://{proxy}{path}"));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let response = client
        .request(b.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let cache_status = response
        .headers()
        .get("cache-status")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Got {
        status,
        cache_status,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(proxy: SocketAddr, path: &str) -> Got {
    call(proxy, Method::GET, path, &[], "").await
}

async fn proxy_to(origin: &Origin, redis: Option<&str>) -> SocketAddr {
    let cache = cache_for(redis).await.unwrap();
    spawn(
        "127.0.0.1:0".parse().unwrap(),
        cached(origin.forward(), cache),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_proxy_caches_and_forwards_everything_else_untouched() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    let first = get(proxy, "/fresh").await;
    assert_eq!(first.body, "fresh 1");
    assert_eq!(
        first.cache_status,
        "proxy; fwd=uri-miss; fwd-status=200; stored"
    );
    let second = get(proxy, "/fresh").await;
    assert_eq!(second.body, "fresh 1");
    assert!(
        second.cache_status.starts_with("proxy; hit; ttl="),
        "{}",
        second.cache_status
    );
    assert_eq!(origin.hits("/fresh"), 1);

    let echoed = call(
        proxy,
        Method::PUT,
        "/echo?q=1&r=%20x",
        &[("x-test", "kept")],
        "payload",
    )
    .await;
    assert_eq!(echoed.body, "PUT /echo?q=1&r=%20x kept payload");

    // A successful unsafe request invalidates the target URI.
    call(proxy, Method::POST, "/fresh", &[], "").await;
    let after = get(proxy, "/fresh").await;
    assert!(
        after.cache_status.contains("uri-miss"),
        "{}",
        after.cache_status
    );
    assert_eq!(after.body, "fresh 3");
}

#[tokio::test]
async fn stale_responses_are_revalidated_with_the_origin() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    assert_eq!(get(proxy, "/etag").await.body, "tagged");
    let again = get(proxy, "/etag").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, "tagged");
    assert!(
        again.cache_status.contains("fwd=stale; fwd-status=304"),
        "{}",
        again.cache_status
    );
    assert_eq!(origin.requests("/etag")[1]["if-none-match"], "\"e1\"");
    // The client's own conditional is answered from the validated response.
    let conditional = call(
        proxy,
        Method::GET,
        "/etag",
        &[("if-none-match", "\"e1\"")],
        "",
    )
    .await;
    assert_eq!(conditional.status, 304);
}

#[tokio::test]
async fn concurrent_clients_of_a_cold_key_make_one_origin_request() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    let clients: Vec<_> = (0..20).map(|_| tokio::spawn(get(proxy, "/slow"))).collect();
    for c in clients {
        assert_eq!(c.await.unwrap().body, "slow 1");
    }
    assert_eq!(origin.hits("/slow"), 1);
}

#[tokio::test]
async fn an_unreachable_origin_gets_stale_if_error_or_a_502() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    assert_eq!(get(proxy, "/sie").await.body, "sie 1");
    origin.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let saved = get(proxy, "/sie").await;
    assert_eq!(saved.status, 200);
    assert_eq!(saved.body, "sie 1");
    assert!(
        saved.cache_status.contains("stale-if-error"),
        "{}",
        saved.cache_status
    );
    assert_eq!(get(proxy, "/fresh").await.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn proxies_on_redis_share_one_cache() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let origin = Origin::start().await;
    let a = proxy_to(&origin, Some(&url)).await;
    let b = proxy_to(&origin, Some(&url)).await;
    // The proxies listen on different ports; the origin's Host is what the key is made of.
    let first = call(a, Method::GET, "/fresh", &[("host", "shop.example")], "").await;
    assert!(first.cache_status.contains("stored"));
    let second = call(b, Method::GET, "/fresh", &[("host", "shop.example")], "").await;
    assert_eq!(second.body, first.body);
    assert!(
        second.cache_status.contains("hit"),
        "{}",
        second.cache_status
    );
    assert_eq!(origin.hits("/fresh"), 1);
}
