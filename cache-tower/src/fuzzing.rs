//! Entry points for the fuzz targets of `fuzz/`, compiled only with `--cfg fuzzing` (as
//! `cargo fuzz` builds): each feeds arbitrary bytes to one parser or rule and checks the
//! property it must keep, besides never panicking.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::response_cache::rules::directives::Directives;
use crate::response_cache::rules::freshness::{self, Freshness, Reuse, Rules};

/// Splits `data` at `0xFF` bytes (never part of a valid field value) into values.
fn values(data: &[u8]) -> impl Iterator<Item = HeaderValue> + '_ {
    data.split(|&b| b == 0xFF)
        .filter_map(|v| HeaderValue::from_bytes(v).ok())
}

/// `Cache-Control` and targeted fields: parsing any value never panics, and what is parsed
/// prints to text that parses to the same directives.
pub fn cache_control(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for value in values(data) {
        headers.append(http::header::CACHE_CONTROL, value.clone());
        headers.append("cdn-cache-control", value);
    }
    let dirs = Directives::from_headers(&headers);
    let _ = Directives::targeted(&headers, &[HeaderName::from_static("cdn-cache-control")]);
    if !dirs.malformed && !dirs.invalid_freshness() {
        let mut again = Directives::default();
        again.parse_into(&dirs.to_string(), false);
        assert_eq!(again, dirs, "{dirs}");
    }
}

/// Freshness and age: any `Age`, `Date`, `Expires`, `Last-Modified` and `Cache-Control` give
/// a lifetime and an age without panicking, and a response called fresh is younger than its
/// lifetime and not `no-cache`.
pub fn freshness(data: &[u8]) {
    let names = [
        http::header::AGE,
        http::header::DATE,
        http::header::EXPIRES,
        http::header::LAST_MODIFIED,
        http::header::CACHE_CONTROL,
    ];
    let mut headers = HeaderMap::new();
    for (i, value) in values(data).enumerate() {
        headers.append(names[i % names.len()].clone(), value);
    }
    let clock = u64::from_le_bytes(
        data.get(..8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 8]),
    );
    let (request_time, response_time) = (clock % 4_000_000_000, clock % 4_000_000_000 + clock % 7);
    let dirs = Directives::from_headers(&headers);
    let rules = Rules {
        shared: clock % 2 == 0,
        heuristic: (clock % 3 == 0).then_some(freshness::Heuristic {
            fraction: 0.1,
            max: 86_400,
        }),
    };
    let status = StatusCode::from_u16(200 + (clock % 400) as u16).unwrap_or(StatusCode::OK);
    let fresh = Freshness::of(status, &headers, &dirs, false, rules, response_time);
    let age = freshness::initial_age(&headers, request_time, response_time);
    let now = response_time + clock % 1000;
    let current = freshness::current_age(age, response_time, now);
    if freshness::reuse(&fresh, current, &Directives::default()) == Reuse::Fresh {
        assert!(current < fresh.lifetime && !fresh.no_cache);
    }
    if fresh.stale_on_error(current) {
        assert!(!fresh.no_stale && !fresh.no_cache);
    }
}

/// `Range` and `If-Range`: any fields against any stored validators and length give a part
/// inside the representation, the whole, or a `416`, without panicking.
pub fn range(data: &[u8]) {
    use crate::response_cache::rules::range::{Ranged, ranged};
    let names = [
        http::header::RANGE,
        http::header::IF_RANGE,
        http::header::ETAG,
        http::header::LAST_MODIFIED,
        http::header::DATE,
    ];
    let (mut request, mut stored) = (HeaderMap::new(), HeaderMap::new());
    for (i, value) in values(data).enumerate() {
        let name = names[i % names.len()].clone();
        if i % names.len() < 2 {
            request.append(name, value);
        } else {
            stored.append(name, value);
        }
    }
    let len = data.first().map_or(0, |&b| u64::from(b) * 37);
    if let Ranged::Part { first, last } = ranged(&request, &stored, len) {
        assert!(first <= last && last < len, "{first}-{last} of {len}");
    }
}

/// `Vary`: any field gives names or "never matches", and a request always matches the
/// secondary key taken from it.
pub fn vary(data: &[u8]) {
    let mut response = HeaderMap::new();
    let mut request = HeaderMap::new();
    let mut values = values(data);
    if let Some(vary) = values.next() {
        response.insert(http::header::VARY, vary);
    }
    let Some(names) = crate::response_cache::rules::vary::names(&response) else {
        return;
    };
    for (name, value) in names.iter().cycle().zip(values) {
        request.append(name.clone(), value);
    }
    let secondary = crate::response_cache::rules::vary::secondary(&request, &names);
    assert!(crate::response_cache::rules::vary::matches(
        &secondary, &request
    ));
}

/// The stored-entry decoder: any bytes decode or fail without panicking, and what decodes
/// encodes to bytes that decode to the same entry.
pub fn stored_entry(data: &[u8]) {
    crate::response_cache::fuzz_entry(data);
}

/// The purge request parser: any method, target and headers give targets without panicking.
#[cfg(feature = "invalidate")]
pub fn purge_request(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0xFF);
    let target = parts.next().unwrap_or_default();
    let Ok(uri) = http::Uri::try_from(target) else {
        return;
    };
    let mut request = http::Request::builder().method("PURGE").uri(uri);
    let names = ["surrogate-key", "cache-tag", "purge-prefix"];
    for (i, value) in parts.enumerate() {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            request = request.header(names[i % names.len()], value);
        }
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (head, ()) = request.into_parts();
    let allow = |_: &http::request::Parts| true;
    for purge in [
        crate::invalidate::Purge::method(allow),
        crate::invalidate::Purge::path(head.uri.path().to_owned(), allow),
    ] {
        let targets = purge.targets(&head);
        let _ = (targets.paths, targets.tags, targets.prefixes);
    }
}
