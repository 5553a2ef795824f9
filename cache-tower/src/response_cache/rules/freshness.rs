//! Freshness and age (RFC 9111 section 4.2, RFC 5861): how long a stored response may be
//! reused, how old it is, and whether a request may reuse it now.
//!
//! Times are whole seconds since the Unix epoch, as HTTP dates are; every function here is pure.

use http::header::{AGE, DATE, EXPIRES, LAST_MODIFIED};
use http::{HeaderMap, StatusCode};

use super::directives::{Directives, parse_delta};

/// Heuristic freshness (RFC 9111 section 4.2.2): a fraction of the time since `Last-Modified`,
/// capped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Heuristic {
    pub(crate) fraction: f64,
    pub(crate) max: u64,
}

/// What a stored response's headers say about its reuse, worked out when it is stored and
/// again when a `304` freshens it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Freshness {
    /// The freshness lifetime in seconds.
    pub(crate) lifetime: u64,
    /// RFC 5861 windows, in seconds of staleness.
    pub(crate) stale_while_revalidate: u64,
    pub(crate) stale_if_error: u64,
    /// `must-revalidate`, `proxy-revalidate` or (in a shared cache) `s-maxage`: once stale,
    /// never reused without validation.
    pub(crate) no_stale: bool,
    /// `no-cache`: never reused without validation.
    pub(crate) no_cache: bool,
}

/// The inputs of [`Freshness::of`] beyond the headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) shared: bool,
    pub(crate) heuristic: Option<Heuristic>,
}

impl Freshness {
    /// The freshness of a response with `status` and `headers`, whose effective directives are
    /// `dirs` (from a targeted field when `targeted`, which also silences `Expires`), received
    /// at `response_time`.
    pub(crate) fn of(
        status: StatusCode,
        headers: &HeaderMap,
        dirs: &Directives,
        targeted: bool,
        rules: Rules,
        response_time: u64,
    ) -> Self {
        let no_stale = dirs.must_revalidate
            || dirs.proxy_revalidate && rules.shared
            || dirs.s_maxage.is_some() && rules.shared;
        Self {
            lifetime: lifetime(status, headers, dirs, targeted, rules, response_time),
            stale_while_revalidate: dirs.stale_while_revalidate.unwrap_or(0),
            stale_if_error: dirs.stale_if_error.unwrap_or(0),
            no_stale,
            no_cache: dirs.no_cache,
        }
    }

    /// Whether the response may ever be served without validation once stale (RFC 9111
    /// section 4.2.4): not with `no-cache`, `must-revalidate`, `proxy-revalidate` or (shared)
    /// `s-maxage`.
    pub(crate) fn may_serve_stale(&self) -> bool {
        !self.no_stale && !self.no_cache
    }

    /// Whether the response may serve a `stale-if-error` answer at `age`.
    pub(crate) fn stale_on_error(&self, age: u64) -> bool {
        self.may_serve_stale() && age.saturating_sub(self.lifetime) < self.stale_if_error
    }

    /// How long past freshness the response stays useful: for the RFC 5861 windows, and
    /// `keep` (to be validated, or served while the origin cannot be reached).
    pub(crate) fn useful_for(&self, keep: u64) -> u64 {
        self.lifetime.saturating_add(
            self.stale_while_revalidate
                .max(self.stale_if_error)
                .max(keep),
        )
    }
}

/// The freshness lifetime (section 4.2.1): `s-maxage` (shared), `max-age`, `Expires` minus
/// `Date`, then the heuristic; 0 when a freshness value is invalid or repeated.
fn lifetime(
    status: StatusCode,
    headers: &HeaderMap,
    dirs: &Directives,
    targeted: bool,
    rules: Rules,
    response_time: u64,
) -> u64 {
    if dirs.invalid_freshness() {
        return 0;
    }
    if rules.shared
        && let Some(s) = dirs.s_maxage
    {
        return s;
    }
    if let Some(m) = dirs.max_age {
        return m;
    }
    let date = single_date(headers, DATE)
        .flatten()
        .unwrap_or(response_time);
    if !targeted && let Some(expires) = single_date(headers, EXPIRES) {
        // An invalid Expires (such as "0") means already expired.
        return expires.map_or(0, |e| e.saturating_sub(date));
    }
    match rules.heuristic {
        Some(h) if dirs.public || heuristically_cacheable(status) => {
            match single_date(headers, LAST_MODIFIED).flatten() {
                Some(modified) if modified < date => {
                    let guess = (date - modified) as f64 * h.fraction.clamp(0.0, 1.0);
                    (guess as u64).min(h.max)
                }
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// The one value of a date field: `None` when absent, `Some(None)` when invalid or repeated.
pub(crate) fn single_date(headers: &HeaderMap, name: http::HeaderName) -> Option<Option<u64>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some(None);
    }
    Some(parse_date(first.as_bytes()))
}

/// An HTTP date as seconds since the epoch.
pub(crate) fn parse_date(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    Some(
        time.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// Statuses cacheable by heuristic (RFC 9110 section 15.1).
pub(crate) fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// The `Age` of a response (RFC 9111 section 5.1), or `None` when it has none or an invalid
/// one, which is then ignored: the response is stored and reused as if `Age` were absent.
///
/// A list-valued `Age` (`7200, 0`, one line) takes its first member. Invalid: a member that is
/// not `1*DIGIT` (non-numeric, negative, a float, a suffix or parameter), and several `Age`
/// lines that disagree.
pub(crate) fn age_value(headers: &HeaderMap) -> Option<u64> {
    let mut first_of_each_line = headers.get_all(AGE).iter().map(|line| {
        let text = line.to_str().ok()?;
        parse_delta(text.split(',').next()?.trim_matches([' ', '\t']))
    });
    let age = first_of_each_line.next()??;
    first_of_each_line
        .all(|other| other == Some(age))
        .then_some(age)
}

/// `corrected_initial_age` of section 4.2.3, for a response requested at `request_time` and
/// received at `response_time`.
pub(crate) fn initial_age(headers: &HeaderMap, request_time: u64, response_time: u64) -> u64 {
    let age_value = age_value(headers).unwrap_or(0);
    let date_value = single_date(headers, DATE)
        .flatten()
        .unwrap_or(response_time);
    let apparent_age = response_time.saturating_sub(date_value);
    let response_delay = response_time.saturating_sub(request_time);
    let corrected_age_value = age_value.saturating_add(response_delay);
    apparent_age.max(corrected_age_value)
}

/// `current_age` of section 4.2.3.
pub(crate) fn current_age(initial_age: u64, response_time: u64, now: u64) -> u64 {
    initial_age.saturating_add(now.saturating_sub(response_time))
}

/// Whether and how a stored response may answer a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// Fresh: serve it.
    Fresh,
    /// Stale, but the request's `max-stale` accepts it.
    StaleAccepted,
    /// Stale inside `stale-while-revalidate`: serve it and revalidate in the background.
    StaleWhileRevalidate,
    /// Validate with the origin first.
    Validate,
}

/// Decides reuse of a response with `fresh` and `age` for a request with directives `req`
/// (section 4.2, 5.2.1, RFC 5861 section 3).
pub(crate) fn reuse(fresh: &Freshness, age: u64, req: &Directives) -> Reuse {
    if fresh.no_cache || req.no_cache {
        return Reuse::Validate;
    }
    if req.max_age.is_some_and(|max| age > max) {
        return Reuse::Validate;
    }
    if fresh.lifetime > age {
        let left = fresh.lifetime - age;
        return match req.min_fresh {
            Some(min) if left < min => Reuse::Validate,
            _ => Reuse::Fresh,
        };
    }
    if fresh.no_stale {
        return Reuse::Validate;
    }
    let staleness = age - fresh.lifetime;
    match req.max_stale {
        Some(None) => return Reuse::StaleAccepted,
        Some(Some(n)) if staleness <= n && req.min_fresh.is_none() => {
            return Reuse::StaleAccepted;
        }
        _ => {}
    }
    if staleness < fresh.stale_while_revalidate {
        Reuse::StaleWhileRevalidate
    } else {
        Reuse::Validate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    const SHARED: Rules = Rules {
        shared: true,
        heuristic: None,
    };
    const T0: u64 = 1_700_000_000;

    fn date(secs: u64) -> HeaderValue {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        HeaderValue::from_str(&httpdate::fmt_http_date(time)).unwrap()
    }

    fn fresh(cc: &str, extra: &[(http::HeaderName, HeaderValue)], rules: Rules) -> Freshness {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_str(cc).unwrap(),
        );
        for (n, v) in extra {
            h.append(n, v.clone());
        }
        let dirs = Directives::from_headers(&h);
        Freshness::of(StatusCode::OK, &h, &dirs, false, rules, T0)
    }

    #[test]
    fn s_maxage_then_max_age_then_expires() {
        assert_eq!(fresh("max-age=10, s-maxage=20", &[], SHARED).lifetime, 20);
        let private = Rules {
            shared: false,
            heuristic: None,
        };
        assert_eq!(fresh("max-age=10, s-maxage=20", &[], private).lifetime, 10);
        let dated = [(DATE, date(T0 - 5)), (EXPIRES, date(T0 + 55))];
        assert_eq!(fresh("public", &dated, SHARED).lifetime, 60);
        assert_eq!(fresh("max-age=3", &dated, SHARED).lifetime, 3);
    }

    #[test]
    fn invalid_or_repeated_values_are_stale() {
        assert_eq!(fresh("max-age=ten", &[], SHARED).lifetime, 0);
        assert_eq!(fresh("max-age=10, max-age=20", &[], SHARED).lifetime, 0);
        let bad = [(EXPIRES, HeaderValue::from_static("0"))];
        assert_eq!(fresh("public", &bad, SHARED).lifetime, 0);
        let twice = [(EXPIRES, date(T0 + 60)), (EXPIRES, date(T0 + 60))];
        assert_eq!(fresh("public", &twice, SHARED).lifetime, 0);
    }

    #[test]
    fn heuristic_is_off_by_default_and_a_fraction_when_on() {
        let lm = [(DATE, date(T0)), (LAST_MODIFIED, date(T0 - 1000))];
        assert_eq!(fresh("", &lm, SHARED).lifetime, 0);
        let on = Rules {
            shared: true,
            heuristic: Some(Heuristic {
                fraction: 0.1,
                max: 50,
            }),
        };
        assert_eq!(fresh("", &lm, on).lifetime, 50);
        let mut h = HeaderMap::new();
        h.insert(DATE, date(T0));
        h.insert(LAST_MODIFIED, date(T0 - 100));
        let dirs = Directives::default();
        // 302 is not heuristically cacheable, unless public.
        assert_eq!(
            Freshness::of(StatusCode::FOUND, &h, &dirs, false, on, T0).lifetime,
            0
        );
        assert_eq!(
            Freshness::of(StatusCode::OK, &h, &dirs, false, on, T0).lifetime,
            10
        );
    }

    #[test]
    fn age_follows_section_4_2_3() {
        let mut h = HeaderMap::new();
        h.insert(DATE, date(T0 - 10));
        h.insert(AGE, HeaderValue::from_static("3"));
        // Apparent age 10 beats age 3 + delay 2.
        assert_eq!(initial_age(&h, T0 - 2, T0), 10);
        h.insert(AGE, HeaderValue::from_static("30"));
        assert_eq!(initial_age(&h, T0 - 2, T0), 32);
        assert_eq!(current_age(32, T0, T0 + 8), 40);
        h.insert(AGE, HeaderValue::from_static("-4"));
        assert_eq!(initial_age(&h, T0, T0), 10);
    }

    #[test]
    fn age_takes_a_lists_first_member_and_ignores_what_is_invalid() {
        let age = |lines: &[&'static str]| {
            let mut h = HeaderMap::new();
            for line in lines {
                h.append(AGE, HeaderValue::from_static(line));
            }
            age_value(&h)
        };
        assert_eq!(age(&[]), None);
        assert_eq!(age(&["7200"]), Some(7200));
        assert_eq!(age(&[" 30 "]), Some(30));
        assert_eq!(age(&["7200,0"]), Some(7200), "a list: its first member");
        assert_eq!(age(&["0, 7200"]), Some(0));
        assert_eq!(age(&["7200, 7200"]), Some(7200));
        assert_eq!(age(&["7200", "7200"]), Some(7200), "lines that agree");
        assert_eq!(age(&["7200", "0"]), None, "lines that disagree");
        assert_eq!(age(&["0", "7200"]), None);
        for invalid in ["abc", "-7200", "7200.0", "7200s", "7200;x=1", "", "1 2"] {
            assert_eq!(age(&[invalid]), None, "{invalid:?}");
        }
        assert_eq!(
            age(&["99999999999999999999"]),
            Some(DELTA_MAX_AGE),
            "saturates"
        );
    }

    const DELTA_MAX_AGE: u64 = super::super::directives::DELTA_MAX;

    #[test]
    fn stale_windows_yield_to_revalidation_directives() {
        let f = fresh(
            "max-age=10, stale-while-revalidate=5, stale-if-error=20",
            &[],
            SHARED,
        );
        let req = Directives::default();
        assert_eq!(reuse(&f, 9, &req), Reuse::Fresh);
        assert_eq!(reuse(&f, 10, &req), Reuse::StaleWhileRevalidate);
        assert_eq!(reuse(&f, 15, &req), Reuse::Validate);
        assert!(f.stale_on_error(29) && !f.stale_on_error(30));
        for cc in [
            "max-age=10, stale-while-revalidate=5, stale-if-error=20, must-revalidate",
            "max-age=10, stale-while-revalidate=5, stale-if-error=20, no-cache",
            "s-maxage=10, stale-while-revalidate=5, stale-if-error=20",
        ] {
            let f = fresh(cc, &[], SHARED);
            assert_eq!(reuse(&f, 11, &req), Reuse::Validate, "{cc}");
            assert!(!f.stale_on_error(11), "{cc}");
        }
        assert_eq!(
            reuse(&fresh("max-age=10, no-cache", &[], SHARED), 1, &req),
            Reuse::Validate
        );
    }

    #[test]
    fn request_directives_narrow_or_widen_reuse() {
        let f = fresh("max-age=100", &[], SHARED);
        let mut req = Directives::default();
        req.parse_into("max-age=5", false);
        assert_eq!(reuse(&f, 6, &req), Reuse::Validate);
        let mut req = Directives::default();
        req.parse_into("min-fresh=50", false);
        assert_eq!(reuse(&f, 60, &req), Reuse::Validate);
        assert_eq!(reuse(&f, 40, &req), Reuse::Fresh);
        let mut req = Directives::default();
        req.parse_into("max-stale=10", false);
        assert_eq!(reuse(&f, 110, &req), Reuse::StaleAccepted);
        assert_eq!(reuse(&f, 111, &req), Reuse::Validate);
        let must = fresh("max-age=100, must-revalidate", &[], SHARED);
        assert_eq!(reuse(&must, 101, &req), Reuse::Validate);
    }

    proptest! {
        #[test]
        fn an_invalid_age_is_as_if_absent(text in "\\PC{0,12}", date_offset in 0u64..100) {
            let mut h = HeaderMap::new();
            h.insert(DATE, date(T0 - date_offset));
            let without = initial_age(&h, T0, T0);
            if let Ok(value) = HeaderValue::from_str(&text) {
                h.insert(AGE, value);
                let numeric = text.trim().split(',').next().is_some_and(|m| {
                    let m = m.trim();
                    !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit())
                });
                if !numeric {
                    prop_assert_eq!(initial_age(&h, T0, T0), without);
                }
            }
        }

        #[test]
        fn nothing_stale_outside_its_windows(
            lifetime in 0u64..1000, swr in 0u64..100, sie in 0u64..100, age in 0u64..2000,
            no_stale: bool, no_cache: bool,
        ) {
            let f = Freshness { lifetime, stale_while_revalidate: swr, stale_if_error: sie, no_stale, no_cache };
            let decision = reuse(&f, age, &Directives::default());
            if age >= lifetime + swr || no_stale || no_cache {
                prop_assert!(matches!(decision, Reuse::Validate | Reuse::Fresh));
            }
            if decision == Reuse::Fresh {
                prop_assert!(age < lifetime && !no_cache);
            }
            if f.stale_on_error(age) {
                prop_assert!(age < lifetime + sie && !no_stale && !no_cache);
            }
        }
    }
}
