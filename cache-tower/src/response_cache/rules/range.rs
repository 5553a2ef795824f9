//! Byte ranges (RFC 9110 section 14): a `GET` with `Range` answered from a stored complete
//! `200`, as a `206` with one part or a `416`.
//!
//! One range is served as a part. A request for several ranges gets the whole representation
//! (a `200`), which RFC 9110 section 14.2 allows and every client handles, rather than a
//! `multipart/byteranges` body few clients ask for. A `Range` the cache cannot read (another
//! unit, a syntax error, a last position before the first) is ignored the same way.

use http::HeaderMap;
use http::header::{DATE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};

use super::conditional::strong_eq;
use super::freshness::{parse_date, single_date};

/// What a request's `Range` asks of a stored representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// No range to serve: answer with the whole representation.
    Whole,
    /// The bytes `first..=last`, both inside the representation.
    Part { first: u64, last: u64 },
    /// A range starting past the end (or an empty suffix): a `416`.
    Unsatisfiable,
}

/// What the request's `Range` and `If-Range` ask of a stored `200` with `stored` headers and a
/// body of `len` bytes.
pub(crate) fn ranged(request: &HeaderMap, stored: &HeaderMap, len: u64) -> Ranged {
    let mut lines = request.get_all(RANGE).iter();
    let (Some(range), None) = (lines.next(), lines.next()) else {
        return Ranged::Whole;
    };
    if !if_range_holds(request, stored) {
        return Ranged::Whole;
    }
    parse(range.as_bytes(), len)
}

/// A `Range` value (`bytes=0-99`, `bytes=100-`, `bytes=-100`) against a representation of
/// `len` bytes.
pub(crate) fn parse(value: &[u8], len: u64) -> Ranged {
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return Ranged::Whole;
    };
    let (unit, set) = (&value[..eq], &value[eq + 1..]);
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return Ranged::Whole;
    }
    // A list admits empty members (RFC 9110 section 5.6.1.2); more than one range is answered
    // whole.
    let mut specs = set
        .split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return Ranged::Whole;
    };
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return Ranged::Whole;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    match (digits(first), digits(last)) {
        // `-N`: the last N bytes.
        (None, Some(suffix)) if first.is_empty() => match suffix {
            0 => Ranged::Unsatisfiable,
            // An empty representation has no part to send; it is sent whole (empty).
            _ if len == 0 => Ranged::Whole,
            n => Ranged::Part {
                first: len.saturating_sub(n),
                last: len - 1,
            },
        },
        // `N-`: from N to the end.
        (Some(first), None) if last.is_empty() => within(first, u64::MAX, len),
        (Some(first), Some(last)) if last >= first => within(first, last, len),
        _ => Ranged::Whole,
    }
}

/// `first..=last` cut to a representation of `len` bytes.
fn within(first: u64, last: u64, len: u64) -> Ranged {
    if first >= len {
        Ranged::Unsatisfiable
    } else {
        Ranged::Part {
            first,
            last: last.min(len - 1),
        }
    }
}

/// `1*DIGIT` as a number, saturating (a position past any length means the same); `None` when
/// empty or not all digits.
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Whether the request's `If-Range` (RFC 9110 section 13.1.5) lets a part of `stored` be sent:
/// absent, or an entity tag strongly equal to the stored `ETag`, or an HTTP-date equal to the
/// stored `Last-Modified` when that is a strong validator (at least a second before the
/// stored `Date`). Anything else (a weak tag, another date, several lines) asks for the whole
/// representation.
fn if_range_holds(request: &HeaderMap, stored: &HeaderMap) -> bool {
    let mut lines = request.get_all(IF_RANGE).iter();
    let Some(condition) = lines.next() else {
        return true;
    };
    if lines.next().is_some() {
        return false;
    }
    let condition = condition.as_bytes().trim_ascii();
    if condition.starts_with(b"\"") || condition.starts_with(b"W/") {
        return stored
            .get(ETAG)
            .is_some_and(|etag| strong_eq(condition, etag.as_bytes()));
    }
    let (Some(date), Some(Some(modified)), Some(Some(served))) = (
        parse_date(condition),
        single_date(stored, LAST_MODIFIED),
        single_date(stored, DATE),
    ) else {
        return false;
    };
    date == modified && served > modified
}

/// The `Content-Range` of a part.
pub(crate) fn content_range(first: u64, last: u64, len: u64) -> String {
    format!("bytes {first}-{last}/{len}")
}

/// The `Content-Range` of a `416`.
pub(crate) fn unsatisfied_range(len: u64) -> String {
    format!("bytes */{len}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn p(value: &str, len: u64) -> Ranged {
        parse(value.as_bytes(), len)
    }

    fn part(first: u64, last: u64) -> Ranged {
        Ranged::Part { first, last }
    }

    #[test]
    fn the_three_forms_of_a_range() {
        assert_eq!(p("bytes=0-99", 1000), part(0, 99));
        assert_eq!(p("bytes=100-", 1000), part(100, 999));
        assert_eq!(p("bytes=-100", 1000), part(900, 999));
        assert_eq!(p("BYTES=5-5", 10), part(5, 5), "units are case-insensitive");
        assert_eq!(
            p("bytes= 0-1 ,", 10),
            part(0, 1),
            "list whitespace, empty members"
        );
        assert_eq!(
            p("bytes=0-5000", 10),
            part(0, 9),
            "a last position past the end"
        );
        assert_eq!(
            p("bytes=-5000", 10),
            part(0, 9),
            "a suffix longer than the whole"
        );
        assert_eq!(
            p("bytes=0-99999999999999999999999", 10),
            part(0, 9),
            "saturates"
        );
    }

    #[test]
    fn unsatisfiable_and_ignored_ranges() {
        assert_eq!(p("bytes=10-", 10), Ranged::Unsatisfiable);
        assert_eq!(p("bytes=10-20", 10), Ranged::Unsatisfiable);
        assert_eq!(p("bytes=-0", 10), Ranged::Unsatisfiable);
        assert_eq!(p("bytes=99999999999999999999-", 10), Ranged::Unsatisfiable);
        assert_eq!(p("bytes=0-", 0), Ranged::Unsatisfiable);
        assert_eq!(p("bytes=-5", 0), Ranged::Whole);
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=",
            "bytes=,",
            "items=0-1",
            "bytes 0-1",
            "bytes=+1-2",
            "bytes=0x1-2",
            "",
        ] {
            assert_eq!(p(ignored, 10), Ranged::Whole, "{ignored:?}");
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    const MODIFIED: &str = "Tue, 01 Dec 2026 00:00:00 GMT";
    const LATER: &str = "Tue, 01 Dec 2026 00:00:05 GMT";

    #[test]
    fn if_range_needs_a_strong_match() {
        let stored = headers(&[
            ("etag", "\"v1\""),
            ("last-modified", MODIFIED),
            ("date", LATER),
        ]);
        let ask = |if_range: &'static str| {
            ranged(
                &headers(&[("range", "bytes=0-1"), ("if-range", if_range)]),
                &stored,
                10,
            )
        };
        assert_eq!(ask("\"v1\""), part(0, 1));
        assert_eq!(ask("\"v2\""), Ranged::Whole);
        assert_eq!(ask("W/\"v1\""), Ranged::Whole, "a weak tag never matches");
        assert_eq!(ask(MODIFIED), part(0, 1));
        assert_eq!(ask(LATER), Ranged::Whole, "another date");
        assert_eq!(ask("yesterday"), Ranged::Whole);
        let weak_etag = headers(&[("etag", "W/\"v1\"")]);
        let range = headers(&[("range", "bytes=0-1"), ("if-range", "\"v1\"")]);
        assert_eq!(ranged(&range, &weak_etag, 10), Ranged::Whole);
        // Last-Modified is weak when the response was dated the same second.
        let same_second = headers(&[("last-modified", MODIFIED), ("date", MODIFIED)]);
        let by_date = headers(&[("range", "bytes=0-1"), ("if-range", MODIFIED)]);
        assert_eq!(ranged(&by_date, &same_second, 10), Ranged::Whole);
        // Without If-Range the range is served; two Range lines are ignored.
        assert_eq!(
            ranged(&headers(&[("range", "bytes=0-1")]), &stored, 10),
            part(0, 1)
        );
        let twice = headers(&[("range", "bytes=0-1"), ("range", "bytes=2-3")]);
        assert_eq!(ranged(&twice, &stored, 10), Ranged::Whole);
        assert_eq!(ranged(&HeaderMap::new(), &stored, 10), Ranged::Whole);
    }

    #[test]
    fn content_range_values() {
        assert_eq!(content_range(0, 99, 1000), "bytes 0-99/1000");
        assert_eq!(unsatisfied_range(1000), "bytes */1000");
    }

    proptest! {
        #[test]
        fn a_part_always_lies_inside_the_representation(value in "\\PC{0,24}", len in 0u64..5000) {
            if let Ranged::Part { first, last } = parse(value.as_bytes(), len) {
                prop_assert!(first <= last && last < len);
            }
        }

        #[test]
        fn a_written_range_reads_back(first in 0u64..10_000, extra in 0u64..10_000, len in 1u64..20_000) {
            let last = first + extra;
            let read = p(&format!("bytes={first}-{last}"), len);
            if first < len {
                prop_assert_eq!(read, part(first, last.min(len - 1)));
            } else {
                prop_assert_eq!(read, Ranged::Unsatisfiable);
            }
            let suffix = p(&format!("bytes=-{}", extra + 1), len);
            prop_assert_eq!(suffix, part(len.saturating_sub(extra + 1), len - 1));
        }
    }
}
