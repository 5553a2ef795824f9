//! The response cache as a plain hyper service over real TCP sockets, with Redis as the store:
//! two instances share responses, a dead Redis falls back to the origin, a corrupted entry is a
//! miss, and an unreachable origin is handled as RFC 5861 and RFC 9111 say.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cache_core::Cache;
use cache_core::store::redis::{RedisOptions, RedisStore};
use cache_core::test_util::RedisServer;
use cache_tower::ResponseCache;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `service` on a fresh loopback port.
async fn serve<S, B>(service: S) -> SocketAddr
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A counting origin answering `cache-control` and the call number as the body.
#[derive(Clone)]
struct Origin {
    calls: Arc<AtomicUsize>,
    cache_control: &'static str,
}

impl Origin {
    fn new(cache_control: &'static str) -> Self {
        Self {
            calls: Arc::default(),
            cache_control,
        }
    }

    fn service<B: Send + 'static>(
        &self,
    ) -> impl tower::Service<
        Request<B>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static {
        let this = self.clone();
        tower::service_fn(move |_req: Request<B>| {
            let this = this.clone();
            async move {
                let n = this.calls.fetch_add(1, Ordering::SeqCst);
                Ok(Response::builder()
                    .header("cache-control", this.cache_control)
                    .body(Full::new(Bytes::from(format!("response {n}"))))
                    .unwrap())
            }
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

struct Got {
    status: StatusCode,
    cache_status: String,
    body: String,
}

async fn fetch(addr: SocketAddr, path: &str) -> Got {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("http://{addr}{path}");
    let response = client.get(uri.parse().unwrap()).await.unwrap();
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

async fn redis_cache(url: &str) -> Cache {
    let options = RedisOptions::default().command_timeout(Duration::from_millis(300));
    let store = RedisStore::connect_with(url, options).await.unwrap();
    Cache::builder()
        .far(store)
        .circuit_breaker(3, Duration::from_millis(200))
        .build()
        .unwrap()
}

#[tokio::test]
async fn two_instances_share_responses_through_redis() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let origin = Origin::new("max-age=60");
    // Both instances answer for the same host name, as behind one load balancer.
    let key = |parts: &http::request::Parts| Some(format!("shared{}", parts.uri.path()));
    let a =
        serve(ResponseCache::new(origin.service(), redis_cache(&url).await).cache_key(key)).await;
    let b =
        serve(ResponseCache::new(origin.service(), redis_cache(&url).await).cache_key(key)).await;
    let path = format!("/shared/{}", fastrand_suffix());
    let first = fetch(a, &path).await;
    assert!(
        first.cache_status.contains("stored"),
        "{}",
        first.cache_status
    );
    let second = fetch(b, &path).await;
    assert_eq!(second.body, first.body);
    assert!(
        second.cache_status.contains("hit"),
        "{}",
        second.cache_status
    );
    assert_eq!(origin.calls(), 1);
}

fn fastrand_suffix() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn a_dead_redis_degrades_to_the_origin() {
    let mut server = RedisServer::start().unwrap();
    let cache = redis_cache(&server.url()).await;
    let origin = Origin::new("max-age=60");
    let addr = serve(ResponseCache::new(origin.service(), cache.clone())).await;
    server.stop();
    for i in 0..5 {
        let got = fetch(addr, &format!("/down/{i}")).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body, format!("response {i}"));
    }
    // The in-process tier still answers what it holds.
    assert_eq!(fetch(addr, "/down/0").await.body, "response 0");
    assert_eq!(origin.calls(), 5);
    assert!(cache.stats().total().store_errors > 0);
}

#[tokio::test]
async fn an_undecodable_entry_is_a_miss_and_is_removed() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    let origin = Origin::new("max-age=60");
    let addr = serve(ResponseCache::new(origin.service(), cache.clone())).await;
    let path = format!("/corrupt/{}", fastrand_suffix());
    fetch(addr, &path).await;
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pattern = format!("http:v1:GET:*{}", path.rsplit('/').next().unwrap());
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{pattern}");
    let _: () = redis::cmd("SET")
        .arg(&keys[0])
        .arg(b"\x01garbage")
        .query_async(&mut redis)
        .await
        .unwrap();
    // Another instance, with nothing in process, reads the garbage.
    let other = serve(ResponseCache::new(
        origin.service(),
        redis_cache(&url).await,
    ))
    .await;
    let got = fetch(other, &path).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "response 1");
    assert!(
        got.cache_status.contains("fwd=uri-miss"),
        "{}",
        got.cache_status
    );
    let again = fetch(other, &path).await;
    assert!(
        again.cache_status.contains("hit"),
        "the miss stored a good entry: {}",
        again.cache_status
    );
}

/// An origin that answers once, then fails as an unreachable host does.
fn flaky(
    cache_control: &'static str,
) -> impl tower::Service<
    Request<Empty<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = io::Error,
    Future: Send,
> + Clone
+ Send
+ 'static {
    let calls = Arc::new(AtomicUsize::new(0));
    tower::service_fn(move |_req: Request<Empty<Bytes>>| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Ok(Response::builder()
                    .header("cache-control", cache_control)
                    .body(Full::new(Bytes::from_static(b"first")))
                    .unwrap())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "origin down",
                ))
            }
        }
    })
}

#[tokio::test]
async fn an_unreachable_origin_gets_the_stale_response_the_rules_allow_else_504() {
    let (clock, mock) = cache_core::Clock::mock();
    let cache = || Cache::builder().clock(clock.clone()).build().unwrap();
    let get = || {
        Request::get("http://origin.test/x")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };

    let svc =
        ResponseCache::new(flaky("max-age=1, stale-if-error=60"), cache()).clock(clock.clone());
    svc.clone().oneshot(get()).await.unwrap();
    mock.advance(Duration::from_secs(5));
    let saved = svc.clone().oneshot(get()).await.unwrap();
    assert_eq!(saved.status(), 200);
    assert!(
        saved.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("stale-if-error")
    );

    let svc = ResponseCache::new(
        flaky("max-age=1, must-revalidate, stale-if-error=60"),
        cache(),
    )
    .clock(clock.clone());
    svc.clone().oneshot(get()).await.unwrap();
    mock.advance(Duration::from_secs(5));
    let refused = svc.clone().oneshot(get()).await.unwrap();
    assert_eq!(refused.status(), 504);

    // Past every window, but nothing forbids serving it stale: a disconnected cache may.
    let svc = ResponseCache::new(flaky("max-age=1, stale-while-revalidate=1"), cache())
        .clock(clock.clone());
    svc.clone().oneshot(get()).await.unwrap();
    mock.advance(Duration::from_secs(5));
    let stale = svc.clone().oneshot(get()).await.unwrap();
    assert_eq!(stale.status(), 200);
    let cache_status = stale.headers()["cache-status"].to_str().unwrap();
    assert!(
        cache_status.contains("hit") && cache_status.contains("detail=origin-unreachable"),
        "{cache_status}"
    );
    // Nothing stored: the origin's error is the service's.
    let svc = ResponseCache::new(flaky("max-age=1"), cache()).clock(clock.clone());
    let other = || {
        Request::get("http://origin.test/never-stored")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    svc.clone().oneshot(other()).await.unwrap();
    let err = svc.clone().oneshot(get()).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}
