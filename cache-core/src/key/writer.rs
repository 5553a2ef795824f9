//! [`KeyWriter`]: how a key type writes its segments into the rendered key.

use std::fmt::{Display, Write};

use super::escape::{EscapingWriter, push_escaped};

/// Writes the parts of a rendered key.
///
/// A [`CacheKey`](crate::CacheKey) receives a writer that already holds its prefix (for the
/// default layout `namespace:vVERSION`, for a template layout nothing) and adds its own parts:
///
/// - [`segment`](Self::segment) adds `:` and the value, escaped (no `:` at the very start of
///   a key, nor right after fixed text that ends in `:`, such as the template prefix `otp:`);
/// - [`value`](Self::value) adds the value, escaped, with no separator (for templates such as
///   `{network}-{account}`);
/// - [`literal`](Self::literal) adds fixed text as it is. It takes only `&'static str`, so a
///   value that came from a user cannot be passed unescaped by accident.
///
/// Escaping replaces `: * ? [ ] \ { } %` and control characters with `%XX`, so no user input
/// can name another key, add a segment, or inject glob characters into a prefix scan.
///
/// # Example
///
/// ```
/// use cache_core::KeyWriter;
///
/// let mut text = String::from("session:v1");
/// KeyWriter::new(&mut text).segment("tok:en*");
/// assert_eq!(text, "session:v1:tok%3Aen%2A");
/// ```
#[derive(Debug)]
pub struct KeyWriter<'a> {
    out: &'a mut String,
    needs_separator: bool,
}

impl<'a> KeyWriter<'a> {
    /// A writer that appends to `out`.
    pub fn new(out: &'a mut String) -> Self {
        let needs_separator = !out.is_empty() && !out.ends_with(':');
        Self {
            out,
            needs_separator,
        }
    }

    /// Appends `:` (when the key is not empty) and `value`, escaped.
    pub fn segment(&mut self, value: impl Display) -> &mut Self {
        self.separator();
        self.value(value)
    }

    /// Appends `value`, escaped, with no separator.
    pub fn value(&mut self, value: impl Display) -> &mut Self {
        // Writing into a String cannot fail.
        let _ = write!(EscapingWriter { out: self.out }, "{value}");
        self.needs_separator = true;
        self
    }

    /// Appends a `str` segment, escaped; the same as [`segment`](Self::segment) without the
    /// formatting machinery.
    pub fn segment_str(&mut self, value: &str) -> &mut Self {
        self.separator();
        push_escaped(self.out, value);
        self.needs_separator = true;
        self
    }

    /// Appends fixed text as it is.
    pub fn literal(&mut self, text: &'static str) -> &mut Self {
        self.out.push_str(text);
        if !text.is_empty() {
            self.needs_separator = !text.ends_with(':');
        }
        self
    }

    fn separator(&mut self) {
        if self.needs_separator {
            self.out.push(':');
        }
    }
}
