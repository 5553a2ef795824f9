//! Tags from `Surrogate-Key` (space-separated, as Fastly reads it) and `Cache-Tag`
//! (comma-separated, as Cloudflare reads it): the groups a stored response can be purged by.

use http::HeaderMap;
use http::header::HeaderName;

const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");
const CACHE_TAG: HeaderName = HeaderName::from_static("cache-tag");

/// The most tags kept per response, and the longest tag; more or longer are dropped, so that a
/// response cannot make its entry's tag index unbounded.
const MAX_TAGS: usize = 64;
const MAX_TAG_LEN: usize = 256;

/// The tags `headers` carry, once each, in order; the fields are removed unless `keep`.
pub(crate) fn take(headers: &mut HeaderMap, keep: bool) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for (name, split) in [(SURROGATE_KEY, b' '), (CACHE_TAG, b',')] {
        for value in headers.get_all(&name) {
            for tag in value.as_bytes().split(|&b| b == split || b == b'\t') {
                let Ok(tag) = std::str::from_utf8(tag.trim_ascii()) else {
                    continue;
                };
                if !tag.is_empty()
                    && tag.len() <= MAX_TAG_LEN
                    && tags.len() < MAX_TAGS
                    && !tags.iter().any(|t| t == tag)
                {
                    tags.push(tag.to_owned());
                }
            }
        }
        if !keep {
            headers.remove(&name);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn both_fields_are_read_and_stripped() {
        let mut h = HeaderMap::new();
        h.insert(
            SURROGATE_KEY,
            HeaderValue::from_static("merchant:42  offers"),
        );
        h.append(CACHE_TAG, HeaderValue::from_static("offers, home"));
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        assert_eq!(take(&mut h, false), ["merchant:42", "offers", "home"]);
        assert_eq!(h.len(), 1);
        let mut h = HeaderMap::new();
        h.insert(CACHE_TAG, HeaderValue::from_static("a"));
        assert_eq!(take(&mut h, true), ["a"]);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn tags_are_bounded() {
        let many: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        let mut h = HeaderMap::new();
        h.insert(
            SURROGATE_KEY,
            HeaderValue::from_str(&many.join(" ")).unwrap(),
        );
        h.append(CACHE_TAG, HeaderValue::from_str(&"x".repeat(300)).unwrap());
        let tags = take(&mut h, false);
        assert_eq!(tags.len(), MAX_TAGS);
        assert!(tags.iter().all(|t| t.len() <= MAX_TAG_LEN));
    }
}
