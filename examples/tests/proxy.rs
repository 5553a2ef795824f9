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
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

type Seen = Arc<Mutex<HashMap<String, Vec<HeaderMap>>>>;

/// How the origin treats connections: it serves, or fails as an unreachable origin does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Serve,
    /// Reads the request, then closes the connection without answering.
    CloseBeforeAnswer,
    /// Reads the request, then resets the connection.
    Reset,
    /// Stops listening: connections are refused.
    Refuse,
}

/// The origin: a few routes with known caching headers, counting what it is asked.
struct Origin {
    addr: SocketAddr,
    seen: Seen,
    mode: watch::Sender<Mode>,
    task: JoinHandle<()>,
}

impl Origin {
    async fn start() -> Self {
        let seen: Seen = Arc::default();
        let router = Router::new().fallback(answer).with_state(seen.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, mut modes) = watch::channel(Mode::Serve);
        let task = tokio::spawn(async move {
            // Connections live in this task, so stopping it closes them all.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else {
                            return;
                        };
                        let mode = *modes.borrow();
                        if mode == Mode::Serve {
                            let service = TowerToHyperService::new(router.clone());
                            connections.spawn(async move {
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            });
                        } else {
                            connections.spawn(fail(stream, mode));
                        }
                    }
                    changed = modes.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        // Connections opened before are cut, as when the origin crashes.
                        connections.abort_all();
                    }
                }
            }
        });
        Self {
            addr,
            seen,
            mode,
            task,
        }
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

    /// From now on, fails every request as `mode` says.
    async fn fail_as(&self, mode: Mode) {
        if mode == Mode::Refuse {
            self.stop();
        } else {
            self.mode.send_replace(mode);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    fn forward(&self) -> Forward {
        Forward::new(&format!("http://{}", self.addr).parse().unwrap()).unwrap()
    }
}

/// Reads what the client sent, then closes or resets the connection without a response.
async fn fail(mut stream: TcpStream, mode: Mode) {
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf).await;
    if mode == Mode::Reset {
        let _ = stream.set_zero_linger();
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
        // Fields about the origin's own connection, which a proxy must not pass on.
        "/hop" => Response::builder()
            .header("cache-control", "no-store")
            .header("connection", "close, x-hop")
            .header("keep-alive", "timeout=5")
            .header("x-hop", "origin connection only")
            .header("x-end-to-end", "kept")
            .body(Body::from(format!("hop {n}")))
            .unwrap(),
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
        _ => routes(&path, n, req.headers())
            .unwrap_or_else(|| Response::builder().status(404).body(Body::empty()).unwrap()),
    }
}

/// The body of the ranged routes.
const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz";
/// Their `Last-Modified`, well before any `Date` they are served with.
const MODIFIED: &str = "Tue, 01 Dec 2026 00:00:00 GMT";

/// The routes whose answers depend on the path's tail, the request or the count `n`.
fn routes(path: &str, n: usize, request: &HeaderMap) -> Option<Response<Body>> {
    let builder = Response::builder();
    let response = if let Some(kind) = path.strip_prefix("/stale/") {
        // Stored with a validator and stale at once: the next request must reach the origin.
        let (status, cc) = match kind {
            "plain" => (200, "max-age=0"),
            "must-revalidate" => (200, "max-age=0, must-revalidate"),
            "proxy-revalidate" => (200, "max-age=0, proxy-revalidate"),
            "no-cache" => (200, "max-age=60, no-cache"),
            "s-maxage" => (200, "s-maxage=0, max-age=60"),
            "299" => (299, "max-age=0"),
            "499" => (499, "max-age=0"),
            "599" => (599, "max-age=0"),
            "599-must-revalidate" => (599, "max-age=0, must-revalidate"),
            _ => return None,
        };
        builder
            .status(status)
            .header("cache-control", cc)
            .header("etag", "\"s1\"")
            .body(Body::from(format!("{kind} {n}")))
    } else if let Some(kind) = path.strip_prefix("/age/") {
        let builder = builder.header("cache-control", "max-age=3600");
        let builder = match kind {
            "list" => builder.header("age", "7200, 0"),
            "disagree" => builder.header("age", "7200").header("age", "0"),
            "negative" => builder.header("age", "-7200"),
            "float" => builder.header("age", "7200.5"),
            "suffix" => builder.header("age", "7200s"),
            "parameter" => builder.header("age", "7200;q=1"),
            "text" => builder.header("age", "old"),
            _ => return None,
        };
        builder.body(Body::from(format!("{kind} {n}")))
    } else if let Some(kind) = path.strip_prefix("/unknown/") {
        // Statuses no specification defines, with and without explicit freshness.
        let (status, explicit) = kind.split_once('-')?;
        let builder = builder
            .status(status.parse::<u16>().ok()?)
            .header("etag", "\"u1\"")
            .header("last-modified", MODIFIED);
        let builder = match explicit {
            "fresh" => builder.header("cache-control", "max-age=60"),
            _ => builder,
        };
        builder.body(Body::from(format!("{kind} {n}")))
    } else if path.starts_with("/range") {
        let ranged = request
            .get("range")
            .and_then(|r| r.to_str().ok()?.strip_prefix("bytes=")?.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
        let builder = builder
            .header("cache-control", "max-age=60")
            .header("etag", "\"r1\"")
            .header("last-modified", MODIFIED)
            .header("content-type", "text/plain");
        match ranged {
            // The origin honours simple ranges itself, with a 206 of its own.
            Some((first, last)) => builder
                .status(206)
                .header("content-range", format!("bytes {first}-{last}/26"))
                .body(Body::from(ALPHABET[first..=last].to_owned())),
            None => builder.body(Body::from(ALPHABET)),
        }
    } else {
        match path {
            "/update" => {
                let revalidating = request.get("if-none-match").is_some_and(|v| v == "\"u1\"");
                if revalidating {
                    builder
                        .status(304)
                        .header("etag", "\"u1\"")
                        .header("cache-control", "max-age=0")
                        .header("content-encoding", "x-new")
                        .header("content-md5", "bmV3")
                        .header("x-frame-options", "SAMEORIGIN")
                        .body(Body::empty())
                } else {
                    builder
                        .header("etag", "\"u1\"")
                        .header("cache-control", "max-age=0")
                        .header("content-encoding", "x-old")
                        .header("content-md5", "b2xk")
                        .header("x-frame-options", "DENY")
                        .header("x-kept", "kept")
                        .body(Body::from("stored body"))
                }
            }
            // 200 once, then a 5xx: inside stale-if-error, and without it.
            "/sie-5xx" | "/5xx" if n > 1 => builder.status(503).body(Body::from("down")),
            "/sie-5xx" => builder
                .header("cache-control", "max-age=0, stale-if-error=60")
                .header("etag", "\"e5\"")
                .body(Body::from("sie-5xx 1")),
            "/5xx" => builder
                .header("cache-control", "max-age=0")
                .header("etag", "\"e5\"")
                .body(Body::from("5xx 1")),
            "/validated-cookie" if request.contains_key("if-none-match") => builder
                .status(304)
                .header("etag", "\"c1\"")
                .header("cache-control", "max-age=0")
                .header("set-cookie", format!("visit={n}"))
                .body(Body::empty()),
            "/validated-cookie" => builder
                .header("etag", "\"c1\"")
                .header("cache-control", "max-age=0")
                .body(Body::from("validated")),
            _ if path.contains("session") => builder
                .header("cache-control", "max-age=60")
                .header("set-cookie", format!("session={n}"))
                .body(Body::from(format!("session {n}"))),
            _ if path.starts_with("/public") => builder
                .header("cache-control", "max-age=60")
                .header("set-cookie", "locale=en")
                .body(Body::from(format!("public {n}"))),
            _ => return None,
        }
    };
    response.ok()
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    cache_status: String,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }
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
    let headers = response.headers().clone();
    let cache_status = headers
        .get("cache-status")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Got {
        status,
        headers,
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

/// A stored response from `path`, asserting it was stored.
async fn store(proxy: SocketAddr, path: &str) -> Got {
    let got = get(proxy, path).await;
    assert!(
        got.cache_status.contains("stored"),
        "{path}: {}",
        got.cache_status
    );
    got
}

async fn ranged(proxy: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Got {
    call(proxy, Method::GET, path, headers, "").await
}

#[tokio::test]
async fn a_received_age_is_read_by_its_first_member_and_ignored_when_invalid() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    // `Age: 7200, 0` is 7200 s: older than its max-age=3600, stale from the start, and
    // with no validator nothing to keep.
    get(proxy, "/age/list").await;
    let listed = get(proxy, "/age/list").await;
    assert!(
        !listed.cache_status.contains("hit"),
        "{}",
        listed.cache_status
    );
    assert_eq!(origin.hits("/age/list"), 2);
    // Invalid values are ignored: stored and reused as if there were no Age.
    for kind in [
        "disagree",
        "negative",
        "float",
        "suffix",
        "parameter",
        "text",
    ] {
        let path = format!("/age/{kind}");
        store(proxy, &path).await;
        let again = get(proxy, &path).await;
        assert!(
            again.cache_status.contains("hit"),
            "{kind}: {}",
            again.cache_status
        );
        assert_eq!(again.body, format!("{kind} 1"));
        let age: u64 = again.header("age").unwrap().parse().unwrap();
        assert!(age < 60, "{kind}: Age {age}");
        assert_eq!(origin.hits(&path), 1, "{kind}");
    }
}

#[tokio::test]
async fn a_304_replaces_every_stored_header_but_content_length() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    let first = store(proxy, "/update").await;
    assert_eq!(first.header("content-encoding"), Some("x-old"));
    let validated = get(proxy, "/update").await;
    assert!(
        validated.cache_status.contains("fwd-status=304"),
        "{}",
        validated.cache_status
    );
    // The validated answer and the next hit both carry the 304's fields.
    let hit = call(
        proxy,
        Method::GET,
        "/update",
        &[("cache-control", "max-stale")],
        "",
    )
    .await;
    for got in [&validated, &hit] {
        assert_eq!(got.body, "stored body");
        assert_eq!(got.header("content-encoding"), Some("x-new"));
        assert_eq!(got.header("content-md5"), Some("bmV3"));
        assert_eq!(got.header("x-frame-options"), Some("SAMEORIGIN"));
        assert_eq!(
            got.header("x-kept"),
            Some("kept"),
            "fields the 304 lacks stay"
        );
        assert_eq!(got.header("content-length"), Some("11"));
    }
    assert!(hit.cache_status.contains("hit"), "{}", hit.cache_status);
}

#[tokio::test]
async fn a_range_of_a_stored_response_is_served_from_storage() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    store(proxy, "/range").await;
    let part = ranged(proxy, "/range", &[("range", "bytes=2-5")]).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, "cdef");
    assert_eq!(part.header("content-range"), Some("bytes 2-5/26"));
    assert_eq!(part.header("content-length"), Some("4"));
    assert_eq!(part.header("etag"), Some("\"r1\""));
    assert!(part.cache_status.contains("hit"), "{}", part.cache_status);

    let suffix = ranged(proxy, "/range", &[("range", "bytes=-3")]).await;
    assert_eq!(
        (suffix.status, suffix.body.as_str()),
        (StatusCode::PARTIAL_CONTENT, "xyz")
    );
    let open = ranged(proxy, "/range", &[("range", "bytes=20-")]).await;
    assert_eq!(open.body, "uvwxyz");
    assert_eq!(open.header("content-range"), Some("bytes 20-25/26"));

    let past = ranged(proxy, "/range", &[("range", "bytes=26-")]).await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(past.header("content-range"), Some("bytes */26"));
    assert_eq!(past.body, "");

    // Several ranges, or one the cache cannot read, get the whole representation.
    for range in ["bytes=0-1,4-5", "bytes=5-2", "pages=1-2"] {
        let whole = ranged(proxy, "/range", &[("range", range)]).await;
        assert_eq!(
            (whole.status, whole.body.as_str()),
            (StatusCode::OK, ALPHABET),
            "{range}"
        );
        assert!(whole.header("content-range").is_none());
    }

    // If-Range: a part only while the client's validator is the stored one, strongly.
    for (if_range, partial) in [
        ("\"r1\"", true),
        (MODIFIED, true),
        ("\"r0\"", false),
        ("W/\"r1\"", false),
        ("Wed, 02 Dec 2026 00:00:00 GMT", false),
    ] {
        let got = ranged(
            proxy,
            "/range",
            &[("range", "bytes=0-2"), ("if-range", if_range)],
        )
        .await;
        let expected = if partial { "abc" } else { ALPHABET };
        assert_eq!(got.body, expected, "If-Range: {if_range}");
    }
    assert_eq!(origin.hits("/range"), 1, "every range came from storage");

    // HEAD ignores Range.
    let head = ranged(proxy, "/range", &[("range", "bytes=0-2")]).await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    let head = call(proxy, Method::HEAD, "/range", &[("range", "bytes=0-2")], "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("26"));
}

#[tokio::test]
async fn an_origin_206_passes_through_and_is_not_stored() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    let part = ranged(proxy, "/range-miss", &[("range", "bytes=1-3")]).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, "bcd");
    assert_eq!(part.header("content-range"), Some("bytes 1-3/26"));
    assert!(
        !part.cache_status.contains("stored"),
        "{}",
        part.cache_status
    );
    let whole = get(proxy, "/range-miss").await;
    assert!(
        whole.cache_status.contains("uri-miss"),
        "{}",
        whole.cache_status
    );
    assert_eq!(whole.body, ALPHABET);
    assert_eq!(origin.requests("/range-miss")[0]["range"], "bytes=1-3");
}

/// Stale responses the rules allow to be served when the origin cannot be reached, with the
/// status each is stored with.
const SERVED_STALE: [(&str, u16); 4] = [
    ("/stale/plain", 200),
    ("/stale/299", 299),
    ("/stale/499", 499),
    ("/stale/599", 599),
];

/// Stale responses whose directives forbid serving them without validation.
const NEVER_STALE: [&str; 5] = [
    "/stale/must-revalidate",
    "/stale/proxy-revalidate",
    "/stale/no-cache",
    "/stale/s-maxage",
    "/stale/599-must-revalidate",
];

#[tokio::test]
async fn an_unreachable_origin_gets_what_the_rules_allow_served_stale_else_504() {
    for mode in [Mode::CloseBeforeAnswer, Mode::Reset, Mode::Refuse] {
        let origin = Origin::start().await;
        let proxy = proxy_to(&origin, None).await;
        for path in SERVED_STALE.map(|(p, _)| p).iter().chain(&NEVER_STALE) {
            store(proxy, path).await;
        }
        origin.fail_as(mode).await;
        for (path, status) in SERVED_STALE {
            let got = get(proxy, path).await;
            assert_eq!(got.status.as_u16(), status, "{mode:?} {path}");
            assert!(got.body.ends_with(" 1"), "{mode:?} {path}: {}", got.body);
            assert!(
                got.cache_status.contains("hit")
                    && got.cache_status.contains("detail=origin-unreachable"),
                "{mode:?} {path}: {}",
                got.cache_status
            );
        }
        for path in NEVER_STALE {
            let got = get(proxy, path).await;
            assert_eq!(got.status, StatusCode::GATEWAY_TIMEOUT, "{mode:?} {path}");
            assert!(
                got.cache_status.contains("detail=origin-unreachable"),
                "{mode:?} {path}: {}",
                got.cache_status
            );
        }
        // Nothing stored: the proxy's own 502.
        assert_eq!(
            get(proxy, "/fresh").await.status,
            StatusCode::BAD_GATEWAY,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_5xx_answer_is_replaced_by_the_stale_response_only_inside_stale_if_error() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    store(proxy, "/sie-5xx").await;
    let saved = get(proxy, "/sie-5xx").await;
    assert_eq!(
        (saved.status, saved.body.as_str()),
        (StatusCode::OK, "sie-5xx 1")
    );
    assert!(
        saved.cache_status.contains("fwd-status=503")
            && saved.cache_status.contains("detail=stale-if-error"),
        "{}",
        saved.cache_status
    );
    store(proxy, "/5xx").await;
    let passed = get(proxy, "/5xx").await;
    assert_eq!(
        (passed.status, passed.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "down")
    );
}

#[tokio::test]
async fn unknown_statuses_are_stored_only_with_explicit_freshness() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    for status in ["299", "499", "599"] {
        let fresh = format!("/unknown/{status}-fresh");
        store(proxy, &fresh).await;
        let hit = get(proxy, &fresh).await;
        assert_eq!(hit.status.as_str(), status);
        assert!(
            hit.cache_status.contains("hit"),
            "{status}: {}",
            hit.cache_status
        );

        // Validators alone give no freshness to a status the cache does not know.
        let validated = format!("/unknown/{status}-validated");
        for n in 1..=2 {
            let got = get(proxy, &validated).await;
            assert_eq!(got.body, format!("{status}-validated {n}"));
            assert!(!got.cache_status.contains("stored"), "{}", got.cache_status);
        }
    }
}

#[tokio::test]
async fn set_cookie_is_replayed_only_on_paths_that_opt_in() {
    let origin = Origin::start().await;
    let cache = cache_for(None).await.unwrap();
    let replaying = cached(origin.forward(), cache).replay_set_cookie("/public");
    let proxy = spawn("127.0.0.1:0".parse().unwrap(), replaying)
        .await
        .unwrap();

    let first = store(proxy, "/public/home").await;
    let second = get(proxy, "/public/home").await;
    assert!(
        second.cache_status.contains("hit"),
        "{}",
        second.cache_status
    );
    assert_eq!(
        (first.cookies(), second.cookies()),
        (vec!["locale=en"], vec!["locale=en"])
    );

    // Outside the path (once normalised), cookies are never stored: each client gets its own.
    for path in ["/session/x", "/public/../session/y", "/publicity/session"] {
        let a = get(proxy, path).await;
        let b = get(proxy, path).await;
        assert!(
            !b.cache_status.contains("hit"),
            "{path}: {}",
            b.cache_status
        );
        assert_eq!(
            (a.cookies(), b.cookies()),
            (vec!["session=1"], vec!["session=2"]),
            "{path}"
        );
    }

    // The default: nothing with Set-Cookie is stored.
    let plain = proxy_to(&origin, None).await;
    let a = get(plain, "/public/about").await;
    let b = get(plain, "/public/about").await;
    assert!(!b.cache_status.contains("hit"), "{}", b.cache_status);
    assert_eq!((a.body.as_str(), b.body.as_str()), ("public 1", "public 2"));
}

#[tokio::test]
async fn cookies_a_304_sets_go_only_to_the_client_whose_request_validated() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    store(proxy, "/validated-cookie").await;
    let b = get(proxy, "/validated-cookie").await;
    let c = get(proxy, "/validated-cookie").await;
    assert!(
        b.cache_status.contains("fwd-status=304"),
        "{}",
        b.cache_status
    );
    assert_eq!(
        (b.cookies(), c.cookies()),
        (vec!["visit=2"], vec!["visit=3"])
    );
    let hit = call(
        proxy,
        Method::GET,
        "/validated-cookie",
        &[("cache-control", "max-stale")],
        "",
    )
    .await;
    assert!(hit.cache_status.contains("hit"), "{}", hit.cache_status);
    assert!(hit.cookies().is_empty(), "{:?}", hit.cookies());
}

#[tokio::test]
async fn an_origin_closing_its_connection_does_not_close_the_clients() {
    let origin = Origin::start().await;
    let proxy = proxy_to(&origin, None).await;
    // One keep-alive connection to the proxy, used for every request.
    let stream = TcpStream::connect(proxy).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    for n in 1..=3 {
        let request = Request::get("/hop")
            .header("host", "shop.example")
            .header("connection", "keep-alive, x-client-hop")
            .header("x-client-hop", "client connection only")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender
            .send_request(request)
            .await
            .unwrap_or_else(|e| panic!("request {n} on the same connection: {e}"));
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("hop {n}"));
        assert_eq!(headers["x-end-to-end"], "kept");
        for hop in ["connection", "keep-alive", "x-hop"] {
            assert!(!headers.contains_key(hop), "{hop} passed on: {headers:?}");
        }
    }
    let asked = origin.requests("/hop");
    assert_eq!(asked.len(), 3);
    assert!(
        !asked[0].contains_key("x-client-hop"),
        "the client's hop-by-hop field reached the origin: {:?}",
        asked[0]
    );
}
