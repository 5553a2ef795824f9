//! Entry points for the fuzz targets of `fuzz/`, compiled only with `--cfg fuzzing` (as
//! `cargo fuzz` builds): each feeds arbitrary bytes to one parser and checks the property it
//! must keep, besides never panicking.

use std::collections::BTreeMap;

use crate::codec::{Codec, Fields};
use crate::key::{KeyPrefix, escape_segment, unescape_segment};
use crate::{CacheKey, KeyWriter, Policy};

/// A key of two user-supplied segments.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Pair(String, String);

impl CacheKey for Pair {
    type Value = ();
    type Codec = crate::codec::Json;
    const NAMESPACE: &'static str = "pair";
    const POLICY: Policy = Policy::builder().build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.0).segment_str(&self.1);
    }
}

/// Key escaping: any text escapes to text free of separators, globs and hash tags, unescapes
/// back to itself, and keys of different segments render differently, and never fall in each
/// other's prefix.
pub fn key_segments(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let middle = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let (a, b) = text.split_at(middle);
    let (a, b) = (a.to_owned(), b.to_owned());
    let escaped = escape_segment(&a);
    assert!(
        !escaped.contains([':', '*', '?', '[', ']', '\\', '{', '}']),
        "{escaped}"
    );
    assert_eq!(unescape_segment(&escaped).as_deref(), Some(a.as_str()));
    let one = Pair(a.clone(), b.clone());
    let other = Pair(b.clone(), a.clone());
    assert_eq!(one.render() == other.render(), one == other);
    let prefix = KeyPrefix::of::<Pair>().segment(&a);
    assert!(prefix.matches(&one.render()));
    if a != b {
        assert!(!prefix.matches(&other.render()) || other.0 == a);
    }
    assert!(prefix.scan_pattern().ends_with('*'));
}

/// A flat struct as a Redis hash, as other services write them.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct State {
    status: String,
    attempts: u32,
    verified: bool,
    note: Option<String>,
}

/// The `Fields` codec: any field/value pairs decode or fail without panicking, and what
/// decodes encodes to pairs that decode to the same value.
pub fn fields(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let pairs: BTreeMap<String, String> = text
        .split('\u{0}')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    let pairs: Vec<(String, String)> = pairs.into_iter().collect();
    let Ok(state) = <Fields as Codec<State>>::decode_fields(&pairs) else {
        return;
    };
    let encoded = <Fields as Codec<State>>::encode_fields(&state).expect("a decoded value encodes");
    let again = <Fields as Codec<State>>::decode_fields(&encoded).expect("its own pairs decode");
    assert_eq!(again, state);
    let bytes = <Fields as Codec<State>>::encode(&state).expect("encodes as a form");
    assert_eq!(
        <Fields as Codec<State>>::decode(&bytes).expect("decodes"),
        state
    );
}
