//! A caching reverse proxy: every request is forwarded to one origin (method, path, query,
//! headers and body untouched), with a [`ResponseCacheLayer`](cache_tower::ResponseCacheLayer)
//! in front. The `proxy` example runs it; the end-to-end tests start it on real sockets.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cache_core::Cache;
use cache_core::store::redis::RedisStore;
use cache_tower::ResponseCache;
use cache_tower::body::ResponseBody;
use cache_tower::response_cache::remove_hop_by_hop;
use http::header::HOST;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// The origin as a Tower service: rewrites the request target to the origin and sends it.
#[derive(Debug, Clone)]
pub struct Forward {
    client: Client<HttpConnector, Incoming>,
    scheme: Scheme,
    authority: Authority,
}

impl Forward {
    /// Forwards to `origin` (`http://host:port`).
    ///
    /// # Errors
    ///
    /// A message when `origin` has no scheme or authority.
    pub fn new(origin: &Uri) -> Result<Self, String> {
        let scheme = origin
            .scheme()
            .cloned()
            .ok_or("the origin needs a scheme")?;
        let authority = origin
            .authority()
            .cloned()
            .ok_or("the origin needs a host")?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            scheme,
            authority,
        })
    }
}

impl Service<Request<Incoming>> for Forward {
    type Response = Response<Incoming>;
    type Error = hyper_util::client::legacy::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<Incoming>, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Incoming>) -> Self::Future {
        let mut parts = req.uri().clone().into_parts();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
        if let Ok(host) = HeaderValue::from_str(self.authority.as_str()) {
            req.headers_mut().insert(HOST, host);
        }
        // Fields about one connection stay on it: passed on, an origin's `Connection: close`
        // would close the client's connection to the proxy.
        remove_hop_by_hop(req.headers_mut());
        let sent = self.client.request(req);
        Box::pin(async move {
            let mut response = sent.await?;
            remove_hop_by_hop(response.headers_mut());
            Ok(response)
        })
    }
}

/// What the proxy answers with: the cache's response, or its own `502`.
pub type ProxyBody = Either<ResponseBody<Incoming>, Full<Bytes>>;

/// The in-memory cache, or memory in front of Redis when `redis` is a URL.
///
/// # Errors
///
/// The Redis store's error when the URL is bad or the server cannot be reached.
pub async fn cache_for(redis: Option<&str>) -> Result<Cache, cache_core::Error> {
    let builder = Cache::builder().max_capacity(100_000);
    let builder = match redis {
        Some(url) => builder.far(RedisStore::connect(url).await?),
        None => builder,
    };
    builder.build()
}

/// The caching proxy's service: `origin` behind a response cache named `proxy` in `cache`.
pub fn cached(origin: Forward, cache: Cache) -> ResponseCache<Forward> {
    ResponseCache::new(origin, cache).name("proxy")
}

/// Serves `cached` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, cached: ResponseCache<Forward>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let cached = cached.clone();
        let service = tower::service_fn(move |req: Request<Incoming>| {
            let cached = cached.clone();
            async move {
                let response = match cached.oneshot(req).await {
                    Ok(response) => response.map(Either::Left),
                    Err(e) => {
                        tracing::warn!(error = %e, "origin unreachable");
                        let mut bad = Response::new(Either::Right(Full::new(Bytes::from_static(
                            b"origin unreachable\n",
                        ))));
                        *bad.status_mut() = StatusCode::BAD_GATEWAY;
                        bad
                    }
                };
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
            // A client that goes away mid-request is normal; anything else is worth a line.
            if let Err(e) = served
                && !e.is_incomplete_message()
            {
                eprintln!("proxy: the connection from {peer} failed: {e:?}");
            }
        });
    }
}

/// Binds `listen` and serves `cached` in a background task; returns the bound address.
///
/// # Errors
///
/// The bind error.
pub async fn spawn(
    listen: SocketAddr,
    cached: ResponseCache<Forward>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, cached));
    Ok(addr)
}
