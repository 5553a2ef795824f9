//! What the response cache did with a request, read back from its `Cache-Status` member.

/// The outcome of one request, as counted and labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered fresh from storage.
    Hit,
    /// Answered from storage while stale (`stale-while-revalidate`, `max-stale`,
    /// `stale-if-error`).
    Stale,
    /// A stale response validated with the origin (`304`) and answered from storage.
    Revalidated,
    /// Sent to the origin because nothing usable was stored.
    Miss,
    /// Sent to the origin without looking at storage (method, request directives, key
    /// function), or answered by no response cache at all.
    Bypass,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Stale => "stale",
            Self::Revalidated => "revalidated",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }

    /// Reads the last (the nearest cache's) member of a `Cache-Status` value.
    pub(crate) fn from_cache_status(value: Option<&[u8]>) -> Self {
        let Some(value) = value.and_then(|v| std::str::from_utf8(v).ok()) else {
            return Self::Bypass;
        };
        let member = value.rsplit(',').next().unwrap_or("");
        let mut hit = false;
        let mut fwd = None;
        let mut fwd_status = None;
        let mut stale_detail = false;
        for param in member.split(';').skip(1).map(str::trim) {
            match param.split_once('=') {
                None if param == "hit" => hit = true,
                Some(("fwd", v)) => fwd = Some(v),
                Some(("fwd-status", v)) => fwd_status = Some(v),
                Some(("detail", v)) => {
                    stale_detail =
                        matches!(v, "stale-while-revalidate" | "max-stale" | "stale-if-error");
                }
                _ => {}
            }
        }
        match (hit, fwd, fwd_status) {
            (true, _, _) if stale_detail => Self::Stale,
            (true, _, _) => Self::Hit,
            (false, Some("stale"), Some("304")) => Self::Revalidated,
            (false, Some("uri-miss" | "vary-miss" | "miss" | "stale"), _) => Self::Miss,
            _ => Self::Bypass,
        }
    }
}

/// Whether the last `Cache-Status` member reports a failed store (`detail=store-error`).
pub(crate) fn store_error(value: Option<&[u8]>) -> bool {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|member| member.split(';').any(|p| p.trim() == "detail=store-error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(v: &str) -> Outcome {
        Outcome::from_cache_status(Some(v.as_bytes()))
    }

    #[test]
    fn members_map_to_outcomes() {
        assert_eq!(of("edge; hit; ttl=30"), Outcome::Hit);
        assert_eq!(
            of("edge; hit; ttl=-3; detail=stale-while-revalidate"),
            Outcome::Stale
        );
        assert_eq!(
            of("edge; hit; fwd=stale; fwd-status=503; ttl=-9; detail=stale-if-error"),
            Outcome::Stale
        );
        assert_eq!(
            of("edge; fwd=stale; fwd-status=304; ttl=20; stored"),
            Outcome::Revalidated
        );
        assert_eq!(
            of("edge; fwd=uri-miss; fwd-status=200; stored"),
            Outcome::Miss
        );
        assert_eq!(of("edge; fwd=stale; fwd-status=200"), Outcome::Miss);
        assert_eq!(of("edge; fwd=method; fwd-status=201"), Outcome::Bypass);
        assert_eq!(of("origin; hit, edge; fwd=uri-miss"), Outcome::Miss);
        assert_eq!(Outcome::from_cache_status(None), Outcome::Bypass);
        assert!(store_error(Some(
            b"edge; fwd=uri-miss; fwd-status=200; detail=store-error"
        )));
        assert!(!store_error(Some(b"edge; detail=store-error, edge2; hit")));
    }
}
