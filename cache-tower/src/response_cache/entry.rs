//! What is stored: a URI's responses (one per `Vary` variant), their typed cache key, and the
//! binary codec that carries them through a far tier.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use cache_core::Error;
use cache_core::codec::Codec;
use cache_core::{CacheKey, KeyWriter, Policy};
use http::header::{AGE, ETAG, HeaderName, HeaderValue, LAST_MODIFIED};
use http::{HeaderMap, StatusCode};

use super::rules::freshness::{Freshness, current_age};
use super::rules::status::CACHE_STATUS;
use super::rules::vary::Secondary;

/// The namespace HTTP entries are stored and counted under.
pub(crate) const NAMESPACE: &str = "http";

/// The key of a URI's stored responses: the method they answer (`GET`, or `HEAD` for responses
/// stored from a `HEAD`) and the cache key text (by default the effective request URI).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ResponseKey {
    pub(crate) head: bool,
    pub(crate) uri: String,
}

impl CacheKey for ResponseKey {
    type Value = Variants;
    type Codec = EntryCodec;
    const NAMESPACE: &'static str = NAMESPACE;
    // Each entry gets its own TTL from its headers; this bounds a stray write.
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(24 * 3600))
        .build();

    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(if self.head { "HEAD" } else { "GET" });
        key.segment_str(&self.uri);
    }

    fn weigh_key(&self) -> usize {
        std::mem::size_of::<Self>() + self.uri.len()
    }

    fn value_tags(value: &Variants) -> Vec<String> {
        value.tags().into_iter().map(str::to_owned).collect()
    }

    fn weigh(value: &Variants) -> usize {
        value.0.iter().map(|v| v.weight()).sum::<usize>() + std::mem::size_of::<Variants>()
    }
}

/// The stored responses of one URI, one per secondary key, newest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variants(pub(crate) Vec<Arc<Stored>>);

impl Variants {
    /// The newest response whose secondary key `request` matches.
    pub(crate) fn select(&self, request: &HeaderMap) -> Option<&Arc<Stored>> {
        self.0
            .iter()
            .find(|v| super::rules::vary::matches(&v.secondary, request))
    }

    /// These variants with `stored` in front, replacing one of the same secondary key, keeping at
    /// most `max`.
    pub(crate) fn with(&self, stored: Arc<Stored>, max: usize) -> Self {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let key = stored.secondary.clone();
        out.push(stored);
        out.extend(
            self.0
                .iter()
                .filter(|v| v.secondary != key)
                .take(max.saturating_sub(1))
                .cloned(),
        );
        Self(out)
    }

    /// Every variant's tags, once each.
    pub(crate) fn tags(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for tag in self.0.iter().flat_map(|v| &v.tags) {
            if !out.contains(&tag.as_str()) {
                out.push(tag);
            }
        }
        out
    }

    /// The longest any variant stays useful from `now`, in seconds.
    pub(crate) fn keep_for(&self, now: u64, keep_stale: u64) -> u64 {
        self.0
            .iter()
            .map(|v| v.useful_for(keep_stale).saturating_sub(v.age(now)))
            .max()
            .unwrap_or(0)
    }
}

/// Adds the fields every answer from storage rewrites (`Age`, `Cache-Status`) as placeholders,
/// so that serving a copy replaces two values instead of growing and rehashing the copied map
/// (measured: a third of the hit path's instructions). They are never encoded.
pub(crate) fn reserve_answer_fields(headers: &mut HeaderMap) {
    headers.insert(AGE, HeaderValue::from_static("0"));
    headers.insert(CACHE_STATUS, HeaderValue::from_static(""));
}

/// Whether a stored field is one of the placeholders of [`reserve_answer_fields`].
fn is_answer_field(name: &HeaderName) -> bool {
    name == AGE || name == CACHE_STATUS
}

/// One stored response.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) status: StatusCode,
    /// Without hop-by-hop fields; `Age` and `Cache-Status` are placeholders
    /// ([`reserve_answer_fields`]).
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Seconds since the epoch at which the response arrived.
    pub(crate) response_time: u64,
    /// `corrected_initial_age` (RFC 9111 section 4.2.3).
    pub(crate) initial_age: u64,
    pub(crate) freshness: Freshness,
    pub(crate) secondary: Secondary,
    /// The `Surrogate-Key` / `Cache-Tag` tags it was stored under.
    pub(crate) tags: Vec<String>,
}

impl Stored {
    /// The current age at `now`.
    pub(crate) fn age(&self, now: u64) -> u64 {
        current_age(self.initial_age, self.response_time, now)
    }

    /// The entity tag, if any.
    pub(crate) fn etag(&self) -> Option<&HeaderValue> {
        self.headers.get(ETAG)
    }

    /// Whether the response can be validated with the origin.
    pub(crate) fn has_validator(&self) -> bool {
        self.headers.contains_key(ETAG) || self.headers.contains_key(LAST_MODIFIED)
    }

    /// Seconds from its receipt the response stays useful: fresh, then stale for its RFC 5861
    /// windows, and for `keep_stale` when it can still be validated or served while the origin
    /// cannot be reached.
    pub(crate) fn useful_for(&self, keep_stale: u64) -> u64 {
        let keep = self.has_validator() || self.freshness.may_serve_stale();
        self.freshness.useful_for(if keep { keep_stale } else { 0 })
    }

    fn weight(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 32)
            .sum();
        let secondary: usize = self
            .secondary
            .iter()
            .map(|(n, v)| n.as_str().len() + v.as_ref().map_or(0, Bytes::len) + 32)
            .sum();
        let tags: usize = self.tags.iter().map(|t| t.len() + 24).sum();
        std::mem::size_of::<Self>() + headers + secondary + tags + self.body.len()
    }
}

/// The binary format of [`Variants`] in a far tier. Version byte first, so a future layout is
/// read as undecodable (a miss) rather than misread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryCodec;

const FORMAT: u8 = 2;
/// Bounds that keep a corrupted length from asking for absurd allocations.
const MAX_ITEMS: u64 = 1 << 16;

impl Codec<Variants> for EntryCodec {
    const NAME: &'static str = "http-entry";

    fn encode(value: &Variants) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(value.0.iter().map(|v| v.weight()).sum::<usize>() + 8);
        out.push(FORMAT);
        put_len(&mut out, value.0.len());
        for v in &value.0 {
            put_u64(&mut out, u64::from(v.status.as_u16()));
            put_u64(&mut out, v.response_time);
            put_u64(&mut out, v.initial_age);
            let f = &v.freshness;
            put_u64(&mut out, f.lifetime);
            put_u64(&mut out, f.stale_while_revalidate);
            put_u64(&mut out, f.stale_if_error);
            out.push(u8::from(f.no_stale) | u8::from(f.no_cache) << 1);
            let fields = || v.headers.iter().filter(|(n, _)| !is_answer_field(n));
            put_len(&mut out, fields().count());
            for (name, value) in fields() {
                put_bytes(&mut out, name.as_str().as_bytes());
                put_bytes(&mut out, value.as_bytes());
            }
            put_len(&mut out, v.secondary.len());
            for (name, value) in &v.secondary {
                put_bytes(&mut out, name.as_str().as_bytes());
                match value {
                    Some(value) => {
                        out.push(1);
                        put_bytes(&mut out, value);
                    }
                    None => out.push(0),
                }
            }
            put_len(&mut out, v.tags.len());
            for tag in &v.tags {
                put_bytes(&mut out, tag.as_bytes());
            }
            put_bytes(&mut out, &v.body);
        }
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Result<Variants, Error> {
        decode(bytes).map_err(|what| Error::decode(Self::NAME, what))
    }
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_u64(out, n as u64);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, &'static str> {
        if self.0.is_empty() {
            return Err("truncated entry");
        }
        Ok(self.0.get_u8())
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        if self.0.len() < 8 {
            return Err("truncated entry");
        }
        Ok(self.0.get_u64_le())
    }

    fn count(&mut self) -> Result<usize, &'static str> {
        let n = self.u64()?;
        if n > MAX_ITEMS {
            return Err("implausible item count");
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&[u8], &'static str> {
        let n = self.u64()?;
        if n > self.0.len() as u64 {
            return Err("truncated entry");
        }
        let (head, rest) = self.0.split_at(n as usize);
        self.0 = rest;
        Ok(head)
    }
}

fn decode(bytes: &[u8]) -> Result<Variants, &'static str> {
    let mut r = Reader(bytes);
    if r.u8()? != FORMAT {
        return Err("unknown entry format");
    }
    let n = r.count()?;
    let mut variants = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let status = u16::try_from(r.u64()?).map_err(|_| "bad status")?;
        let status = StatusCode::from_u16(status).map_err(|_| "bad status")?;
        let response_time = r.u64()?;
        let initial_age = r.u64()?;
        let lifetime = r.u64()?;
        let stale_while_revalidate = r.u64()?;
        let stale_if_error = r.u64()?;
        let flags = r.u8()?;
        if flags > 3 {
            return Err("bad flags");
        }
        let count = r.count()?;
        let mut headers = HeaderMap::with_capacity(count.min(64) + 2);
        for _ in 0..count {
            let name = HeaderName::from_bytes(r.bytes()?).map_err(|_| "bad header name")?;
            let value = HeaderValue::from_bytes(r.bytes()?).map_err(|_| "bad header value")?;
            headers.append(name, value);
        }
        reserve_answer_fields(&mut headers);
        let count = r.count()?;
        let mut secondary = Vec::with_capacity(count.min(16));
        for _ in 0..count {
            let name = HeaderName::from_bytes(r.bytes()?).map_err(|_| "bad vary name")?;
            let value = match r.u8()? {
                0 => None,
                1 => Some(Bytes::copy_from_slice(r.bytes()?)),
                _ => return Err("bad vary value"),
            };
            secondary.push((name, value));
        }
        let count = r.count()?;
        let mut tags = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let tag = std::str::from_utf8(r.bytes()?).map_err(|_| "bad tag")?;
            tags.push(tag.to_owned());
        }
        let body = Bytes::copy_from_slice(r.bytes()?);
        variants.push(Arc::new(Stored {
            status,
            headers,
            body,
            response_time,
            initial_age,
            freshness: Freshness {
                lifetime,
                stale_while_revalidate,
                stale_if_error,
                no_stale: flags & 1 != 0,
                no_cache: flags & 2 != 0,
            },
            secondary,
            tags,
        }));
    }
    if !r.0.is_empty() {
        return Err("trailing bytes");
    }
    Ok(Variants(variants))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(body: &[u8], vary: Option<&str>) -> Variants {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        reserve_answer_fields(&mut headers);
        Variants(vec![Arc::new(Stored {
            status: StatusCode::NOT_FOUND,
            headers,
            body: Bytes::copy_from_slice(body),
            response_time: 1_700_000_000,
            initial_age: 3,
            freshness: Freshness {
                lifetime: 60,
                stale_while_revalidate: 5,
                stale_if_error: 0,
                no_stale: true,
                no_cache: false,
            },
            secondary: vec![(
                HeaderName::from_static("accept"),
                vary.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            )],
            tags: vec!["merchant:42".into(), "offers".into()],
        })])
    }

    #[test]
    fn round_trips() {
        for vary in [None, Some("text/html")] {
            let v = sample(b"hello", vary);
            let back = EntryCodec::decode(&EntryCodec::encode(&v).unwrap()).unwrap();
            let (a, b) = (&v.0[0], &back.0[0]);
            assert_eq!(a.status, b.status);
            assert_eq!(a.headers, b.headers);
            assert_eq!(a.body, b.body);
            assert_eq!(a.freshness, b.freshness);
            assert_eq!(a.secondary, b.secondary);
            assert_eq!(a.tags, b.tags);
            assert_eq!(
                (a.response_time, a.initial_age),
                (b.response_time, b.initial_age)
            );
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = EntryCodec::encode(&sample(b"body", Some("x"))).unwrap();
        for cut in 0..bytes.len() {
            assert!(EntryCodec::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(EntryCodec::decode(&longer).is_err());
    }

    #[test]
    fn keys_of_hostile_uris_stay_distinct() {
        let a = ResponseKey {
            head: false,
            uri: "http://a/x:y".into(),
        };
        let b = ResponseKey {
            head: false,
            uri: "http://a/x".into(),
        };
        let head = ResponseKey {
            head: true,
            uri: "http://a/x".into(),
        };
        assert_ne!(a.render(), b.render());
        assert_ne!(b.render(), head.render());
        assert!(!a.render().contains('*'));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = EntryCodec::decode(&bytes);
            let mut framed = vec![FORMAT];
            framed.extend_from_slice(&bytes);
            let _ = EntryCodec::decode(&framed);
        }

        #[test]
        fn bodies_round_trip(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let v = sample(&body, None);
            let back = EntryCodec::decode(&EntryCodec::encode(&v).unwrap()).unwrap();
            prop_assert_eq!(&back.0[0].body[..], &body[..]);
        }
    }
}
