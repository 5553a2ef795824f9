//! `InvalidationLayer` inside `ResponseCacheLayer`, through axum routers, on a cache in front of
//! a real Redis: a merchant update, a user deletion, tags, and the purge
//! endpoint with and without authorization.

#![cfg(feature = "invalidate")]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{delete, get, put};
use cache_core::store::redis::RedisStore;
use cache_core::test_util::RedisServer;
use cache_core::{Cache, CacheKey};
use cache_tower::route::Matched;
use cache_tower::{Invalidate, InvalidationLayer, Purge, ResponseCacheLayer};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "merchant", ttl = "1h", value = String, key = "merchant:{slug}")]
struct MerchantKey {
    slug: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "user", ttl = "10m", value = String)]
struct UserKey(u64);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "trust_score", ttl = "10m", value = f64)]
struct TrustScoreKey(u64);

async fn redis_cache() -> (Cache, Option<RedisServer>) {
    let (url, server) = RedisServer::url_or_start().unwrap();
    let store = RedisStore::connect(&url).await.unwrap();
    let cache = Cache::builder()
        .far(store)
        .near_ttl(Duration::from_secs(5))
        .build()
        .unwrap();
    (cache, server)
}

/// A host of its own per test, so that tests sharing one `REDIS_URL` never meet.
fn host() -> String {
    format!(
        "t{}.example",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

struct Got {
    status: StatusCode,
    cache_status: String,
    headers: http::HeaderMap,
    body: String,
}

async fn send(
    app: &Router,
    method: Method,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Got {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://{host}{path}"));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let response = app
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
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
        cache_status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn merchants(cache: &Cache) -> Router {
    let invalidation = InvalidationLayer::new(cache.clone())
        .rule(Method::PUT, "/admin/merchants/{slug}", |m: &Matched<'_>| {
            let slug = m.param("slug").unwrap_or_default().to_owned();
            vec![
                Invalidate::path(format!("/merchants/{slug}")),
                Invalidate::key(MerchantKey { slug }),
            ]
        })
        .rule(Method::PUT, "/admin/broken/{slug}", |m: &Matched<'_>| {
            vec![Invalidate::path(format!(
                "/merchants/{}",
                m.param("slug").unwrap_or_default()
            ))]
        })
        .purge(Purge::method(|parts: &Parts| {
            parts
                .headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer ops")
        }));
    Router::new()
        .route(
            "/merchants/{slug}",
            get(
                |axum::extract::Path(slug): axum::extract::Path<String>| async move {
                    (
                        [
                            ("cache-control", "max-age=3600".to_owned()),
                            ("surrogate-key", format!("merchant:{slug} merchants")),
                        ],
                        format!("merchant {slug}"),
                    )
                },
            ),
        )
        .route("/admin/merchants/{slug}", put(|| async { "saved" }))
        .route(
            "/admin/broken/{slug}",
            put(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed") }),
        )
        .layer(invalidation)
        .layer(ResponseCacheLayer::new(cache.clone()))
}

#[tokio::test]
async fn a_merchant_update_makes_the_next_read_a_miss() {
    let (cache, _server) = redis_cache().await;
    let app = merchants(&cache);
    let host = host();
    let slug = format!("amazon-{host}");
    cache
        .insert(MerchantKey { slug: slug.clone() }, "Amazon".to_owned())
        .await;
    let path = format!("/merchants/{slug}");
    let first = send(&app, Method::GET, &host, &path, &[]).await;
    assert!(
        first.cache_status.contains("stored"),
        "{}",
        first.cache_status
    );
    assert!(
        first.headers.get("surrogate-key").is_none(),
        "tags are not shown to clients"
    );
    assert!(
        send(&app, Method::GET, &host, &path, &[])
            .await
            .cache_status
            .contains("hit")
    );

    // A failed mutation invalidates nothing.
    let failed = send(
        &app,
        Method::PUT,
        &host,
        &format!("/admin/broken/{slug}"),
        &[],
    )
    .await;
    assert_eq!(failed.status, 500);
    assert!(
        send(&app, Method::GET, &host, &path, &[])
            .await
            .cache_status
            .contains("hit")
    );

    let saved = send(
        &app,
        Method::PUT,
        &host,
        &format!("/admin/merchants/{slug}"),
        &[],
    )
    .await;
    assert_eq!(saved.body, "saved");
    let after = send(&app, Method::GET, &host, &path, &[]).await;
    assert!(
        after.cache_status.contains("uri-miss"),
        "{}",
        after.cache_status
    );
    assert!(cache.get(&MerchantKey { slug }).await.is_none());
}

#[tokio::test]
async fn deleting_a_user_invalidates_the_user_and_the_trust_score() {
    let (cache, _server) = redis_cache().await;
    let invalidation = InvalidationLayer::new(cache.clone()).rule(
        Method::DELETE,
        "/users/{id}",
        |m: &Matched<'_>| {
            let Some(id) = m.param("id").and_then(|id| id.parse::<u64>().ok()) else {
                return Vec::new();
            };
            vec![
                Invalidate::key(UserKey(id)),
                Invalidate::key(TrustScoreKey(id)),
            ]
        },
    );
    let app = Router::new()
        .route("/users/{id}", delete(|| async { StatusCode::NO_CONTENT }))
        .layer(invalidation);
    let id = u64::from(std::process::id()) * 1000 + 7;
    cache.insert(UserKey(id), "ada".to_owned()).await;
    cache.insert(TrustScoreKey(id), 0.93).await;
    cache.insert(UserKey(id + 1), "bob".to_owned()).await;
    let gone = send(&app, Method::DELETE, &host(), &format!("/users/{id}"), &[]).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(cache.get(&UserKey(id)).await.is_none());
    assert!(cache.get(&TrustScoreKey(id)).await.is_none());
    assert!(
        cache.get(&UserKey(id + 1)).await.is_some(),
        "other users stay"
    );
}

#[tokio::test]
async fn purge_needs_authorization_and_then_removes_urls_and_tags() {
    let (cache, _server) = redis_cache().await;
    let app = merchants(&cache);
    let host = host();
    for slug in ["a", "b"] {
        send(&app, Method::GET, &host, &format!("/merchants/{slug}"), &[]).await;
    }
    let purge = Method::from_bytes(b"PURGE").unwrap();

    let refused = send(&app, purge.clone(), &host, "/merchants/a", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let wrong = send(
        &app,
        purge.clone(),
        &host,
        "/merchants/a",
        &[("authorization", "Bearer guess")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(
        send(&app, Method::GET, &host, "/merchants/a", &[])
            .await
            .cache_status
            .contains("hit")
    );

    let by_url = send(
        &app,
        purge.clone(),
        &host,
        "/merchants/a",
        &[("authorization", "Bearer ops")],
    )
    .await;
    assert_eq!(by_url.status, StatusCode::OK);
    assert!(
        send(&app, Method::GET, &host, "/merchants/a", &[])
            .await
            .cache_status
            .contains("uri-miss")
    );
    assert!(
        send(&app, Method::GET, &host, "/merchants/b", &[])
            .await
            .cache_status
            .contains("hit")
    );

    let by_tag = send(
        &app,
        purge,
        &host,
        "/",
        &[
            ("authorization", "Bearer ops"),
            ("surrogate-key", "merchant:b"),
        ],
    )
    .await;
    assert_eq!(by_tag.status, StatusCode::OK);
    assert!(by_tag.body.starts_with("purged "), "{}", by_tag.body);
    assert!(
        send(&app, Method::GET, &host, "/merchants/b", &[])
            .await
            .cache_status
            .contains("uri-miss")
    );
}

#[tokio::test]
async fn a_purge_path_takes_urls_tags_and_prefixes_as_parameters() {
    let (cache, _server) = redis_cache().await;
    let invalidation =
        InvalidationLayer::new(cache.clone()).purge(Purge::path("/_purge", |parts: &Parts| {
            parts
                .headers
                .get("x-ops-token")
                .is_some_and(|v| v == "t0k3n")
        }));
    let app = Router::new()
        .route(
            "/offers/{id}",
            get(|| async { ([("cache-control", "max-age=600")], "offer") }),
        )
        .route(
            "/home",
            get(|| async { ([("cache-control", "max-age=600")], "home") }),
        )
        .layer(invalidation)
        .layer(ResponseCacheLayer::new(cache.clone()));
    let host = host();
    for path in ["/offers/1", "/offers/2", "/home"] {
        send(&app, Method::GET, &host, path, &[]).await;
    }
    let refused = send(&app, Method::POST, &host, "/_purge?prefix=/offers/", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        send(&app, Method::GET, &host, "/offers/1", &[])
            .await
            .cache_status
            .contains("hit")
    );
    let purged = send(
        &app,
        Method::POST,
        &host,
        "/_purge?prefix=/offers/",
        &[("x-ops-token", "t0k3n")],
    )
    .await;
    assert_eq!(purged.body, "purged 2\n");
    assert!(
        send(&app, Method::GET, &host, "/offers/1", &[])
            .await
            .cache_status
            .contains("uri-miss")
    );
    assert!(
        send(&app, Method::GET, &host, "/offers/2", &[])
            .await
            .cache_status
            .contains("uri-miss")
    );
    assert!(
        send(&app, Method::GET, &host, "/home", &[])
            .await
            .cache_status
            .contains("hit")
    );
}

/// Two instances of one service behind a load balancer, each with its in-process tier in front
/// of the shared Redis, kept coherent: a mutation handled by one removes the other's copies,
/// both of typed entries and of stored HTTP responses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_on_one_instance_removes_the_other_instances_copies() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let instance = || async {
        Cache::builder()
            .far(RedisStore::connect(&url).await.unwrap())
            .near_ttl(Duration::from_secs(3600))
            .coherent(true)
            .build()
            .unwrap()
    };
    let (a, b) = (instance().await, instance().await);
    let app = |cache: Cache| {
        Router::new()
            .route(
                "/merchants/{slug}",
                get(|| async { ([("cache-control", "max-age=3600")], "profile") })
                    .put(|| async { StatusCode::NO_CONTENT }),
            )
            .layer(InvalidationLayer::new(cache.clone()).rule(
                Method::PUT,
                "/merchants/{slug}",
                |m: &Matched<'_>| {
                    vec![Invalidate::key(MerchantKey {
                        slug: m.param("slug").unwrap_or_default().to_owned(),
                    })]
                },
            ))
            .layer(ResponseCacheLayer::new(cache).name("edge"))
    };
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    // Both listen before anything is cached.
    cache_core::test_util::wait_for_coherent_caches(&url, 2, Duration::from_secs(2))
        .await
        .unwrap();

    let key = MerchantKey {
        slug: "coffee".into(),
    };
    a.insert(key.clone(), "Coffee Corner".into()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let request = |method: Method| {
        Request::builder()
            .method(method)
            .uri("http://shop.example/merchants/coffee")
            .body(Body::empty())
            .unwrap()
    };
    // b stores the page and keeps the typed entry in process.
    let first = app_b.clone().oneshot(request(Method::GET)).await.unwrap();
    assert!(
        first.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("stored")
    );
    let hit = app_b.clone().oneshot(request(Method::GET)).await.unwrap();
    assert!(
        hit.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("hit")
    );
    assert!(b.get(&key).await.is_some());
    assert!(b.get_in_process(&key).is_some());

    // The update lands on a.
    let put = app_a.clone().oneshot(request(Method::PUT)).await.unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);

    let mut gone = false;
    for _ in 0..100 {
        if b.get_in_process(&key).is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "b still holds the merchant after a's update");
    // The stored page went too: b asks its origin again.
    let after = app_b.clone().oneshot(request(Method::GET)).await.unwrap();
    let status = after.headers()["cache-status"].to_str().unwrap().to_owned();
    assert!(status.contains("fwd=uri-miss"), "{status}");
}
