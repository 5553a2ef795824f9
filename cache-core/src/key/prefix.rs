//! [`KeyPrefix`]: a set of keys named by their leading segments, for prefix invalidation.

use std::fmt::Display;

use super::escape::EscapingWriter;
use super::{CacheKey, write_prefix};
use crate::error::Error;

/// The keys that start with a namespace and, optionally, some leading segments.
///
/// Built from a key type, so that the prefix is rendered exactly as that type renders its keys,
/// with every segment escaped: a user-supplied segment can never widen the prefix to other
/// keys or inject glob characters into a `SCAN MATCH` pattern.
///
/// A prefix built from whole segments matches a key when the key equals the prefix or continues
/// it with `:`, so `user:v1:7` does not match `user:v1:70`. [`partial`](Self::partial) ends the
/// prefix in the middle of a segment for the rare case that wants it.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cache_core::{CacheKey, KeyLayout, KeyPrefix, KeyWriter, Policy, codec::Json};
///
/// #[derive(Clone, PartialEq, Eq, Hash)]
/// struct MediaState { network: String, account: String, media: String }
///
/// impl CacheKey for MediaState {
///     type Value = String;
///     type Codec = Json;
///     const NAMESPACE: &'static str = "media_state";
///     const POLICY: Policy = Policy::builder().time_to_live(Duration::from_secs(3600)).build();
///     const LAYOUT: KeyLayout = KeyLayout::template("");
///     fn write_key(&self, key: &mut KeyWriter<'_>) {
///         key.segment_str(&self.network).segment_str(&self.account).segment_str(&self.media);
///     }
/// }
///
/// let polkadot = KeyPrefix::of::<MediaState>().segment("polkadot");
/// assert!(polkadot.matches("polkadot:5Grw:discord"));
/// assert!(!polkadot.matches("polkadot2:5Grw:discord"));
/// // A template that starts with a field has no namespace prefix of its own.
/// assert!(KeyPrefix::namespace::<MediaState>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix {
    text: String,
    /// Whether the prefix ends on a segment boundary.
    whole: bool,
    /// Whether the next segment starts with `:`, by the rule of [`KeyWriter`](super::KeyWriter).
    needs_separator: bool,
    /// Whether the set is the one key `text` and nothing under it.
    only_itself: bool,
    namespace: &'static str,
    excluded: Vec<String>,
}

impl KeyPrefix {
    /// Every key of `K`'s namespace.
    ///
    /// # Errors
    ///
    /// [`Error`] when `K` uses a template layout with no fixed text, which would name every
    /// key in the store; build the prefix with [`of`](Self::of) and a segment instead.
    pub fn namespace<K: CacheKey>() -> Result<Self, Error> {
        let prefix = Self::of::<K>();
        if prefix.text.is_empty() {
            return Err(Error::unbounded_prefix(K::NAMESPACE));
        }
        Ok(prefix)
    }

    /// The start of a prefix of `K`'s keys, to be followed by [`segment`](Self::segment).
    ///
    /// On its own it is the same set as [`namespace`](Self::namespace) for a namespaced key, and
    /// possibly empty for a template key; the cache refuses an empty prefix.
    pub fn of<K: CacheKey>() -> Self {
        let mut text = String::new();
        write_prefix::<K>(&mut text);
        // A template's fixed text (`otp:`) may end inside a segment: it has no boundary.
        let whole = K::LAYOUT.fixed_prefix().is_none();
        let needs_separator = !text.is_empty() && !text.ends_with(':');
        Self {
            text,
            whole,
            needs_separator,
            only_itself: false,
            namespace: K::NAMESPACE,
            excluded: Vec::new(),
        }
    }

    /// The keys that start with `text`, as it is, counted in `namespace`: for the store's own
    /// records (such as tag markers) and for rendered text from a trusted producer, never for
    /// user input.
    pub(crate) fn raw(text: String, namespace: &'static str) -> Self {
        Self {
            text,
            whole: false,
            needs_separator: false,
            only_itself: false,
            namespace,
            excluded: Vec::new(),
        }
    }

    /// The one rendered key `key`, of whichever key type, as a set (to remove it from the
    /// in-process tier).
    pub(crate) fn only(key: String) -> Self {
        Self {
            only_itself: true,
            whole: true,
            ..Self::raw(key, "(rendered)")
        }
    }

    /// Adds one whole segment, escaped.
    #[must_use]
    pub fn segment(mut self, value: impl Display) -> Self {
        self.push_separator();
        self.write_escaped(value);
        self.whole = true;
        self
    }

    /// Adds the start of a segment, escaped; keys whose next segment starts with `value` match.
    #[must_use]
    pub fn partial(mut self, value: impl Display) -> Self {
        self.push_separator();
        self.write_escaped(value);
        self.whole = false;
        self
    }

    /// Leaves the key `key` alone when the prefix is invalidated, as a `delete_prefix` with an
    /// `exclude` list does.
    #[must_use]
    pub fn exclude<K: CacheKey>(mut self, key: &K) -> Self {
        self.excluded.push(key.render());
        self
    }

    /// The rendered prefix text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The namespace the prefix was built from; stats of prefix invalidations go there.
    pub fn namespace_name(&self) -> &'static str {
        self.namespace
    }

    /// The rendered keys that are excluded.
    pub fn excluded(&self) -> &[String] {
        &self.excluded
    }

    /// Whether the rendered key `key` is in this set (and not excluded).
    pub fn matches(&self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix(self.text.as_str()) else {
            return false;
        };
        let in_set = if self.only_itself {
            rest.is_empty()
        } else {
            !self.whole || rest.is_empty() || rest.starts_with(':')
        };
        in_set && !self.excluded.iter().any(|e| e == key)
    }

    /// The key that the prefix itself names, when it ends on a segment boundary: a key with no
    /// further segments (such as a unit key type's only key) is in the set too.
    pub fn exact(&self) -> Option<&str> {
        (self.whole && !self.text.is_empty()).then_some(self.text.as_str())
    }

    /// The `SCAN MATCH` pattern of the keys in the set beyond [`exact`](Self::exact). The
    /// prefix text is free of glob characters (segments are escaped and fixed text is
    /// glob-escaped here), so the only glob is the trailing `*`.
    pub fn scan_pattern(&self) -> String {
        let escaped = glob_escape(&self.text);
        if self.whole {
            format!("{escaped}:*")
        } else {
            format!("{escaped}*")
        }
    }

    fn push_separator(&mut self) {
        if self.needs_separator {
            self.text.push(':');
        }
        self.needs_separator = true;
    }

    fn write_escaped(&mut self, value: impl Display) {
        use std::fmt::Write;
        // Writing into a String cannot fail.
        let _ = write!(
            EscapingWriter {
                out: &mut self.text
            },
            "{value}"
        );
    }
}

/// Escapes glob characters in fixed text (a namespace or template literal could hold one).
pub(crate) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
