//! Attacks on the shared cache, each over real TCP sockets: nothing one client or one host
//! makes the origin say may be served to others, and nothing a client sends may pin memory.

mod support;

use std::time::Duration;

use axum::body::Body;
#[cfg(feature = "write-through")]
use axum::{Router, routing::get};
use cache_core::Cache;
use cache_tower::ResponseCacheLayer;
#[cfg(feature = "write-through")]
use cache_tower::{InvalidationLayer, Purge, WriteThroughLayer};
#[cfg(feature = "write-through")]
use http::request::Parts;
use http::{HeaderMap, Method};
#[cfg(feature = "write-through")]
use http::{Request, Response};
use support::{Script, mocked, raw, respond, serve};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Sends `GET`-like requests with their headers over a new connection.
async fn send(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> support::Got {
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: example.com");
    for (n, v) in headers {
        head.push_str(&format!("\r\n{n}: {v}"));
    }
    raw(addr, &head, "", method == "HEAD").await
}

#[tokio::test]
async fn a_head_that_revalidates_never_replaces_a_stored_body() {
    let script = Script::new(|method, _, n| {
        let body = format!("body version {n}");
        let mut response = respond(
            200,
            &[
                ("cache-control", "max-age=10, stale-while-revalidate=30"),
                ("etag", &format!("\"v{n}\"")),
            ],
            &body,
        );
        if *method == Method::HEAD {
            // What a HEAD answer is: the GET's fields, no body.
            *response.body_mut() = Body::empty();
            response
                .headers_mut()
                .insert("content-length", body.len().into());
        }
        response
    });
    let (cache, mock, clock) = mocked();
    let app = script
        .router()
        .layer(ResponseCacheLayer::new(cache).clock(clock));
    let addr = serve(app).await;
    assert_eq!(
        send(addr, "GET", "/doc", &[]).await.text(),
        "body version 0"
    );

    // A HEAD with `no-cache` validates the stored GET.
    let head = send(addr, "HEAD", "/doc", &[("cache-control", "no-cache")]).await;
    assert_eq!(head.status, 200);
    assert!(
        head.cache_status().contains("fwd=request"),
        "{}",
        head.cache_status()
    );
    let after = send(addr, "GET", "/doc", &[]).await;
    assert_eq!(after.text(), "body version 1", "{}", after.cache_status());
    assert!(
        after.cache_status().contains("hit"),
        "{}",
        after.cache_status()
    );

    // A HEAD on a stale entry validates it; a HEAD inside stale-while-revalidate revalidates
    // it in the background.
    mock.advance(secs(11));
    let stale = send(addr, "HEAD", "/doc", &[]).await;
    assert!(
        stale.cache_status().contains("stale-while-revalidate"),
        "{}",
        stale.cache_status()
    );
    let mut after = send(addr, "GET", "/doc", &[]).await;
    for _ in 0..200 {
        if after.cache_status().contains("; hit; ttl=10") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        after = send(addr, "GET", "/doc", &[]).await;
    }
    assert_eq!(after.text(), "body version 2", "{}", after.cache_status());
    mock.advance(secs(45));
    let head = send(addr, "HEAD", "/doc", &[]).await;
    assert!(
        head.cache_status().contains("fwd=stale"),
        "{}",
        head.cache_status()
    );
    let after = send(addr, "GET", "/doc", &[]).await;
    assert_eq!(after.text(), "body version 3");
    // The origin was asked with GET each time: only a GET answer has the body to store.
    for n in 1..script.calls() {
        assert!(script.request(n).get("if-none-match").is_some());
    }
    assert_eq!(script.methods(), ["GET", "GET", "GET", "GET"]);
}

#[cfg(feature = "write-through")]
#[tokio::test]
async fn a_target_authority_that_disagrees_with_host_is_never_cached() {
    let (cache, _mock, clock) = mocked();
    let pages = |req: Request<Body>| async move {
        let host = req.headers()["host"].to_str().unwrap().to_owned();
        let mut response = Response::new(Body::from(format!("page of {host}")));
        response
            .headers_mut()
            .insert("cache-control", "max-age=60".parse().unwrap());
        response
            .headers_mut()
            .insert("content-location", "/notes/1".parse().unwrap());
        response
    };
    let app = Router::new()
        .route("/page", get(pages))
        .route("/notes/1", get(pages).put(pages))
        .layer(WriteThroughLayer::new(cache.clone()))
        .layer(InvalidationLayer::new(cache.clone()).purge(Purge::method(|_: &Parts| true)))
        .layer(ResponseCacheLayer::new(cache).clock(clock));
    let app = Router::new().fallback_service(app);
    let addr = serve(app).await;

    let attack = raw(
        addr,
        "GET http://victim.example/page HTTP/1.1\r\nhost: attacker.example",
        "",
        false,
    )
    .await;
    assert_eq!(attack.text(), "page of attacker.example");
    assert!(
        attack.cache_status().contains("fwd=bypass"),
        "{}",
        attack.cache_status()
    );
    let victim = raw(
        addr,
        "GET /page HTTP/1.1\r\nhost: victim.example",
        "",
        false,
    )
    .await;
    assert_eq!(victim.text(), "page of victim.example");
    assert!(
        victim.cache_status().contains("uri-miss"),
        "{}",
        victim.cache_status()
    );

    // Agreeing forms share one entry.
    let same = raw(
        addr,
        "GET http://VICTIM.example:80/page HTTP/1.1\r\nhost: victim.example",
        "",
        false,
    )
    .await;
    assert!(
        same.cache_status().contains("hit"),
        "{}",
        same.cache_status()
    );

    // Write-through and purge take no key from a disagreeing request either.
    let put = raw(
        addr,
        "PUT http://victim.example/notes/1 HTTP/1.1\r\nhost: attacker.example",
        "x",
        false,
    )
    .await;
    assert_eq!(put.status, 200);
    let read = raw(
        addr,
        "GET /notes/1 HTTP/1.1\r\nhost: victim.example",
        "",
        false,
    )
    .await;
    assert_eq!(read.text(), "page of victim.example");
    assert!(
        read.cache_status().contains("uri-miss"),
        "{}",
        read.cache_status()
    );
    let purge = raw(
        addr,
        "PURGE http://victim.example/page HTTP/1.1\r\nhost: attacker.example",
        "",
        false,
    )
    .await;
    assert_eq!(purge.status, 400);
    let still = raw(
        addr,
        "GET /page HTTP/1.1\r\nhost: victim.example",
        "",
        false,
    )
    .await;
    assert!(
        still.cache_status().contains("hit"),
        "{}",
        still.cache_status()
    );
}

#[tokio::test]
async fn answers_to_ranges_preconditions_and_errors_are_not_shared() {
    let script = Script::new(|_, req: &HeaderMap, n| {
        let blanket = [("cache-control", "max-age=3600"), ("etag", "\"v1\"")];
        if req.contains_key("range") {
            return respond(
                206,
                &[
                    ("cache-control", "max-age=3600"),
                    ("content-range", "bytes 0-1/10"),
                ],
                "pa",
            );
        }
        if req.get("if-match").is_some_and(|v| v != "\"v1\"") {
            return respond(412, &blanket, "precondition failed");
        }
        let status = match req.get("x-status") {
            Some(s) => s.to_str().unwrap().parse().unwrap(),
            None => 200,
        };
        respond(status, &blanket, &format!("answer {n}"))
    });
    let (cache, _mock, clock) = mocked();
    let app = script
        .router()
        .layer(ResponseCacheLayer::new(cache).clock(clock));
    let addr = serve(app).await;

    // A 412 to one client's If-Match and a 206 to one client's Range are theirs alone.
    let refused = send(addr, "GET", "/a", &[("if-match", "\"other\"")]).await;
    assert_eq!(refused.status, 412);
    let partial = send(addr, "GET", "/a", &[("range", "bytes=0-1")]).await;
    assert_eq!(partial.status, 206);
    let plain = send(addr, "GET", "/a", &[]).await;
    assert_eq!(plain.status, 200, "{}", plain.cache_status());
    assert!(
        plain.cache_status().contains("uri-miss"),
        "{}",
        plain.cache_status()
    );

    // Stored: a failing If-Match goes to the origin; a holding one is answered from storage.
    let refused = send(addr, "GET", "/a", &[("if-match", "\"other\"")]).await;
    assert_eq!(refused.status, 412);
    assert!(
        refused.cache_status().contains("detail=precondition"),
        "{}",
        refused.cache_status()
    );
    let held = send(addr, "GET", "/a", &[("if-match", "\"v1\"")]).await;
    assert_eq!(held.status, 200);
    assert!(
        held.cache_status().contains("hit"),
        "{}",
        held.cache_status()
    );
    let again = send(addr, "GET", "/a", &[]).await;
    assert_eq!(again.text(), plain.text(), "the stored answer is untouched");

    // Errors that depend on the client or the moment are never stored, whatever max-age says.
    for status in ["400", "401", "403", "429", "500", "503"] {
        let path = format!("/error-{status}");
        let first = send(addr, "GET", &path, &[("x-status", status)]).await;
        assert_eq!(first.status.as_str(), status);
        assert!(
            !first.cache_status().contains("stored"),
            "{status}: {}",
            first.cache_status()
        );
        let second = send(addr, "GET", &path, &[]).await;
        assert_eq!(second.status, 200, "{status} was served to another client");
    }
    // A 404 is the same for everyone, and is stored.
    let missing = send(addr, "GET", "/gone", &[("x-status", "404")]).await;
    assert!(
        missing.cache_status().contains("stored"),
        "{}",
        missing.cache_status()
    );
    assert_eq!(send(addr, "GET", "/gone", &[]).await.status, 404);
}

#[tokio::test]
async fn in_private_mode_credentials_always_key_the_response() {
    let script = Script::new(|_, req: &HeaderMap, _| {
        let who = req
            .get("authorization")
            .or_else(|| req.get("cookie"))
            .map_or("anonymous".to_owned(), |v| v.to_str().unwrap().to_owned());
        // The origin forgot `private`.
        respond(
            200,
            &[("cache-control", "max-age=60")],
            &format!("account of {who}"),
        )
    });
    let (cache, _mock, clock) = mocked();
    let app = script.router().layer(
        ResponseCacheLayer::new(cache)
            .private_cache(true)
            .clock(clock),
    );
    let addr = serve(app).await;
    let alice = send(
        addr,
        "GET",
        "/account",
        &[("authorization", "Bearer alice")],
    )
    .await;
    assert_eq!(alice.text(), "account of Bearer alice");
    let bob = send(addr, "GET", "/account", &[("authorization", "Bearer bob")]).await;
    assert_eq!(bob.text(), "account of Bearer bob");
    let carol = send(addr, "GET", "/account", &[("cookie", "session=carol")]).await;
    assert_eq!(carol.text(), "account of session=carol");
    let nobody = send(addr, "GET", "/account", &[]).await;
    assert_eq!(nobody.text(), "account of anonymous");
    let alice_again = send(
        addr,
        "GET",
        "/account",
        &[("authorization", "Bearer alice")],
    )
    .await;
    assert_eq!(alice_again.text(), "account of Bearer alice");
    assert!(
        alice_again.cache_status().contains("hit"),
        "{}",
        alice_again.cache_status()
    );
}

#[cfg(feature = "write-through")]
#[tokio::test]
async fn write_through_follows_the_sharing_rules_and_the_layers_settings() {
    let (cache, mock, clock) = mocked();
    let put = |req: Request<Body>| async move {
        let mode = req
            .headers()
            .get("x-mode")
            .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
        let path = req.uri().path().to_owned();
        let mut headers = vec![("content-location", path.clone())];
        match mode.as_str() {
            "cookie" => headers.push(("set-cookie", "session=secret".to_owned())),
            "private" => headers.push(("cache-control", "private, max-age=3600".to_owned())),
            _ => headers.push(("cache-control", "max-age=3600".to_owned())),
        }
        let mut response = Response::new(Body::from(format!("written {mode}")));
        for (n, v) in headers {
            response.headers_mut().append(n, v.parse().unwrap());
        }
        response
    };
    let read = || async { ([("cache-control", "max-age=3600")], "from the origin") };
    let app = Router::new()
        .route("/n/{id}", get(read).put(put))
        .layer(WriteThroughLayer::new(cache.clone()))
        .layer(
            ResponseCacheLayer::new(cache)
                .max_ttl(secs(10))
                .clock(clock),
        );
    let addr = serve(app).await;
    let get_of = |path: &'static str| send(addr, "GET", path, &[]);

    // Not stored: a response that sets a cookie, a private one, one to an authorized request.
    send(addr, "PUT", "/n/1", &[("x-mode", "cookie")]).await;
    assert_eq!(get_of("/n/1").await.text(), "from the origin");
    send(addr, "PUT", "/n/2", &[("x-mode", "private")]).await;
    assert_eq!(get_of("/n/2").await.text(), "from the origin");
    send(addr, "PUT", "/n/3", &[("authorization", "Bearer alice")]).await;
    assert_eq!(get_of("/n/3").await.text(), "from the origin");

    // Stored, with the layer's maximum TTL on the layer's clock.
    send(addr, "PUT", "/n/4", &[]).await;
    let hit = get_of("/n/4").await;
    assert_eq!(hit.text(), "written ");
    assert!(hit.cache_status().contains("hit"), "{}", hit.cache_status());
    mock.advance(secs(11));
    let expired = get_of("/n/4").await;
    assert_eq!(
        expired.text(),
        "from the origin",
        "{}",
        expired.cache_status()
    );
}

#[tokio::test]
async fn memory_is_bounded_and_long_keys_are_refused() {
    let body: &'static str = Box::leak("x".repeat(16 * 1024).into_boxed_str());
    let script = Script::fixed(&[("cache-control", "max-age=3600")], body);
    let cache = Cache::new(1_000_000);
    let app = script
        .router()
        .layer(ResponseCacheLayer::new(cache.clone()).max_memory(256 * 1024));
    let addr = serve(app).await;
    // Cache-busting query strings: 200 distinct URLs of 16 KiB each, 3.2 MiB in all.
    for i in 0..200 {
        let got = send(addr, "GET", &format!("/big?bust={i}"), &[]).await;
        assert_eq!(got.body.len(), body.len());
    }
    assert!(
        cache.weighted_size() <= 256 * 1024 + 32 * 1024,
        "{} bytes kept against a 256 KiB budget",
        cache.weighted_size()
    );
    assert!(cache.entry_count() < 20, "{} entries", cache.entry_count());

    let long = format!("/big?{}", "q".repeat(9000));
    let first = send(addr, "GET", &long, &[]).await;
    assert!(
        first.cache_status().contains("fwd=bypass"),
        "{}",
        first.cache_status()
    );
    let again = send(addr, "GET", &long, &[]).await;
    assert!(
        again.cache_status().contains("fwd=bypass"),
        "{}",
        again.cache_status()
    );
}

#[tokio::test]
async fn the_default_budget_holds_without_configuration() {
    let body: &'static str = Box::leak("y".repeat(512 * 1024).into_boxed_str());
    let script = Script::fixed(&[("cache-control", "max-age=3600")], body);
    let cache = Cache::new(1_000_000);
    let service = script
        .router()
        .layer(ResponseCacheLayer::new(cache.clone()));
    // In process: 200 bodies of 512 KiB, 100 MiB in all, against the default 64 MiB.
    for i in 0..200 {
        let got = support::get(&service, &format!("/big?bust={i}")).await;
        assert_eq!(got.body.len(), body.len());
    }
    // 64 MiB hold at most 127 bodies of 512 KiB; without a budget all 200 would stay.
    let kept = cache.entry_count();
    assert!((60..=127).contains(&kept), "{kept} entries of 512 KiB");
    assert!(
        cache.weighted_size() <= 64 * 1024 * 1024 + 1024 * 1024,
        "{} bytes kept",
        cache.weighted_size()
    );
}
