//! `Cache-Control` (RFC 9111 section 5.2) and targeted fields such as `CDN-Cache-Control`
//! (RFC 9213): parsing into [`Directives`] and writing them back.
//!
//! Parsing never fails and never panics: unknown directives are ignored, and a malformed or
//! repeated freshness directive marks the set's freshness invalid, which makes
//! the response stale, as section 4.2.1 allows.

use std::fmt;

use http::HeaderMap;
use http::header::{CACHE_CONTROL, HeaderName, PRAGMA};

/// The largest delta-seconds value kept; larger ones are taken as this (RFC 9111 section 1.2.2).
pub(crate) const DELTA_MAX: u64 = 2_147_483_648;

/// The cache directives of a request or a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub(crate) max_age: Option<u64>,
    pub(crate) s_maxage: Option<u64>,
    pub(crate) stale_while_revalidate: Option<u64>,
    pub(crate) stale_if_error: Option<u64>,
    pub(crate) min_fresh: Option<u64>,
    /// `Some(None)`: `max-stale` without a value, any staleness is accepted.
    pub(crate) max_stale: Option<Option<u64>>,
    pub(crate) no_cache: bool,
    pub(crate) no_store: bool,
    pub(crate) private: bool,
    pub(crate) public: bool,
    pub(crate) must_revalidate: bool,
    pub(crate) proxy_revalidate: bool,
    pub(crate) must_understand: bool,
    pub(crate) only_if_cached: bool,
    /// `max-age` was malformed or given twice.
    pub(crate) bad_max_age: bool,
    /// `s-maxage` was malformed or given twice.
    pub(crate) bad_s_maxage: bool,
    /// A targeted field broke the structured-field syntax.
    pub(crate) malformed: bool,
}

impl Directives {
    /// The directives of every `Cache-Control` line of `headers`; a request without
    /// `Cache-Control` but with `Pragma: no-cache` gets `no-cache` (RFC 9111 section 5.4).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut out = Self::default();
        let mut any = false;
        for value in headers.get_all(CACHE_CONTROL) {
            any = true;
            match value.to_str() {
                Ok(text) => out.parse_into(text, false),
                // Bytes that are not visible ASCII cannot be read safely; assume the worst.
                Err(_) => out.mark_unreadable(),
            }
        }
        if !any
            && headers
                .get_all(PRAGMA)
                .iter()
                .any(|v| v.as_bytes().eq_ignore_ascii_case(b"no-cache"))
        {
            out.no_cache = true;
        }
        out
    }

    /// The directives of the first field in `names` that is present with a valid, non-empty
    /// structured-field dictionary value (RFC 9213 section 2.1), or `None`.
    pub(crate) fn targeted(headers: &HeaderMap, names: &[HeaderName]) -> Option<Self> {
        names.iter().find_map(|name| {
            let mut text = String::new();
            for value in headers.get_all(name) {
                if !text.is_empty() {
                    text.push(',');
                }
                text.push_str(value.to_str().ok()?);
            }
            if text.trim().is_empty() {
                return None;
            }
            let mut out = Self::default();
            out.parse_into(&text, true);
            (!out.malformed && !out.invalid_freshness()).then_some(out)
        })
    }

    /// Parses one field value. `strict` is the structured-field syntax of targeted fields,
    /// where any malformed member makes the whole field invalid.
    pub(crate) fn parse_into(&mut self, text: &str, strict: bool) {
        for item in split_members(text) {
            let item = item.trim_matches([' ', '\t']);
            if item.is_empty() {
                self.malformed |= strict;
                continue;
            }
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (
                    n.trim_matches([' ', '\t']),
                    Some(v.trim_matches([' ', '\t'])),
                ),
                None => (item, None),
            };
            if strict && !is_sf_key(name) {
                self.malformed = true;
                continue;
            }
            let name = name.to_ascii_lowercase();
            let value = value.map(unquote);
            match name.as_str() {
                "max-age" => set_delta(&mut self.max_age, value, &mut self.bad_max_age),
                "s-maxage" => set_delta(&mut self.s_maxage, value, &mut self.bad_s_maxage),
                "stale-while-revalidate" => {
                    // Malformed or repeated: ignored, so nothing stale is served on its account.
                    let mut bad = false;
                    set_delta(&mut self.stale_while_revalidate, value, &mut bad);
                    if bad {
                        self.stale_while_revalidate = Some(0);
                    }
                }
                "stale-if-error" => {
                    let mut bad = false;
                    set_delta(&mut self.stale_if_error, value, &mut bad);
                    if bad {
                        self.stale_if_error = Some(0);
                    }
                }
                "min-fresh" => {
                    let mut bad = false;
                    set_delta(&mut self.min_fresh, value, &mut bad);
                    if bad {
                        // A client that asked for freshness it did not spell out gets the most.
                        self.min_fresh = Some(DELTA_MAX);
                    }
                }
                "max-stale" => match value {
                    None => self.max_stale = Some(None),
                    Some(v) => {
                        let parsed = parse_delta(v);
                        // A malformed or repeated max-stale accepts no staleness.
                        self.max_stale = match (self.max_stale, parsed) {
                            (None, Some(n)) => Some(Some(n)),
                            _ => Some(Some(0)),
                        };
                    }
                },
                "no-cache" => self.no_cache = true,
                "no-store" => self.no_store = true,
                "private" => self.private = true,
                "public" => self.public = true,
                "must-revalidate" => self.must_revalidate = true,
                "proxy-revalidate" => self.proxy_revalidate = true,
                "must-understand" => self.must_understand = true,
                "only-if-cached" => self.only_if_cached = true,
                _ => {}
            }
        }
    }

    /// A field that could not be read as text: treated as `no-store` so nothing is stored or
    /// served on its account.
    fn mark_unreadable(&mut self) {
        self.no_store = true;
        self.malformed = true;
    }

    /// Whether a freshness directive was malformed or repeated, which makes a response stale
    /// (RFC 9111 section 4.2.1).
    pub(crate) fn invalid_freshness(&self) -> bool {
        self.bad_max_age || self.bad_s_maxage
    }
}

/// Sets a delta-seconds directive; a malformed or repeated one sets `invalid`.
fn set_delta(slot: &mut Option<u64>, value: Option<&str>, invalid: &mut bool) {
    match (slot.is_some(), value.and_then(parse_delta)) {
        (false, Some(n)) => *slot = Some(n),
        _ => {
            *invalid = true;
            *slot = Some(0);
        }
    }
}

/// `1*DIGIT`, saturating at [`DELTA_MAX`].
pub(crate) fn parse_delta(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().map_or(DELTA_MAX, |n| n.min(DELTA_MAX)))
}

/// A quoted-string's content, or the text itself.
fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// A structured-field dictionary key: `lcalpha / "*"` then `lcalpha / DIGIT / "_-.*"`.
fn is_sf_key(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'*'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'))
}

/// Splits on commas that are not inside a quoted string.
fn split_members(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut cuts = Vec::new();
    for (i, b) in text.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                cuts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    cuts.push(&text[start..]);
    cuts.into_iter()
}

impl fmt::Display for Directives {
    /// The canonical `Cache-Control` value: parsing it gives back the same directives.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let flags = [
            (self.no_cache, "no-cache"),
            (self.no_store, "no-store"),
            (self.private, "private"),
            (self.public, "public"),
            (self.must_revalidate, "must-revalidate"),
            (self.proxy_revalidate, "proxy-revalidate"),
            (self.must_understand, "must-understand"),
            (self.only_if_cached, "only-if-cached"),
        ];
        parts.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| (*n).to_owned()),
        );
        let deltas = [
            (self.max_age.filter(|_| !self.bad_max_age), "max-age"),
            (self.s_maxage.filter(|_| !self.bad_s_maxage), "s-maxage"),
            (self.stale_while_revalidate, "stale-while-revalidate"),
            (self.stale_if_error, "stale-if-error"),
            (self.min_fresh, "min-fresh"),
        ];
        parts.extend(
            deltas
                .iter()
                .filter_map(|(v, n)| v.map(|v| format!("{n}={v}"))),
        );
        match self.max_stale {
            Some(None) => parts.push("max-stale".to_owned()),
            Some(Some(n)) => parts.push(format!("max-stale={n}")),
            None => {}
        }
        // An invalid value is written as one, so that it parses back as invalid.
        if self.bad_max_age {
            parts.push("max-age=x".to_owned());
        }
        if self.bad_s_maxage {
            parts.push("s-maxage=x".to_owned());
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn parse(text: &str) -> Directives {
        let mut d = Directives::default();
        d.parse_into(text, false);
        d
    }

    #[test]
    fn reads_the_usual_directives() {
        let d = parse(
            "public, max-age=60, s-maxage=\"120\", stale-while-revalidate=30, Must-Revalidate",
        );
        assert!(d.public && d.must_revalidate && !d.private);
        assert_eq!((d.max_age, d.s_maxage), (Some(60), Some(120)));
        assert_eq!(d.stale_while_revalidate, Some(30));
        assert!(!d.invalid_freshness());
    }

    #[test]
    fn malformed_or_repeated_freshness_is_invalid() {
        for text in [
            "max-age=-1",
            "max-age=a",
            "max-age",
            "max-age=1, max-age=2",
            "s-maxage=1.5",
        ] {
            assert!(parse(text).invalid_freshness(), "{text}");
        }
        assert!(!parse("max-age=0").invalid_freshness());
    }

    #[test]
    fn huge_values_saturate() {
        assert_eq!(
            parse("max-age=99999999999999999999999").max_age,
            Some(DELTA_MAX)
        );
    }

    #[test]
    fn commas_inside_quotes_do_not_split() {
        let d = parse("no-cache=\"set-cookie, foo\", max-age=5");
        assert!(d.no_cache);
        assert_eq!(d.max_age, Some(5));
    }

    #[test]
    fn pragma_counts_only_without_cache_control() {
        let mut h = HeaderMap::new();
        h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        assert!(Directives::from_headers(&h).no_cache);
        h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=5"));
        assert!(!Directives::from_headers(&h).no_cache);
    }

    #[test]
    fn targeted_field_must_be_a_valid_dictionary() {
        let name = HeaderName::from_static("cdn-cache-control");
        let mut h = HeaderMap::new();
        h.insert(&name, HeaderValue::from_static("max-age=600"));
        assert_eq!(
            Directives::targeted(&h, std::slice::from_ref(&name))
                .unwrap()
                .max_age,
            Some(600)
        );
        for bad in ["Max-Age=600", "max-age=600,,", "", "max-age=x"] {
            h.insert(&name, HeaderValue::from_static(bad));
            assert!(
                Directives::targeted(&h, std::slice::from_ref(&name)).is_none(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn garbage_never_panics(text in "\\PC{0,80}") {
            let _ = parse(&text);
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&text) {
                h.insert(CACHE_CONTROL, v.clone());
                h.insert("cdn-cache-control", v);
                let _ = Directives::from_headers(&h);
                let _ = Directives::targeted(&h, &[HeaderName::from_static("cdn-cache-control")]);
            }
        }

        #[test]
        fn serialising_is_stable(text in "((max-age|s-maxage|max-stale|min-fresh|stale-if-error|stale-while-revalidate)(=[0-9a\"]{0,4})?|no-cache|no-store|private|public|must-revalidate|x-ext)(, ?(max-age|no-store|private|max-stale)(=[0-9]{1,3})?){0,4}") {
            let first = parse(&text);
            let again = parse(&first.to_string());
            prop_assert_eq!(&first, &again);
            prop_assert_eq!(first.to_string(), again.to_string());
        }
    }
}
