//! `Vary` (RFC 9111 section 4.1): which request headers a stored response was selected by, and
//! whether a new request matches them.

use bytes::Bytes;
use http::HeaderMap;
use http::header::{HeaderName, VARY};

/// The request headers named by a response's `Vary`, with the request's normalised values
/// (`None` for an absent header, which matches only an absent header).
pub(crate) type Secondary = Vec<(HeaderName, Option<Bytes>)>;

/// The field names of every `Vary` line, lower-cased and deduplicated; `None` for `Vary: *` or
/// a name that is not a valid field name, which no request can match.
pub(crate) fn names(headers: &HeaderMap) -> Option<Vec<HeaderName>> {
    let mut out: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(VARY) {
        for item in value.as_bytes().split(|&b| b == b',') {
            let item = item.trim_ascii();
            if item.is_empty() {
                continue;
            }
            if item == b"*" {
                return None;
            }
            let name = HeaderName::from_bytes(item).ok()?;
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    Some(out)
}

/// The normalised value of `name` in `request`: every line, split on commas, each member
/// trimmed, joined with `,`. Whitespace and line splits a client chose do not make a new variant.
pub(crate) fn normalise(request: &HeaderMap, name: &HeaderName) -> Option<Bytes> {
    let mut values = request.get_all(name).iter().peekable();
    values.peek()?;
    let mut out = Vec::new();
    for value in values {
        for member in value.as_bytes().split(|&b| b == b',') {
            let member = member.trim_ascii();
            if member.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(member);
        }
    }
    Some(Bytes::from(out))
}

/// The secondary key of `request` for a response that varies on `names`.
pub(crate) fn secondary(request: &HeaderMap, names: &[HeaderName]) -> Secondary {
    names
        .iter()
        .map(|name| (name.clone(), normalise(request, name)))
        .collect()
}

/// Whether `request` selects a response stored with `stored`.
pub(crate) fn matches(stored: &Secondary, request: &HeaderMap) -> bool {
    stored
        .iter()
        .all(|(name, value)| normalise(request, name).as_ref() == value.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    #[test]
    fn star_and_bad_names_never_match() {
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_static("accept-encoding, *"));
        assert!(names(&h).is_none());
        h.insert(VARY, HeaderValue::from_static("a b"));
        assert!(names(&h).is_none());
        h.insert(
            VARY,
            HeaderValue::from_static("Accept-Encoding, accept-encoding,Accept"),
        );
        assert_eq!(names(&h).unwrap().len(), 2);
    }

    #[test]
    fn normalised_values_ignore_spacing_and_line_splits() {
        let name = HeaderName::from_static("accept-encoding");
        let mut a = HeaderMap::new();
        a.insert(&name, HeaderValue::from_static("gzip,  br"));
        let mut b = HeaderMap::new();
        b.append(&name, HeaderValue::from_static("gzip"));
        b.append(&name, HeaderValue::from_static(" br"));
        let stored = secondary(&a, std::slice::from_ref(&name));
        assert!(matches(&stored, &b));
        let mut c = HeaderMap::new();
        c.insert(&name, HeaderValue::from_static("br, gzip"));
        assert!(!matches(&stored, &c));
        assert!(!matches(&stored, &HeaderMap::new()));
        let absent = secondary(&HeaderMap::new(), std::slice::from_ref(&name));
        assert!(matches(&absent, &HeaderMap::new()));
        assert!(!matches(&absent, &a));
    }

    proptest! {
        #[test]
        fn distinct_credentials_never_match(a in "[!-+--~]{1,20}", b in "[!-+--~]{1,20}") {
            // Without spaces or commas, two tokens match exactly when they are equal.
            let name = http::header::AUTHORIZATION;
            let mut ha = HeaderMap::new();
            ha.insert(&name, HeaderValue::from_str(&a).unwrap());
            let mut hb = HeaderMap::new();
            hb.insert(&name, HeaderValue::from_str(&b).unwrap());
            let stored = secondary(&ha, std::slice::from_ref(&name));
            prop_assert!(matches(&stored, &ha));
            prop_assert_eq!(matches(&stored, &hb), a == b);
        }
    }
}
