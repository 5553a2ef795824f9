//! `Cache-Status` (RFC 9211): what the cache did with a request, written on every response.

use std::fmt::Write;

use http::HeaderMap;
use http::header::HeaderValue;

/// Why a request went to the origin (`fwd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fwd {
    /// Nothing stored for the URI.
    UriMiss,
    /// Responses stored for the URI, none for this request's `Vary` headers.
    VaryMiss,
    /// A stored response had to be validated.
    Stale,
    /// The request's directives asked for it.
    Request,
    /// The cache was configured (or keyed) not to handle the request.
    Bypass,
    /// The method is not one the cache serves.
    Method,
}

impl Fwd {
    fn as_str(self) -> &'static str {
        match self {
            Self::UriMiss => "uri-miss",
            Self::VaryMiss => "vary-miss",
            Self::Stale => "stale",
            Self::Request => "request",
            Self::Bypass => "bypass",
            Self::Method => "method",
        }
    }
}

/// One `Cache-Status` member.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheStatus {
    pub(crate) hit: bool,
    pub(crate) fwd: Option<Fwd>,
    pub(crate) fwd_status: Option<u16>,
    /// Seconds of freshness left; negative when a stale response was served.
    pub(crate) ttl: Option<i64>,
    pub(crate) stored: bool,
    pub(crate) collapsed: bool,
    pub(crate) detail: Option<&'static str>,
}

impl CacheStatus {
    pub(crate) fn forwarded(fwd: Fwd) -> Self {
        Self {
            fwd: Some(fwd),
            ..Self::default()
        }
    }

    pub(crate) fn hit(ttl: i64) -> Self {
        Self {
            hit: true,
            ttl: Some(ttl),
            ..Self::default()
        }
    }

    /// The member for a cache called `name` (writing into a `String` cannot fail).
    pub(crate) fn render(&self, name: &str) -> String {
        let mut out = String::with_capacity(name.len() + 40);
        out.push_str(name);
        if self.hit {
            out.push_str("; hit");
        }
        if let Some(fwd) = self.fwd {
            out.push_str("; fwd=");
            out.push_str(fwd.as_str());
        }
        if let Some(status) = self.fwd_status {
            let _ = write!(out, "; fwd-status={status}");
        }
        if let Some(ttl) = self.ttl {
            let _ = write!(out, "; ttl={ttl}");
        }
        if self.stored {
            out.push_str("; stored");
        }
        if self.collapsed {
            out.push_str("; collapsed");
        }
        if let Some(detail) = self.detail {
            out.push_str("; detail=");
            out.push_str(detail);
        }
        out
    }

    /// Adds this member after any `Cache-Status` members of caches closer to the origin.
    pub(crate) fn write(&self, name: &str, headers: &mut HeaderMap) {
        let ours = self.render(name);
        let value = match headers.get(CACHE_STATUS).map(HeaderValue::as_bytes) {
            Some(upstream) if !upstream.trim_ascii().is_empty() => {
                let mut joined = Vec::with_capacity(upstream.len() + 2 + ours.len());
                joined.extend_from_slice(upstream);
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(ours.as_bytes());
                HeaderValue::from_maybe_shared(bytes::Bytes::from(joined))
            }
            // The String's buffer becomes the value without a copy.
            _ => HeaderValue::from_maybe_shared(bytes::Bytes::from(ours)),
        };
        if let Ok(value) = value {
            headers.insert(CACHE_STATUS, value);
        }
    }
}

/// The `Cache-Status` field name.
pub(crate) const CACHE_STATUS: http::HeaderName = http::HeaderName::from_static("cache-status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_read_as_rfc_9211_shows_them() {
        let mut s = CacheStatus::forwarded(Fwd::UriMiss);
        s.fwd_status = Some(200);
        s.stored = true;
        assert_eq!(
            s.render("edge"),
            "edge; fwd=uri-miss; fwd-status=200; stored"
        );
        assert_eq!(CacheStatus::hit(-3).render("edge"), "edge; hit; ttl=-3");
        let mut h = HeaderMap::new();
        h.insert(CACHE_STATUS, HeaderValue::from_static("origin-cache; hit"));
        CacheStatus::hit(5).write("edge", &mut h);
        assert_eq!(h[CACHE_STATUS], "origin-cache; hit, edge; hit; ttl=5");
    }
}
