//! `WriteThroughLayer` inside `ResponseCacheLayer`, through axum routers, on a cache in front
//! of a real Redis: a `PUT` makes the next `GET` a hit with the new body, on this instance and
//! on another sharing the Redis.

#![cfg(feature = "write-through")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use cache_core::codec::Json;
use cache_core::store::redis::RedisStore;
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey};
use cache_tower::route::Matched;
use cache_tower::{ResponseCacheLayer, Write, WriteThroughLayer};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Merchant {
    name: String,
    cashback: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "merchant", ttl = "1h", value = Merchant, codec = Json, key = "merchant:{slug}")]
struct MerchantKey {
    slug: String,
}

async fn redis_cache(url: &str) -> Cache {
    let store = RedisStore::connect(url).await.unwrap();
    Cache::builder().far(store).build().unwrap()
}

fn host() -> String {
    format!(
        "w{}.example",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// An origin holding one document per path; `PUT` replaces it and answers the new one.
type Docs = Arc<Mutex<std::collections::HashMap<String, String>>>;

fn notes(cache: &Cache, docs: Docs) -> Router {
    let read = |State(docs): State<Docs>, req: Request<Body>| async move {
        let path = req.uri().path().to_owned();
        let body = docs.lock().unwrap().get(&path).cloned().unwrap_or_default();
        ([("cache-control", "max-age=300")], body)
    };
    let write = |State(docs): State<Docs>, req: Request<Body>| async move {
        let path = req.uri().path().to_owned();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(body.to_vec()).unwrap();
        if text == "reject" {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                [("content-location", path)],
                text,
            );
        }
        docs.lock().unwrap().insert(path.clone(), text.clone());
        (StatusCode::OK, [("content-location", path)], text)
    };
    Router::new()
        .route("/notes/{id}", get(read).put(write))
        .with_state(docs)
        .layer(WriteThroughLayer::new(cache.clone()).fresh_for(Duration::from_secs(120)))
        .layer(ResponseCacheLayer::new(cache.clone()))
}

async fn call(
    app: &Router,
    method: Method,
    host: &str,
    path: &str,
    body: &str,
) -> (StatusCode, String, String) {
    let req = Request::builder()
        .method(method)
        .uri(format!("http://{host}{path}"))
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let cache_status = response
        .headers()
        .get("cache-status")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        cache_status,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn a_put_makes_the_next_get_a_hit_with_the_new_body_everywhere() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let docs: Docs = Arc::default();
    let here = notes(&redis_cache(&url).await, docs.clone());
    let there = notes(&redis_cache(&url).await, docs.clone());
    let host = host();
    docs.lock().unwrap().insert("/notes/1".into(), "v1".into());
    assert_eq!(
        call(&here, Method::GET, &host, "/notes/1", "").await.2,
        "v1"
    );
    assert!(
        call(&here, Method::GET, &host, "/notes/1", "")
            .await
            .1
            .contains("hit")
    );

    let (status, _, body) = call(&here, Method::PUT, &host, "/notes/1", "v2").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "v2"));
    let (_, cache_status, body) = call(&here, Method::GET, &host, "/notes/1", "").await;
    assert_eq!(body, "v2");
    assert!(cache_status.contains("hit"), "{cache_status}");
    // Another instance, with nothing in process, reads the new body from Redis.
    let (_, cache_status, body) = call(&there, Method::GET, &host, "/notes/1", "").await;
    assert_eq!(body, "v2");
    assert!(cache_status.contains("hit"), "{cache_status}");

    // A failed PUT writes nothing, and the stored response stays.
    let (status, _, _) = call(&here, Method::PUT, &host, "/notes/1", "reject").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        call(&here, Method::GET, &host, "/notes/1", "").await.2,
        "v2"
    );
}

#[tokio::test]
async fn mapped_paths_and_typed_values_are_written_from_responses() {
    let (url, _server) = RedisServer::url_or_start().unwrap();
    let cache = redis_cache(&url).await;
    let app = Router::new()
        .route(
            "/merchants/{slug}",
            get(|| async { ([("cache-control", "max-age=300")], "old page") }),
        )
        .route(
            "/api/merchants/{slug}",
            axum::routing::put(|body: String| async move {
                ([("content-type", "application/json")], body)
            }),
        )
        .layer(
            WriteThroughLayer::new(cache.clone())
                .map(Method::PUT, "/api/merchants/{slug}", |m: &Matched<'_>| {
                    Some(format!("/merchants/{}", m.param("slug")?))
                })
                .typed(
                    Method::PUT,
                    "/api/merchants/{slug}",
                    |m: &Matched<'_>, body: &Bytes| {
                        let Ok(merchant) = serde_json::from_slice::<Merchant>(body) else {
                            return Vec::new();
                        };
                        let slug = m.param("slug").unwrap_or_default().to_owned();
                        vec![Write::new(MerchantKey { slug }, merchant)]
                    },
                ),
        )
        .layer(ResponseCacheLayer::new(cache.clone()));
    let host = host();
    let slug = host.replace('.', "-");
    let page = format!("/merchants/{slug}");
    assert_eq!(
        call(&app, Method::GET, &host, &page, "").await.2,
        "old page"
    );
    let json = r#"{"name":"Amazon","cashback":4.5}"#;
    call(
        &app,
        Method::PUT,
        &host,
        &format!("/api/merchants/{slug}"),
        json,
    )
    .await;
    let (_, cache_status, body) = call(&app, Method::GET, &host, &page, "").await;
    assert_eq!(body, json);
    assert!(cache_status.contains("hit"), "{cache_status}");
    let typed = cache.get(&MerchantKey { slug }).await.unwrap();
    assert_eq!(
        *typed,
        Merchant {
            name: "Amazon".into(),
            cashback: 4.5
        }
    );
}
