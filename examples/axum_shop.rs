//! A coupon platform's merchant pages as an axum app with every layer, from the outside in:
//! metrics -> rate limit -> response cache -> invalidation / write-through -> handlers.
//!
//! ```text
//! cargo run -p examples --example axum_shop -- 127.0.0.1:3000                         # in memory
//! cargo run -p examples --example axum_shop -- 127.0.0.1:3000 redis://127.0.0.1:6379  # on Redis
//! curl -i localhost:3000/merchants/amazon          # miss, then hits (Cache-Status)
//! curl -i -X PUT localhost:3000/admin/merchants/amazon -d '{"name":"Amazon","cashback_percent":5.0}'
//! curl -i -X PURGE -H 'authorization: Bearer ops' -H 'surrogate-key: merchants' localhost:3000/
//! curl -s localhost:3000/metrics
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use cache_core::codec::Json;
use cache_core::store::redis::RedisStore;
use cache_core::{Cache, CacheKey};
use cache_tower::route::Matched;
use cache_tower::{
    Invalidate, InvalidationLayer, MetricsLayer, Purge, RateLimitLayer, ResponseCacheLayer, Write,
    WriteThroughLayer,
};
use http::Method;
use http::request::Parts;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Merchant {
    name: String,
    cashback_percent: f64,
}

/// The typed entry other services read (`merchant:<slug>`, one hour).
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "merchant", ttl = "1h", value = Merchant, codec = Json, key = "merchant:{slug}")]
struct MerchantKey {
    slug: String,
}

type Db = Arc<Mutex<HashMap<String, Merchant>>>;

async fn show(State(db): State<Db>, Path(slug): Path<String>) -> Result<String, StatusCode> {
    let merchant = db
        .lock()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .get(&slug)
        .cloned();
    let merchant = merchant.ok_or(StatusCode::NOT_FOUND)?;
    serde_json::to_string(&merchant).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn update(
    State(db): State<Db>,
    Path(slug): Path<String>,
    body: String,
) -> Result<String, StatusCode> {
    let merchant: Merchant =
        serde_json::from_str(&body).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?;
    db.lock()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .insert(slug, merchant);
    Ok(body)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let builder = Cache::builder().max_capacity(100_000);
    let cache = match args.next() {
        Some(url) => match RedisStore::connect(&url).await {
            Ok(store) => builder.far(store).build(),
            Err(e) => {
                eprintln!("cannot use Redis at {url}: {e}");
                std::process::exit(1);
            }
        },
        None => builder.build(),
    };
    let Ok(cache) = cache else {
        eprintln!("cannot build the cache");
        std::process::exit(1);
    };
    let db: Db = Arc::default();
    if let Ok(mut db) = db.lock() {
        db.insert(
            "amazon".into(),
            Merchant {
                name: "Amazon".into(),
                cashback_percent: 4.5,
            },
        );
    }
    let prometheus = examples::metrics_app::prometheus();
    let metrics = MetricsLayer::new().route_label(|parts: &Parts| {
        parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
    });

    let app = Router::new()
        .route(
            "/merchants/{slug}",
            get(|db, slug| async move {
                let body = show(db, slug).await?;
                Ok::<_, StatusCode>((
                    [
                        ("cache-control", "public, max-age=3600"),
                        ("surrogate-key", "merchants"),
                    ],
                    body,
                ))
            }),
        )
        .route("/admin/merchants/{slug}", axum::routing::put(update))
        .route("/health", get(|| async { "ok" }))
        .with_state(db)
        // Innermost: a successful update invalidates the typed entry and writes the new page.
        .layer(
            InvalidationLayer::new(cache.clone())
                .rule(Method::PUT, "/admin/merchants/{slug}", |m: &Matched<'_>| {
                    let slug = m.param("slug").unwrap_or_default().to_owned();
                    vec![Invalidate::key(MerchantKey { slug })]
                })
                .purge(Purge::method(|parts: &Parts| {
                    parts
                        .headers
                        .get("authorization")
                        .is_some_and(|v| v == "Bearer ops")
                })),
        )
        .layer(
            WriteThroughLayer::new(cache.clone())
                .map(Method::PUT, "/admin/merchants/{slug}", |m: &Matched<'_>| {
                    Some(format!("/merchants/{}", m.param("slug")?))
                })
                .typed(
                    Method::PUT,
                    "/admin/merchants/{slug}",
                    |m: &Matched<'_>, body: &Bytes| {
                        let slug = m.param("slug").unwrap_or_default().to_owned();
                        serde_json::from_slice::<Merchant>(body)
                            .map(|merchant| vec![Write::new(MerchantKey { slug }, merchant)])
                            .unwrap_or_default()
                    },
                ),
        )
        .layer(ResponseCacheLayer::new(cache.clone()).name("shop"))
        // 100 requests a minute per client IP, shared by every instance.
        .layer(
            RateLimitLayer::new(
                cache.clone(),
                100,
                Duration::from_secs(60),
                |parts: &Parts| {
                    let forwarded = parts.headers.get("x-forwarded-for")?.to_str().ok()?;
                    forwarded.split(',').next().map(|ip| ip.trim().to_owned())
                },
            )
            .exempt("/health"),
        )
        .layer(metrics);
    // `/metrics` outside the layers (neither cached nor counted); everything else, including
    // requests no route matches such as `PURGE /`, goes through them.
    let app = Router::new()
        .route("/metrics", get(move || async move { prometheus.render() }))
        .fallback_service(app);

    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("shop on http://{addr}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("server error: {e}");
    }
}
