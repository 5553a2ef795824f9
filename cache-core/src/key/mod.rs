//! Typed cache keys: what is cached, under which rendered key, for how long.
//!
//! A key type implements [`CacheKey`] (usually through `#[derive(CacheKey)]`): it names its
//! value type, the [`Codec`](crate::Codec) of that value, a namespace and format version, a
//! [`Policy`] (TTL, jitter, refresh-ahead, negative caching), and how it writes its segments.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cache_core::{CacheKey, KeyWriter, Policy, codec::Json};
//!
//! #[derive(Clone, PartialEq, Eq, Hash)]
//! struct SessionKey(String);
//!
//! impl CacheKey for SessionKey {
//!     type Value = String;
//!     type Codec = Json;
//!     const NAMESPACE: &'static str = "session";
//!     const POLICY: Policy = Policy::builder().time_to_live(Duration::from_secs(24 * 3600)).build();
//!     fn write_key(&self, key: &mut KeyWriter<'_>) {
//!         key.segment_str(&self.0);
//!     }
//! }
//!
//! assert_eq!(SessionKey("abc".into()).render(), "session:v1:abc");
//! assert_eq!(SessionKey("a:b*".into()).render(), "session:v1:a%3Ab%2A");
//! ```

mod escape;
mod layout;
mod policy;
mod prefix;
mod writer;

use std::hash::Hash;

pub use layout::KeyLayout;
pub use policy::{Policy, PolicyBuilder};
pub use prefix::KeyPrefix;
#[cfg(feature = "redis")]
pub(crate) use prefix::glob_escape;
pub use writer::KeyWriter;

use crate::codec::Codec;

/// A typed cache key.
///
/// Two keys that are equal render to the same text, and two keys that differ render to
/// different text (user-supplied segments are escaped by [`KeyWriter`]). The `Hash` and `Eq`
/// implementations are used by the in-process tier, the rendered text by Redis.
pub trait CacheKey: Hash + Eq + Clone + Send + Sync + 'static {
    /// The type of the cached value.
    type Value: Send + Sync + 'static;
    /// How the value is turned into bytes for a far tier, and weighed.
    type Codec: Codec<Self::Value>;

    /// The namespace: the first segment of rendered keys and the name that stats are kept under.
    const NAMESPACE: &'static str;
    /// The format version of the value; bump it when the value's encoding changes.
    const VERSION: u32 = 1;
    /// TTL, jitter, refresh-ahead and negative caching for this key type.
    const POLICY: Policy;
    /// Whether rendered keys start with `namespace:vVERSION` or follow a template.
    const LAYOUT: KeyLayout = KeyLayout::namespaced();

    /// Writes this key's segments after the layout's prefix.
    fn write_key(&self, key: &mut KeyWriter<'_>);

    /// The tags every entry of this key is written with, for
    /// [`Cache::invalidate_tag`](crate::Cache::invalidate_tag); none by default. The derive's
    /// `tags = ["merchant:{id}"]` fills them from the key's fields, escaped like segments.
    fn tags(&self) -> Vec<String> {
        Vec::new()
    }

    /// Tags an entry is recorded under because of its value, besides [`tags`](Self::tags): for
    /// values that carry their own groups, such as HTTP responses tagged by their
    /// `Surrogate-Key` header. None by default.
    fn value_tags(value: &Self::Value) -> Vec<String> {
        let _ = value;
        Vec::new()
    }

    /// The weight of a value in bytes, used when the cache is bounded by weight.
    ///
    /// The default is the size of the value type plus the length of its encoding, a fair
    /// estimate of the heap it holds. Override it when a cheaper or more exact figure exists.
    fn weigh(value: &Self::Value) -> usize {
        std::mem::size_of::<Self::Value>()
            + <Self::Codec as Codec<Self::Value>>::encode(value).map_or(0, |bytes| bytes.len())
    }

    /// The bytes this key holds, charged with its value when the in-process tier is bounded by
    /// weight.
    ///
    /// The default is the key's own size plus the length of its rendered text, an estimate of
    /// the heap its fields hold. Override it when a cheaper or more exact figure exists.
    fn weigh_key(&self) -> usize {
        std::mem::size_of::<Self>() + self.render().len()
    }

    /// Renders the key: the layout's prefix followed by what [`write_key`](Self::write_key)
    /// writes. Not meant to be overridden.
    fn render(&self) -> String {
        let mut text = String::with_capacity(Self::NAMESPACE.len() + 24);
        write_prefix::<Self>(&mut text);
        self.write_key(&mut KeyWriter::new(&mut text));
        text
    }
}

/// `segment` with every separator, glob and hash-tag character escaped.
pub(crate) fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    escape::push_escaped(&mut out, segment);
    out
}

/// The segment that [`escape_segment`] turned into `escaped`; `None` for text it cannot have
/// written.
pub(crate) fn unescape_segment(escaped: &str) -> Option<String> {
    escape::unescape(escaped)
}

/// Writes the layout's prefix of `K` into `text`.
pub(crate) fn write_prefix<K: CacheKey>(text: &mut String) {
    match K::LAYOUT.fixed_prefix() {
        Some(fixed) => text.push_str(fixed),
        None => {
            if const { escape::is_plain(K::NAMESPACE) } {
                text.push_str(K::NAMESPACE);
            } else {
                escape::push_escaped(text, K::NAMESPACE);
            }
            text.push_str(":v");
            escape::push_decimal(text, u64::from(K::VERSION));
        }
    }
}

#[cfg(test)]
mod tests;
