//! Escaping of user-supplied key segments.
//!
//! Rendered keys use `:` between segments, and Redis `SCAN MATCH` treats `* ? [ ] \` as glob
//! syntax, while Redis Cluster hashes only what stands between `{` and `}`. A segment is written
//! with each of those characters, the escape character `%` itself and every ASCII control
//! character replaced by `%XX` (upper-case hex), so that no input can add a separator, a glob or a
//! hash tag to a key. The encoding is injective: two different segments never escape to the same
//! text, and ordinary text (letters, digits, `-`, `_`, `.`, `@`, non-ASCII letters) is unchanged,
//! so keys stay readable and match what other services write.

use std::fmt::{self, Write};

/// Whether `c` must be written as `%XX` inside a segment.
pub(crate) const fn needs_escape(c: char) -> bool {
    matches!(c, '%' | ':' | '*' | '?' | '[' | ']' | '\\' | '{' | '}') || c.is_ascii_control()
}

/// [`needs_escape`] for every byte value; a byte of UTF-8 text needs escaping exactly when it
/// is an ASCII character that does (bytes of longer characters are never ASCII).
const ESCAPED_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = needs_escape(b as u8 as char);
        b += 1;
    }
    table
};

#[inline]
const fn byte_needs_escape(b: u8) -> bool {
    ESCAPED_BYTES[b as usize]
}

/// Whether `text` is written unchanged by [`push_escaped`]; usable in constants, so that a
/// namespace's check costs nothing at run time.
pub(crate) const fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if byte_needs_escape(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// A `fmt::Write` adaptor that escapes everything written through it into `out`.
pub(crate) struct EscapingWriter<'a> {
    pub(crate) out: &'a mut String,
}

impl Write for EscapingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.out, s);
        Ok(())
    }
}

/// Appends `segment` to `out`, escaped.
pub(crate) fn push_escaped(out: &mut String, segment: &str) {
    // Every character that needs escaping is ASCII, and in UTF-8 an ASCII byte is never part
    // of a longer character, so the search can go byte by byte instead of decoding.
    let mut rest = segment;
    while let Some(pos) = rest.bytes().position(byte_needs_escape) {
        out.push_str(&rest[..pos]);
        let byte = rest.as_bytes()[pos];
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.push('%');
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xF)] as char);
        rest = &rest[pos + 1..];
    }
    out.push_str(rest);
}

/// Appends `n` in decimal, without the formatting machinery (a key's version is written into
/// every rendered key).
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// Reverses [`push_escaped`]: `None` for text it cannot have written (a `%` not followed by
/// two hex digits of an escaped character, or an escapable character left bare).
pub(crate) fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            let decoded = u8::from_str_radix(hex, 16).ok()?;
            if !byte_needs_escape(decoded) {
                return None;
            }
            out.push(decoded);
            i += 3;
        } else if byte_needs_escape(b) {
            return None;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Returns `segment` escaped; a convenience over [`push_escaped`].
#[cfg(test)]
pub(crate) fn escaped(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    push_escaped(&mut out, segment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_text_is_unchanged() {
        for s in [
            "polkadot",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "a.b-c_d@e",
            "héllo",
        ] {
            assert_eq!(escaped(s), s);
        }
    }

    #[test]
    fn separators_globs_and_hash_tags_are_escaped() {
        assert_eq!(escaped("a:b"), "a%3Ab");
        assert_eq!(escaped("*?[]"), "%2A%3F%5B%5D");
        assert_eq!(escaped("{tag}"), "%7Btag%7D");
        assert_eq!(escaped("100%"), "100%25");
        assert_eq!(escaped("back\\slash"), "back%5Cslash");
        assert_eq!(escaped("new\nline"), "new%0Aline");
    }

    #[test]
    fn decimals_match_the_formatter() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            let mut out = String::from("v");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("v{n}"));
        }
    }

    #[test]
    fn the_byte_table_agrees_with_the_rule() {
        for b in 0..=255u8 {
            assert_eq!(
                byte_needs_escape(b),
                b.is_ascii() && needs_escape(char::from(b)),
                "{b}"
            );
        }
        assert!(is_plain("session") && is_plain("h\u{e9}llo-w\u{f6}rld_1.2@x"));
        assert!(!is_plain("a:b") && !is_plain("tab\t") && !is_plain("{x}"));
    }

    proptest! {
        #[test]
        fn escaping_round_trips(s in any::<String>()) {
            prop_assert_eq!(unescape(&escaped(&s)), Some(s));
        }

        #[test]
        fn escaped_text_has_no_special_character(s in any::<String>()) {
            let e = escaped(&s);
            prop_assert!(!e.chars().any(|c| c != '%' && needs_escape(c)), "{e:?}");
        }
    }
}
