//! A scripted origin and request helpers for the response cache tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use bytes::Bytes;
use cache_core::{Cache, Clock, MockClock};
use cache_tower::ResponseCacheLayer;
use cache_tower::response_cache::MakeCacheKey;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// What the origin answers: built per call from the request and the call's number (from 0).
pub type Reply = Box<dyn FnMut(&Method, &HeaderMap, usize) -> Response<Body> + Send>;

/// An origin whose answers the test scripts, recording what it was asked.
pub struct Script {
    calls: AtomicUsize,
    seen: Mutex<Vec<(Method, String, HeaderMap)>>,
    reply: Mutex<Reply>,
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Script {
    pub fn new(
        reply: impl FnMut(&Method, &HeaderMap, usize) -> Response<Body> + Send + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            reply: Mutex::new(Box::new(reply)),
            delay: Mutex::new(Duration::ZERO),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        })
    }

    /// Always the same answer: status 200, `body`, and `headers`.
    pub fn fixed(headers: &[(&'static str, &'static str)], body: &'static str) -> Arc<Self> {
        let headers = headers.to_vec();
        Self::new(move |_, _, _| respond(200, &headers, body))
    }

    pub fn set(
        &self,
        reply: impl FnMut(&Method, &HeaderMap, usize) -> Response<Body> + Send + 'static,
    ) {
        *self.reply.lock().unwrap() = Box::new(reply);
    }

    pub fn delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// The most requests the origin was handling at once since the last call.
    pub fn take_most_in_flight(&self) -> usize {
        self.most_in_flight.swap(0, Ordering::SeqCst)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The method of every request the origin saw, in order.
    pub fn methods(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(m, _, _)| m.to_string())
            .collect()
    }

    /// The headers of the `n`th request the origin saw.
    pub fn request(&self, n: usize) -> HeaderMap {
        self.seen.lock().unwrap()[n].2.clone()
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().fallback(answer).with_state(self.clone())
    }
}

async fn answer(State(script): State<Arc<Script>>, req: Request<Body>) -> Response<Body> {
    let n = script.calls.fetch_add(1, Ordering::SeqCst);
    script.seen.lock().unwrap().push((
        req.method().clone(),
        req.uri().to_string(),
        req.headers().clone(),
    ));
    let delay = *script.delay.lock().unwrap();
    let now = script.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    script.most_in_flight.fetch_max(now, Ordering::SeqCst);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    script.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut reply = script.reply.lock().unwrap();
    (reply)(req.method(), req.headers(), n)
}

/// A response with `status`, `headers` and `body`.
pub fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Body> {
    let mut b = Response::builder().status(status);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

/// A cache and layer on one mocked clock.
pub fn mocked() -> (Cache, MockClock, Clock) {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(10_000)
        .clock(clock.clone())
        .build()
        .unwrap();
    (cache, mock, clock)
}

/// The origin behind a response cache on a mocked clock, as an axum `Router` with `.layer(...)`.
pub fn cached_app<K: MakeCacheKey>(
    script: &Arc<Script>,
    configure: impl FnOnce(ResponseCacheLayer) -> ResponseCacheLayer<K>,
) -> (Router, MockClock) {
    let (cache, mock, clock) = mocked();
    let layer = configure(ResponseCacheLayer::new(cache).clock(clock));
    (script.router().layer(layer), mock)
}

/// A finished exchange.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Got {
    pub fn cache_status(&self) -> &str {
        self.headers
            .get("cache-status")
            .map_or("", |v| v.to_str().unwrap())
    }

    pub fn age(&self) -> Option<u64> {
        self.headers
            .get("age")
            .map(|v| v.to_str().unwrap().parse().unwrap())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Sends `method path` with `headers` to `router` (in process).
pub async fn send(router: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Got {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://example.com{path}"));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let response = router
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Got {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub async fn get(router: &Router, path: &str) -> Got {
    send(router, Method::GET, path, &[]).await
}

/// Serves `router` on a fresh loopback port, one hyper HTTP/1.1 connection per client.
pub async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Sends `head` (the request line and header lines, without the blank line) and `body` as
/// written, over a new TCP connection to `addr`, and reads the whole answer: for requests no
/// well-behaved client library would send, such as an absolute-form target with another
/// `Host`. `head_request` says the answer has no body whatever its length says.
pub async fn raw(addr: std::net::SocketAddr, head: &str, body: &str, head_request: bool) -> Got {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let text = format!(
        "{head}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = StatusCode::from_bytes(status_line.split(' ').nth(1).unwrap().as_bytes()).unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            http::HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    let rest = &bytes[split + 4..];
    let body = if head_request {
        assert!(rest.is_empty(), "a HEAD answer with a body");
        Bytes::new()
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        dechunk(rest)
    } else {
        Bytes::copy_from_slice(rest)
    };
    if let Some(length) = headers.get("content-length").filter(|_| !head_request) {
        assert_eq!(
            length.to_str().unwrap().parse::<usize>().unwrap(),
            body.len(),
            "Content-Length and body disagree"
        );
    }
    Got {
        status,
        headers,
        body,
    }
}

/// The data of a chunked body.
fn dechunk(mut rest: &[u8]) -> Bytes {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Bytes::from(out);
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
