//! What a request's URI says, as every layer reads it: the effective request URI (the response
//! cache's primary key, RFC 9111 section 4), the origin of a `Location`, a copy of a request's
//! head, and a normalised path.

#[cfg(feature = "response-cache")]
use http::header::HOST;
#[cfg(feature = "response-cache")]
use http::request::Parts;

#[cfg(feature = "response-cache")]
/// The effective request URI (RFC 9110 section 7.1): scheme, lower-cased authority (from the
/// request target, else `Host`), path and query.
///
/// `None`, so that the request is neither answered from nor stored in the cache, when no single
/// authority can be told: no authority at all, several `Host` lines, a `Host` that is not a
/// plain `host[:port]`, or an absolute-form target (`GET http://a.example/`) whose authority
/// disagrees with `Host: b.example`. An origin may answer such a request for either host, so
/// neither key would be safe to store it under.
pub(crate) fn effective_uri(parts: &Parts, default_scheme: &str) -> Option<String> {
    let uri = &parts.uri;
    let scheme = uri.scheme_str().unwrap_or(default_scheme);
    let mut hosts = parts.headers.get_all(HOST).iter();
    let host = hosts.next().map(http::HeaderValue::as_bytes);
    if hosts.next().is_some() || host.is_some_and(|h| !valid_host(h)) {
        return None;
    }
    let authority = match (uri.authority(), host) {
        (Some(target), Some(host)) if !same_authority(target.as_str().as_bytes(), host, scheme) => {
            return None;
        }
        (Some(target), _) => target.as_str().as_bytes(),
        (None, host) => host?,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let path = if path.is_empty() { "/" } else { path };
    // `a.example:80` and `a.example` are one authority over http.
    let authority = authority
        .strip_suffix(default_port(scheme))
        .unwrap_or(authority);
    let mut out = String::with_capacity(scheme.len() + authority.len() + path.len() + 3);
    out.extend(scheme.chars().map(|c| c.to_ascii_lowercase()));
    out.push_str("://");
    // Checked above (or by the URI parser) to be ASCII.
    out.extend(
        authority
            .iter()
            .map(|&b| char::from(b.to_ascii_lowercase())),
    );
    out.push_str(path);
    Some(out)
}

#[cfg(feature = "response-cache")]
/// Whether two authorities name the same host and port, ignoring case and the scheme's
/// default port (`a.example` and `A.example:80` over `http`).
fn same_authority(a: &[u8], b: &[u8], scheme: &str) -> bool {
    let port = default_port(scheme);
    let a = a.strip_suffix(port).unwrap_or(a);
    let b = b.strip_suffix(port).unwrap_or(b);
    a.eq_ignore_ascii_case(b)
}

#[cfg(feature = "response-cache")]
/// `:443` for `https`, else `:80`.
fn default_port(scheme: &str) -> &'static [u8] {
    if scheme.eq_ignore_ascii_case("https") {
        b":443"
    } else {
        b":80"
    }
}

#[cfg(feature = "response-cache")]
/// Whether a `Host` value is a plain `host[:port]` (RFC 9110 section 7.2): registered-name,
/// IPv4 or bracketed IPv6 characters only; no user info, path or whitespace.
fn valid_host(host: &[u8]) -> bool {
    !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]%".contains(&b))
}

#[cfg(feature = "response-cache")]
/// The effective URI of `location` (a `Location` or `Content-Location` value) relative to the
/// request `parts`, when it has the same origin (section 4.4 invalidates only those).
pub(crate) fn same_origin(parts: &Parts, location: &[u8], default_scheme: &str) -> Option<Parts> {
    let target: http::Uri = http::Uri::try_from(location).ok()?;
    let mut request = http::Request::new(());
    *request.headers_mut() = parts.headers.clone();
    let (mut out, ()) = request.into_parts();
    match target.authority() {
        None => {
            // Relative: only path-absolute references are resolved; others are left alone.
            let path = target.path_and_query()?.as_str();
            if !path.starts_with('/') {
                return None;
            }
            let mut uri = http::uri::Builder::new().path_and_query(path);
            if let Some(s) = parts.uri.scheme() {
                uri = uri.scheme(s.clone());
            }
            if let Some(a) = parts.uri.authority() {
                uri = uri.authority(a.clone());
            }
            out.uri = uri.build().ok()?;
        }
        Some(_) => {
            out.uri = target;
            let ours = effective_uri(parts, default_scheme)?;
            let theirs = effective_uri(&out, default_scheme)?;
            if origin_of(&ours) != origin_of(&theirs) {
                return None;
            }
        }
    }
    Some(out)
}

/// `path` normalised as RFC 3986 section 6.2.2 does, so that spellings of one path compare
/// equal: percent-encoded unreserved characters decoded (`%7E` is `~`), other escapes in upper
/// case, empty segments dropped (`//`), and dot segments resolved (`/a/../b` is `/b`), never
/// above the root.
#[cfg(any(feature = "rate-limit", feature = "response-cache"))]
pub(crate) fn normalize_path(path: &str) -> String {
    let mut decoded = String::with_capacity(path.len());
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let hex = |at: usize| bytes.get(at).and_then(|h| char::from(*h).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                let c = char::from(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                    decoded.push(c);
                } else {
                    decoded.push('%');
                    decoded.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    decoded.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                i += 3;
            }
            _ => {
                // The path came out of `http::Uri`, which admits only ASCII.
                decoded.push(char::from(b));
                i += 1;
            }
        }
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || decoded.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Whether the normalised `path` is `base` or under it (`/health` covers `/health` and
/// `/health/live`, not `/healthz`); `base` is normalised, its trailing `/` ignored.
#[cfg(any(feature = "rate-limit", feature = "response-cache"))]
pub(crate) fn is_at_or_under(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(feature = "response-cache")]
/// A copy of a request's head (method, URI, headers), for decisions made once the body has
/// gone to the origin.
pub(crate) fn head_copy(parts: &Parts) -> Parts {
    let mut copy = http::Request::new(());
    *copy.method_mut() = parts.method.clone();
    *copy.uri_mut() = parts.uri.clone();
    *copy.headers_mut() = parts.headers.clone();
    copy.into_parts().0
}

#[cfg(feature = "response-cache")]
/// `scheme://authority` of an effective URI.
pub(crate) fn origin_of(uri: &str) -> &str {
    let after = uri.find("://").map_or(0, |i| i + 3);
    let end = uri[after..].find('/').map_or(uri.len(), |i| after + i);
    &uri[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, host: Option<&str>) -> Parts {
        let mut b = http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header(HOST, h);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[cfg(feature = "response-cache")]
    #[test]
    fn origin_form_takes_the_host_header() {
        let p = parts("/a/b?x=1", Some("Example.COM:8080"));
        assert_eq!(
            effective_uri(&p, "http").unwrap(),
            "http://example.com:8080/a/b?x=1"
        );
        let p = parts("https://API.example.com/", None);
        assert_eq!(
            effective_uri(&p, "http").unwrap(),
            "https://api.example.com/"
        );
        assert!(effective_uri(&parts("/a", None), "http").is_none());
        assert!(effective_uri(&parts("/a", Some("bad host")), "http").is_none());
    }

    #[cfg(feature = "response-cache")]
    #[test]
    fn a_target_authority_must_agree_with_host() {
        let agree = parts("http://A.example/x", Some("a.example:80"));
        assert_eq!(effective_uri(&agree, "http").unwrap(), "http://a.example/x");
        let tls = parts("https://a.example/x", Some("a.example:443"));
        assert_eq!(effective_uri(&tls, "http").unwrap(), "https://a.example/x");
        assert!(effective_uri(&parts("http://a.example/", Some("b.example")), "http").is_none());
        assert!(effective_uri(&parts("http://a.example/", Some("a.example:81")), "http").is_none());
        let mut twice = parts("/x", Some("a.example"));
        twice
            .headers
            .append(HOST, http::HeaderValue::from_static("b.example"));
        assert!(effective_uri(&twice, "http").is_none());
        assert!(effective_uri(&parts("http://a.example/", Some("bad host")), "http").is_none());
    }

    #[cfg(any(feature = "rate-limit", feature = "response-cache"))]
    #[test]
    fn paths_normalise_as_rfc_3986_says() {
        for (raw, normal) in [
            ("/health", "/health"),
            ("//health", "/health"),
            ("/health/", "/health/"),
            ("/%68ealth", "/health"),
            ("/health/../login", "/login"),
            ("/./health/./x", "/health/x"),
            ("/../../etc", "/etc"),
            ("/a%2fb", "/a%2Fb"),
            ("/a%2F..%2Fb", "/a%2F..%2Fb"),
            ("/", "/"),
            ("", "/"),
            ("/%7euser", "/~user"),
        ] {
            assert_eq!(normalize_path(raw), normal, "{raw}");
        }
    }

    #[cfg(feature = "response-cache")]
    #[test]
    fn locations_resolve_only_within_the_origin() {
        let p = parts("/items/1", Some("example.com"));
        let rel = same_origin(&p, b"/items/2", "http").unwrap();
        assert_eq!(
            effective_uri(&rel, "http").unwrap(),
            "http://example.com/items/2"
        );
        let abs = same_origin(&p, b"http://example.com/items/3", "http").unwrap();
        assert_eq!(
            effective_uri(&abs, "http").unwrap(),
            "http://example.com/items/3"
        );
        assert!(same_origin(&p, b"http://evil.example/items/3", "http").is_none());
        assert!(same_origin(&p, b"https://example.com/items/3", "http").is_none());
    }
}
