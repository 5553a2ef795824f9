//! The response cache's behaviour through an axum `Router` with `.layer(...)`, on a mocked clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use http::request::Parts;
use support::{Script, cached_app, get, respond, send};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test]
async fn a_fresh_response_is_served_from_storage_with_its_age() {
    let origin = Script::fixed(
        &[
            ("cache-control", "max-age=60"),
            ("content-type", "text/plain"),
        ],
        "hello",
    );
    let (app, clock) = cached_app(&origin, |l| l);
    let first = get(&app, "/a").await;
    assert_eq!(
        first.cache_status(),
        "cache-tower; fwd=uri-miss; fwd-status=200; stored"
    );
    assert_eq!(first.text(), "hello");
    clock.advance(secs(10));
    let second = get(&app, "/a").await;
    assert_eq!(second.text(), "hello");
    assert_eq!(second.age(), Some(10));
    assert_eq!(second.cache_status(), "cache-tower; hit; ttl=50");
    assert_eq!(second.headers["content-type"], "text/plain");
    assert_eq!(origin.calls(), 1);
    // Another URI, and another query, are other entries.
    get(&app, "/a?x=1").await;
    assert_eq!(origin.calls(), 2);
}

#[tokio::test]
async fn head_is_answered_from_a_stored_get() {
    let origin = Script::fixed(&[("cache-control", "max-age=60")], "12345");
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/h").await;
    let head = send(&app, Method::HEAD, "/h", &[]).await;
    assert!(head.body.is_empty());
    assert_eq!(head.headers["content-length"], "5");
    assert!(head.cache_status().contains("hit"));
    assert_eq!(origin.calls(), 1);
}

#[tokio::test]
async fn upstream_age_counts_and_is_replaced() {
    let origin = Script::fixed(&[("cache-control", "max-age=60"), ("age", "50")], "x");
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    clock.advance(secs(5));
    let hit = get(&app, "/").await;
    assert_eq!(hit.age(), Some(55));
    assert_eq!(hit.headers.get_all("age").iter().count(), 1);
    clock.advance(secs(5));
    let expired = get(&app, "/").await;
    assert!(
        expired.cache_status().contains("fwd="),
        "{}",
        expired.cache_status()
    );
    assert_eq!(origin.calls(), 2);
}

#[tokio::test]
async fn expires_minus_date_gives_the_lifetime_and_bad_values_are_stale() {
    let now = std::time::SystemTime::now();
    let date = httpdate::fmt_http_date(now);
    let expires = httpdate::fmt_http_date(now + secs(30));
    let origin =
        Script::new(move |_, _, _| respond(200, &[("date", &date), ("expires", &expires)], "e"));
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    clock.advance(secs(20));
    assert!(get(&app, "/").await.cache_status().contains("hit"));
    clock.advance(secs(15));
    // Expired, it goes to the origin again (it is kept only to answer while the origin
    // cannot be reached).
    assert!(get(&app, "/").await.cache_status().contains("fwd=stale"));
    assert_eq!(origin.calls(), 2);

    for bad in ["max-age=abc", "max-age=10, max-age=20"] {
        let origin = Script::fixed(&[("cache-control", bad), ("etag", "\"v\"")], "b");
        let (app, _clock) = cached_app(&origin, |l| l);
        get(&app, "/").await;
        let again = get(&app, "/").await;
        assert!(
            again.cache_status().contains("fwd=stale"),
            "{bad}: {}",
            again.cache_status()
        );
        assert_eq!(origin.request(1)["if-none-match"], "\"v\"", "{bad}");
    }
}

#[tokio::test]
async fn what_must_not_be_stored_is_not() {
    type Headers = &'static [(&'static str, &'static str)];
    let cases: &[(Headers, Headers)] = &[
        (&[("cache-control", "no-store, max-age=60")], &[]),
        (&[("cache-control", "private, max-age=60")], &[]),
        (
            &[("cache-control", "max-age=60"), ("set-cookie", "sid=1")],
            &[],
        ),
        (&[("cache-control", "max-age=60"), ("vary", "*")], &[]),
        (
            &[("cache-control", "max-age=60")],
            &[("authorization", "Bearer a")],
        ),
        (
            &[("cache-control", "max-age=60")],
            &[("cache-control", "no-store")],
        ),
    ];
    for (response, request) in cases {
        let owned: Vec<(&'static str, &'static str)> =
            response.iter().map(|(n, v)| (leak(n), leak(v))).collect();
        let origin = Script::new(move |_, _, _| respond(200, &owned, "body"));
        let (app, _clock) = cached_app(&origin, |l| l);
        let first = send(&app, Method::GET, "/", request).await;
        assert!(
            !first.cache_status().contains("stored"),
            "{response:?} {request:?}"
        );
        send(&app, Method::GET, "/", request).await;
        assert_eq!(origin.calls(), 2, "{response:?} {request:?}");
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[tokio::test]
async fn authorized_requests_share_only_public_responses() {
    let origin = Script::new(|_, headers, _| {
        let who = headers["authorization"].to_str().unwrap().to_owned();
        respond(200, &[("cache-control", "public, max-age=60")], &who)
    });
    let (app, _clock) = cached_app(&origin, |l| l);
    send(&app, Method::GET, "/p", &[("authorization", "alice")]).await;
    let bob = send(&app, Method::GET, "/p", &[("authorization", "bob")]).await;
    // The origin said public: the one stored copy answers both.
    assert_eq!(bob.text(), "alice");

    let origin = Script::new(|_, headers, _| {
        let who = headers
            .get("authorization")
            .map_or("anonymous", |v| v.to_str().unwrap())
            .to_owned();
        respond(200, &[("cache-control", "private, max-age=60")], &who)
    });
    let (app, _clock) = cached_app(&origin, |l| l.private_cache(true));
    assert_eq!(
        send(&app, Method::GET, "/p", &[("authorization", "alice")])
            .await
            .text(),
        "alice"
    );
    assert_eq!(
        send(&app, Method::GET, "/p", &[("authorization", "bob")])
            .await
            .text(),
        "bob"
    );
    let again = send(&app, Method::GET, "/p", &[("authorization", "alice")]).await;
    assert_eq!(again.text(), "alice");
    assert!(again.cache_status().contains("hit"));
    assert!(
        send(&app, Method::GET, "/p", &[])
            .await
            .cache_status()
            .contains("fwd=")
    );
    assert_eq!(origin.calls(), 3);
}

#[tokio::test]
async fn set_cookie_is_never_replayed() {
    let origin = Script::fixed(
        &[("cache-control", "max-age=60"), ("set-cookie", "sid=alice")],
        "page",
    );
    let (app, _clock) = cached_app(&origin, |l| l.store_set_cookie(true));
    let first = get(&app, "/").await;
    assert_eq!(first.headers["set-cookie"], "sid=alice");
    let second = get(&app, "/").await;
    assert!(second.cache_status().contains("hit"));
    assert!(second.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn connection_fields_are_not_stored() {
    let origin = Script::fixed(
        &[
            ("cache-control", "max-age=60"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("x-end", "2"),
        ],
        "c",
    );
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    let hit = get(&app, "/").await;
    assert!(hit.headers.get("x-hop").is_none());
    assert_eq!(hit.headers["x-end"], "2");
}

#[tokio::test]
async fn vary_keeps_variants_apart() {
    let origin = Script::new(|_, headers, _| {
        let enc = headers
            .get("accept-encoding")
            .map_or("none".to_owned(), |v| v.to_str().unwrap().to_owned());
        respond(
            200,
            &[("cache-control", "max-age=60"), ("vary", "Accept-Encoding")],
            &enc,
        )
    });
    let (app, _clock) = cached_app(&origin, |l| l);
    assert_eq!(
        send(&app, Method::GET, "/v", &[("accept-encoding", "gzip")])
            .await
            .text(),
        "gzip"
    );
    let br = send(&app, Method::GET, "/v", &[("accept-encoding", "br")]).await;
    assert_eq!(br.text(), "br");
    assert!(br.cache_status().contains("fwd=vary-miss"));
    let gzip = send(&app, Method::GET, "/v", &[("accept-encoding", " gzip ")]).await;
    assert_eq!(gzip.text(), "gzip");
    assert!(gzip.cache_status().contains("hit"));
    assert_eq!(send(&app, Method::GET, "/v", &[]).await.text(), "none");
    assert_eq!(origin.calls(), 3);
}

#[tokio::test]
async fn stale_responses_are_validated_and_304_freshens_them() {
    let origin = Script::new(|_, headers, n| match (n, headers.get("if-none-match")) {
        (0, _) => respond(
            200,
            &[
                ("cache-control", "max-age=10"),
                ("etag", "\"v1\""),
                ("x-version", "1"),
            ],
            "body-1",
        ),
        (_, Some(tag)) if tag == "\"v1\"" => respond(
            304,
            &[("cache-control", "max-age=20"), ("x-version", "2")],
            "",
        ),
        _ => respond(500, &[], "unexpected"),
    });
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/r").await;
    clock.advance(secs(11));
    let validated = get(&app, "/r").await;
    assert_eq!(validated.text(), "body-1");
    assert_eq!(validated.headers["x-version"], "2");
    assert_eq!(
        validated.cache_status(),
        "cache-tower; fwd=stale; fwd-status=304; ttl=20; stored"
    );
    assert_eq!(origin.request(1)["if-none-match"], "\"v1\"");
    clock.advance(secs(15));
    assert!(get(&app, "/r").await.cache_status().contains("hit"));
    assert_eq!(origin.calls(), 2);
}

#[tokio::test]
async fn a_304_that_matches_nothing_updates_nothing() {
    let origin = Script::new(|_, _, n| match n {
        0 => respond(
            200,
            &[("cache-control", "max-age=1"), ("etag", "\"v1\"")],
            "body-1",
        ),
        _ => respond(
            304,
            &[("cache-control", "max-age=100"), ("etag", "\"other\"")],
            "",
        ),
    });
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    clock.advance(secs(2));
    let odd = get(&app, "/").await;
    assert_eq!(odd.status, 304);
    assert!(odd.cache_status().contains("unmatched-304"));
    // The stored response was not freshened: the next request validates again.
    assert!(get(&app, "/").await.cache_status().contains("fwd=stale"));
}

#[tokio::test]
async fn client_conditionals_get_304_from_storage() {
    let lm = "Sun, 06 Nov 1994 08:49:37 GMT";
    let origin = Script::new(move |_, _, _| {
        respond(
            200,
            &[
                ("cache-control", "max-age=60"),
                ("etag", "\"abc\""),
                ("last-modified", lm),
            ],
            "full",
        )
    });
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/c").await;
    let inm = send(&app, Method::GET, "/c", &[("if-none-match", "W/\"abc\"")]).await;
    assert_eq!(inm.status, 304);
    assert!(inm.body.is_empty());
    assert_eq!(inm.headers["etag"], "\"abc\"");
    let other = send(
        &app,
        Method::GET,
        "/c",
        &[("if-none-match", "\"zzz\""), ("if-modified-since", lm)],
    )
    .await;
    assert_eq!(
        other.status, 200,
        "If-None-Match wins over If-Modified-Since"
    );
    let ims = send(&app, Method::GET, "/c", &[("if-modified-since", lm)]).await;
    assert_eq!(ims.status, 304);
    assert_eq!(origin.calls(), 1);
}

#[tokio::test]
async fn stale_while_revalidate_serves_stale_and_revalidates_once() {
    let origin = Script::new(|_, _, n| {
        respond(
            200,
            &[("cache-control", "max-age=10, stale-while-revalidate=30")],
            &format!("v{n}"),
        )
    });
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    clock.advance(secs(15));
    for _ in 0..5 {
        let stale = get(&app, "/").await;
        assert_eq!(stale.text(), "v0");
        assert!(stale.cache_status().contains("stale-while-revalidate"));
    }
    // The background revalidation lands; then the new response is served fresh.
    for _ in 0..100 {
        if get(&app, "/").await.text() == "v1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fresh = get(&app, "/").await;
    assert_eq!(fresh.text(), "v1");
    assert!(fresh.cache_status().contains("hit"));
    assert_eq!(origin.calls(), 2);
    // Outside the window nothing stale is served.
    clock.advance(secs(60));
    let late = get(&app, "/").await;
    assert_eq!(late.text(), "v2");
    assert!(!late.cache_status().contains("hit"));
}

#[tokio::test]
async fn stale_if_error_covers_server_errors_inside_its_window_only() {
    let origin = Script::new(|_, _, n| match n {
        0 => respond(
            200,
            &[("cache-control", "max-age=10, stale-if-error=20")],
            "good",
        ),
        _ => respond(503, &[], "down"),
    });
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    clock.advance(secs(15));
    let saved = get(&app, "/").await;
    assert_eq!(saved.status, 200);
    assert_eq!(saved.text(), "good");
    assert!(
        saved.cache_status().contains("fwd-status=503"),
        "{}",
        saved.cache_status()
    );
    clock.advance(secs(20));
    let late = get(&app, "/").await;
    assert_eq!(late.status, 503);
}

#[tokio::test]
async fn revalidation_directives_forbid_stale_answers() {
    for cc in [
        "max-age=10, stale-if-error=60, stale-while-revalidate=60, must-revalidate",
        "max-age=10, stale-if-error=60, stale-while-revalidate=60, proxy-revalidate",
        "s-maxage=10, stale-if-error=60, stale-while-revalidate=60",
    ] {
        let origin = Script::new(move |_, _, n| match n {
            0 => respond(200, &[("cache-control", cc)], "good"),
            _ => respond(503, &[], "down"),
        });
        let (app, clock) = cached_app(&origin, |l| l);
        get(&app, "/").await;
        clock.advance(secs(11));
        let after = get(&app, "/").await;
        assert_eq!(after.status, 503, "{cc}");
        let accepting = send(
            &app,
            Method::GET,
            "/",
            &[("cache-control", "max-stale=100")],
        )
        .await;
        assert_eq!(
            accepting.status, 503,
            "{cc}: max-stale yields to must-revalidate"
        );
    }
}

#[tokio::test]
async fn no_cache_responses_are_validated_every_time() {
    let origin = Script::new(|_, headers, _| match headers.get("if-none-match") {
        Some(_) => respond(304, &[], ""),
        None => respond(
            200,
            &[
                ("cache-control", "no-cache, max-age=600"),
                ("etag", "\"n\""),
            ],
            "nc",
        ),
    });
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    for i in 1..4 {
        let again = get(&app, "/").await;
        assert_eq!(again.text(), "nc");
        assert!(again.cache_status().contains("fwd-status=304"));
        assert_eq!(origin.calls(), i + 1);
    }
}

#[tokio::test]
async fn request_directives_are_honoured_or_ignored() {
    let origin = Script::new(|_, _, n| {
        respond(
            200,
            &[("cache-control", "max-age=100"), ("etag", "\"e\"")],
            &format!("v{n}"),
        )
    });
    let (app, clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    clock.advance(secs(30));
    let young = send(&app, Method::GET, "/", &[("cache-control", "max-age=10")]).await;
    assert_eq!(young.text(), "v1");
    assert!(young.cache_status().contains("fwd=stale"));
    clock.advance(secs(80));
    let fresh_enough = send(&app, Method::GET, "/", &[("cache-control", "min-fresh=50")]).await;
    assert_eq!(fresh_enough.text(), "v2");
    clock.advance(secs(105));
    let tolerant = send(&app, Method::GET, "/", &[("cache-control", "max-stale=10")]).await;
    assert_eq!(tolerant.text(), "v2");
    assert!(tolerant.cache_status().contains("ttl=-5"));
    let reload = send(&app, Method::GET, "/", &[("cache-control", "no-cache")]).await;
    assert_eq!(reload.text(), "v3");
    assert!(reload.cache_status().contains("fwd=request"));
    let offline = send(
        &app,
        Method::GET,
        "/other",
        &[("cache-control", "only-if-cached")],
    )
    .await;
    assert_eq!(offline.status, 504);
    assert_eq!(origin.calls(), 4);

    let (app, _clock) = cached_app(&origin, |l| l.ignore_request_directives(true));
    send(&app, Method::GET, "/", &[]).await;
    let ignored = send(&app, Method::GET, "/", &[("cache-control", "no-cache")]).await;
    assert!(ignored.cache_status().contains("hit"));
}

#[tokio::test]
async fn cdn_cache_control_takes_precedence() {
    let origin = Script::fixed(
        &[
            ("cache-control", "no-store"),
            ("cdn-cache-control", "max-age=60"),
        ],
        "cdn",
    );
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    assert!(get(&app, "/").await.cache_status().contains("hit"));
    // An invalid targeted field is ignored and Cache-Control rules.
    let origin = Script::fixed(
        &[
            ("cache-control", "no-store"),
            ("cdn-cache-control", "Max-Age=60"),
        ],
        "cdn",
    );
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    assert!(!get(&app, "/").await.cache_status().contains("hit"));
    // A configured field name.
    let origin = Script::fixed(
        &[
            ("cache-control", "no-store"),
            ("edge-control", "max-age=60"),
        ],
        "e",
    );
    let (app, _clock) = cached_app(&origin, |l| {
        l.targeted_fields([http::HeaderName::from_static("edge-control")])
    });
    get(&app, "/").await;
    assert!(get(&app, "/").await.cache_status().contains("hit"));
}

#[tokio::test]
async fn unsafe_methods_invalidate_the_target_and_same_origin_locations() {
    let origin = Script::new(|method, _, n| {
        if *method == Method::POST {
            return respond(
                201,
                &[
                    ("location", "/items/2"),
                    ("content-location", "http://elsewhere.example/items/3"),
                ],
                "",
            );
        }
        respond(200, &[("cache-control", "max-age=60")], &format!("v{n}"))
    });
    let (app, _clock) = cached_app(&origin, |l| l);
    for path in ["/items", "/items/2", "/items/3"] {
        get(&app, path).await;
    }
    let post = send(&app, Method::POST, "/items", &[]).await;
    assert!(post.cache_status().contains("fwd=method"));
    assert!(
        get(&app, "/items")
            .await
            .cache_status()
            .contains("uri-miss")
    );
    assert!(
        get(&app, "/items/2")
            .await
            .cache_status()
            .contains("uri-miss")
    );
    assert!(get(&app, "/items/3").await.cache_status().contains("hit"));

    // An error response invalidates nothing.
    origin.set(|method, _, _| match *method {
        Method::DELETE => respond(500, &[], ""),
        _ => respond(200, &[("cache-control", "max-age=60")], "x"),
    });
    send(&app, Method::DELETE, "/items", &[]).await;
    assert!(get(&app, "/items").await.cache_status().contains("hit"));
}

#[tokio::test]
async fn concurrent_misses_send_one_request() {
    let origin = Script::fixed(&[("cache-control", "max-age=60")], "one");
    origin.delay(Duration::from_millis(100));
    let (app, _clock) = cached_app(&origin, |l| l);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, "/hot").await })
        })
        .collect();
    let mut collapsed = 0;
    for t in tasks {
        let got = t.await.unwrap();
        assert_eq!(got.text(), "one");
        collapsed += usize::from(got.cache_status().contains("collapsed"));
    }
    assert_eq!(origin.calls(), 1);
    assert_eq!(collapsed, 49);
}

#[tokio::test]
async fn collapsed_waiters_go_to_the_origin_when_nothing_was_stored() {
    let origin =
        Script::new(|_, _, n| respond(200, &[("cache-control", "no-store")], &format!("v{n}")));
    origin.delay(Duration::from_millis(50));
    let (app, _clock) = cached_app(&origin, |l| l);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, "/private").await })
        })
        .collect();
    let mut bodies = std::collections::HashSet::new();
    for t in tasks {
        bodies.insert(t.await.unwrap().text().to_owned());
    }
    assert_eq!(origin.calls(), 10);
    assert_eq!(bodies.len(), 10, "every caller got its own response");
    // The first wave queued behind its leader; now the URI is known to be uncacheable
    // (hit-for-pass) and the next wave goes to the origin side by side.
    assert_eq!(origin.take_most_in_flight(), 9);
    let wave: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, "/private").await })
        })
        .collect();
    for t in wave {
        t.await.unwrap();
    }
    assert_eq!(origin.take_most_in_flight(), 10);
}

#[tokio::test]
async fn large_bodies_stream_through_unstored() {
    let big = "x".repeat(10_000);
    let body: &'static str = leak(&big);
    let origin = Script::fixed(&[("cache-control", "max-age=60")], body);
    let (app, _clock) = cached_app(&origin, |l| l.max_body_size(1000));
    let first = get(&app, "/big").await;
    assert_eq!(first.body.len(), 10_000);
    assert!(first.cache_status().contains("too-large"));
    assert_eq!(get(&app, "/big").await.body.len(), 10_000);
    assert_eq!(origin.calls(), 2);
}

#[tokio::test]
async fn a_custom_key_can_bypass_or_merge_requests() {
    let origin =
        Script::new(|_, _, n| respond(200, &[("cache-control", "max-age=60")], &format!("v{n}")));
    let (app, _clock) = cached_app(&origin, |l| {
        l.cache_key(|parts: &Parts| {
            let path = parts.uri.path();
            (!path.starts_with("/admin")).then(|| path.to_owned())
        })
    });
    get(&app, "/page?utm=1").await;
    assert_eq!(get(&app, "/page?utm=2").await.text(), "v0");
    let admin = get(&app, "/admin").await;
    assert!(admin.cache_status().contains("fwd=bypass"));
    get(&app, "/admin").await;
    assert_eq!(origin.calls(), 3);
    let _ = Arc::strong_count(&origin);
}

#[tokio::test]
async fn a_head_response_is_stored_for_head_requests() {
    let origin = Script::new(|method, _, n| {
        assert_eq!(*method, Method::HEAD);
        respond(
            200,
            &[("cache-control", "max-age=60"), ("x-call", &n.to_string())],
            "",
        )
    });
    let (app, _clock) = cached_app(&origin, |l| l);
    let first = send(&app, Method::HEAD, "/only-head", &[]).await;
    assert!(
        first.cache_status().contains("stored"),
        "{}",
        first.cache_status()
    );
    let second = send(&app, Method::HEAD, "/only-head", &[]).await;
    assert!(second.cache_status().contains("hit"));
    assert_eq!(second.headers["x-call"], "0");
    assert_eq!(origin.calls(), 1);
}

#[tokio::test]
async fn heuristic_freshness_is_off_by_default_and_a_fraction_when_on() {
    let now = std::time::SystemTime::now();
    let date = httpdate::fmt_http_date(now);
    let modified = httpdate::fmt_http_date(now - secs(1000));
    let origin = Script::new(move |_, _, _| {
        respond(200, &[("date", &date), ("last-modified", &modified)], "h")
    });
    // Off: a response with only Last-Modified is kept for validation, never reused unasked.
    let (app, _clock) = cached_app(&origin, |l| l);
    get(&app, "/").await;
    assert!(get(&app, "/").await.cache_status().contains("fwd=stale"));
    // On: a tenth of the 1000 s since Last-Modified, capped at 60 s.
    let (app, clock) = cached_app(&origin, |l| l.heuristic_freshness(0.1, secs(60)));
    get(&app, "/").await;
    clock.advance(secs(59));
    assert!(get(&app, "/").await.cache_status().contains("hit"));
    clock.advance(secs(2));
    assert!(!get(&app, "/").await.cache_status().contains("hit"));
}
