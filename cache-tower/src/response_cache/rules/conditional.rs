//! Conditional requests both ways: answering a client's `If-None-Match` / `If-Modified-Since`
//! from storage (RFC 9110 section 13, RFC 9111 section 4.3.2), validating a stored response with
//! the origin (section 4.3.1), and freshening stored responses with a `304` (sections 3.2 and
//! 4.3.4).

use std::sync::Arc;

use http::HeaderMap;
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_LOCATION, DATE, ETAG, EXPIRES, HeaderName, HeaderValue,
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED, VARY,
};

use super::super::entry::Stored;
use super::freshness::{parse_date, single_date};

/// The opaque part of an entity tag and whether it is weak; `None` when malformed.
fn parse_tag(tag: &[u8]) -> Option<(bool, &[u8])> {
    let tag = tag.trim_ascii();
    let (weak, rest) = match tag.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, tag),
    };
    let inner = rest.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    (!inner.contains(&b'"')).then_some((weak, inner))
}

/// Weak comparison: the opaque tags are equal, weak or not.
fn weak_eq(a: &[u8], b: &[u8]) -> bool {
    matches!((parse_tag(a), parse_tag(b)), (Some((_, x)), Some((_, y))) if x == y)
}

/// Whether an `If-None-Match` list names `etag` (or is `*`).
fn none_match_hits(headers: &HeaderMap, etag: Option<&HeaderValue>) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().any(|line| {
        line.as_bytes().split(|&b| b == b',').any(|tag| {
            let tag = tag.trim_ascii();
            tag == b"*" || etag.is_some_and(|etag| weak_eq(tag, etag.as_bytes()))
        })
    })
}

/// Strong comparison: the opaque tags are equal and neither is weak.
pub(crate) fn strong_eq(a: &[u8], b: &[u8]) -> bool {
    matches!((parse_tag(a), parse_tag(b)), (Some((false, x)), Some((false, y))) if x == y)
}

/// Whether the request's `If-Match` and `If-Unmodified-Since` (RFC 9110 sections 13.1.1,
/// 13.1.4) hold for `stored`, so that `stored` answers the request as the origin would.
/// `If-Match` wins over `If-Unmodified-Since`; an invalid date is ignored. When they do not
/// hold, the cache forwards the request and lets the origin answer (a `412`, which is not
/// stored).
pub(crate) fn preconditions_hold(request: &HeaderMap, stored: &Stored) -> bool {
    if request.contains_key(IF_MATCH) {
        return request.get_all(IF_MATCH).iter().any(|line| {
            line.as_bytes().split(|&b| b == b',').any(|tag| {
                let tag = tag.trim_ascii();
                tag == b"*" || stored.etag().is_some_and(|e| strong_eq(tag, e.as_bytes()))
            })
        });
    }
    match single_date(request, IF_UNMODIFIED_SINCE) {
        None | Some(None) => true,
        Some(Some(since)) => matches!(
            single_date(&stored.headers, LAST_MODIFIED),
            Some(Some(modified)) if modified <= since
        ),
    }
}

/// Whether the client's conditionals say its copy matches `stored`, so a `304` answers it.
/// `If-None-Match` wins over `If-Modified-Since` (RFC 9110 section 13.2.2).
pub(crate) fn client_has_current(request: &HeaderMap, stored: &Stored) -> bool {
    if request.contains_key(IF_NONE_MATCH) {
        return none_match_hits(request, stored.etag());
    }
    let Some(Some(since)) = single_date(request, IF_MODIFIED_SINCE) else {
        return false;
    };
    match single_date(&stored.headers, LAST_MODIFIED) {
        Some(Some(modified)) => modified <= since,
        _ => false,
    }
}

/// The headers of a `304` answering for `stored` (RFC 9110 section 15.4.5).
pub(crate) fn not_modified_headers(stored: &Stored) -> HeaderMap {
    let mut out = HeaderMap::new();
    let mut names = vec![CACHE_CONTROL, CONTENT_LOCATION, DATE, ETAG, EXPIRES, VARY];
    if !stored.headers.contains_key(ETAG) {
        names.push(LAST_MODIFIED);
    }
    for name in names {
        for value in stored.headers.get_all(&name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The validators to send when revalidating `selected` among `all` the URI's stored responses:
/// `If-None-Match` with every stored entity tag, `If-Modified-Since` with the selected response's
/// `Last-Modified` (section 4.3.1). Empty when nothing can be validated.
pub(crate) fn validators(selected: &Stored, all: &[Arc<Stored>]) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let tags: Vec<&[u8]> = all
        .iter()
        .filter_map(|s| s.etag())
        .filter(|t| parse_tag(t.as_bytes()).is_some())
        .map(HeaderValue::as_bytes)
        .collect();
    if !tags.is_empty()
        && let Ok(value) = HeaderValue::from_bytes(&tags.join(&b", "[..]))
    {
        out.push((IF_NONE_MATCH, value));
    }
    if let Some(modified) = selected.headers.get(LAST_MODIFIED)
        && parse_date(modified.as_bytes()).is_some()
    {
        out.push((IF_MODIFIED_SINCE, modified.clone()));
    }
    out
}

/// Which stored responses a `304` with `headers` freshens (section 4.3.4); empty when it matches
/// none, and then nothing is updated.
///
/// One departure from the letter of section 4.3.4: a `304` that carries no validator at all
/// freshens `validated`, the response whose validators the request carried. Origins that omit
/// `ETag` from their `304`s are common, and the `304` can only be about what was asked.
pub(crate) fn select_for_update(
    all: &[Arc<Stored>],
    headers: &HeaderMap,
    validated: usize,
) -> Vec<usize> {
    let new_tag = headers.get(ETAG).and_then(|t| {
        let (weak, _) = parse_tag(t.as_bytes())?;
        Some((weak, t))
    });
    match new_tag {
        Some((false, tag)) => {
            // Strong: every stored response with the same strong validator.
            all.iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.etag().is_some_and(|e| {
                        matches!(parse_tag(e.as_bytes()), Some((false, _)))
                            && weak_eq(e.as_bytes(), tag.as_bytes())
                    })
                })
                .map(|(i, _)| i)
                .collect()
        }
        Some((true, tag)) => {
            // Weak: the most recent matching one (variants are kept newest first).
            all.iter()
                .position(|s| {
                    s.etag()
                        .is_some_and(|e| weak_eq(e.as_bytes(), tag.as_bytes()))
                })
                .into_iter()
                .collect()
        }
        None => match headers.get(LAST_MODIFIED) {
            Some(modified) => all
                .iter()
                .position(|s| s.headers.get(LAST_MODIFIED) == Some(modified))
                .into_iter()
                .collect(),
            None if validated < all.len() => vec![validated],
            None => Vec::new(),
        },
    }
}

/// `stored`'s headers updated from a `304`'s (section 3.2): every field the `304` carries
/// replaces the stored one, except `Content-Length` and the hop-by-hop fields already stripped.
pub(crate) fn merge_headers(stored: &HeaderMap, update: &HeaderMap) -> HeaderMap {
    let mut out = stored.clone();
    for name in update.keys() {
        if name == CONTENT_LENGTH {
            continue;
        }
        out.remove(name);
        for value in update.get_all(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response_cache::rules::freshness::Freshness;
    use bytes::Bytes;
    use http::StatusCode;

    fn stored(etag: Option<&'static str>, modified: Option<&'static str>) -> Arc<Stored> {
        let mut headers = HeaderMap::new();
        if let Some(e) = etag {
            headers.insert(ETAG, HeaderValue::from_static(e));
        }
        if let Some(m) = modified {
            headers.insert(LAST_MODIFIED, HeaderValue::from_static(m));
        }
        Arc::new(Stored {
            status: StatusCode::OK,
            headers,
            body: Bytes::new(),
            response_time: 0,
            initial_age: 0,
            freshness: Freshness::default(),
            secondary: Vec::new(),
            tags: Vec::new(),
        })
    }

    fn req(pairs: &[(HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(n, HeaderValue::from_static(v));
        }
        h
    }

    const OLD: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const NEW: &str = "Mon, 07 Nov 1994 08:49:37 GMT";

    #[test]
    fn if_none_match_uses_weak_comparison_and_wins() {
        let s = stored(Some("\"v1\""), Some(OLD));
        assert!(client_has_current(&req(&[(IF_NONE_MATCH, "W/\"v1\"")]), &s));
        assert!(client_has_current(
            &req(&[(IF_NONE_MATCH, "\"x\", \"v1\"")]),
            &s
        ));
        assert!(client_has_current(&req(&[(IF_NONE_MATCH, "*")]), &s));
        // A non-matching If-None-Match wins over a matching If-Modified-Since.
        assert!(!client_has_current(
            &req(&[(IF_NONE_MATCH, "\"v2\""), (IF_MODIFIED_SINCE, NEW)]),
            &s
        ));
        assert!(client_has_current(&req(&[(IF_MODIFIED_SINCE, NEW)]), &s));
        assert!(client_has_current(&req(&[(IF_MODIFIED_SINCE, OLD)]), &s));
        let older = "Sat, 05 Nov 1994 08:49:37 GMT";
        assert!(!client_has_current(&req(&[(IF_MODIFIED_SINCE, older)]), &s));
        assert!(!client_has_current(
            &req(&[(IF_MODIFIED_SINCE, "garbage")]),
            &s
        ));
    }

    #[test]
    fn preconditions_use_strong_comparison_and_dates() {
        let s = stored(Some("\"v1\""), Some(OLD));
        assert!(preconditions_hold(&HeaderMap::new(), &s));
        assert!(preconditions_hold(&req(&[(IF_MATCH, "\"x\", \"v1\"")]), &s));
        assert!(preconditions_hold(&req(&[(IF_MATCH, "*")]), &s));
        assert!(!preconditions_hold(&req(&[(IF_MATCH, "W/\"v1\"")]), &s));
        assert!(!preconditions_hold(&req(&[(IF_MATCH, "\"v2\"")]), &s));
        let weak = stored(Some("W/\"v1\""), None);
        assert!(!preconditions_hold(&req(&[(IF_MATCH, "\"v1\"")]), &weak));
        assert!(preconditions_hold(&req(&[(IF_UNMODIFIED_SINCE, NEW)]), &s));
        assert!(preconditions_hold(&req(&[(IF_UNMODIFIED_SINCE, OLD)]), &s));
        let older = "Sat, 05 Nov 1994 08:49:37 GMT";
        assert!(!preconditions_hold(
            &req(&[(IF_UNMODIFIED_SINCE, older)]),
            &s
        ));
        assert!(preconditions_hold(
            &req(&[(IF_UNMODIFIED_SINCE, "garbage")]),
            &s
        ));
        // Without Last-Modified the cache cannot tell: the origin decides.
        let bare = stored(Some("\"v1\""), None);
        assert!(!preconditions_hold(
            &req(&[(IF_UNMODIFIED_SINCE, NEW)]),
            &bare
        ));
        // If-Match wins.
        assert!(preconditions_hold(
            &req(&[(IF_MATCH, "\"v1\""), (IF_UNMODIFIED_SINCE, older)]),
            &s
        ));
    }

    #[test]
    fn validators_name_every_stored_tag() {
        let a = stored(Some("\"a\""), Some(OLD));
        let b = stored(Some("W/\"b\""), None);
        let v = validators(&a, &[a.clone(), b]);
        assert_eq!(
            v[0],
            (IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""))
        );
        assert_eq!(v[1], (IF_MODIFIED_SINCE, HeaderValue::from_static(OLD)));
        assert!(validators(&stored(None, None), &[]).is_empty());
    }

    #[test]
    fn update_selection_follows_section_4_3_4() {
        let all = [
            stored(Some("\"a\""), None),
            stored(Some("\"b\""), None),
            stored(Some("\"a\""), None),
        ];
        assert_eq!(select_for_update(&all, &req(&[(ETAG, "\"a\"")]), 1), [0, 2]);
        assert_eq!(select_for_update(&all, &req(&[(ETAG, "W/\"a\"")]), 1), [0]);
        assert!(select_for_update(&all, &req(&[(ETAG, "\"zzz\"")]), 0).is_empty());
        let weak = [stored(Some("W/\"a\""), None)];
        assert!(select_for_update(&weak, &req(&[(ETAG, "\"a\"")]), 0).is_empty());
        let bare = [stored(None, None)];
        assert_eq!(select_for_update(&bare, &HeaderMap::new(), 0), [0]);
        // Without validators the 304 is about the response that was validated.
        assert_eq!(select_for_update(&all, &HeaderMap::new(), 1), [1]);
        let dated = [stored(None, Some(OLD))];
        assert_eq!(
            select_for_update(&dated, &req(&[(LAST_MODIFIED, OLD)]), 0),
            [0]
        );
        assert!(select_for_update(&dated, &req(&[(LAST_MODIFIED, NEW)]), 0).is_empty());
    }

    #[test]
    fn merging_replaces_fields_but_not_the_length() {
        let stored = req(&[
            (CACHE_CONTROL, "max-age=1"),
            (CONTENT_LENGTH, "5"),
            (ETAG, "\"a\""),
        ]);
        let update = req(&[(CACHE_CONTROL, "max-age=60"), (CONTENT_LENGTH, "0")]);
        let merged = merge_headers(&stored, &update);
        assert_eq!(merged[CACHE_CONTROL], "max-age=60");
        assert_eq!(merged[CONTENT_LENGTH], "5");
        assert_eq!(merged[ETAG], "\"a\"");
    }
}
