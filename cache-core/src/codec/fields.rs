//! [`Fields`]: a flat struct as a Redis hash, one text field per struct field.

use serde::{Serialize, de::DeserializeOwned};

use super::Codec;
use crate::error::Error;

const NAME: &str = "fields";

/// A flat struct stored as a Redis hash, each field as text: strings as they are, numbers and
/// booleans in their usual spelling, `None` fields left out. This is what Python writes with
/// `hset(name, mapping={...})` and reads with `hgetall` (identity-verification states, say), so
/// both sides share the hash field by field.
///
/// The field conversion is [serde_urlencoded]'s, which parses numbers and booleans out of text
/// by the target field's type; nested structs and sequences are refused with an error. Where a
/// far tier has no hashes, and for weighing, the value is the same pairs form-encoded.
///
/// [serde_urlencoded]: https://docs.rs/serde_urlencoded
///
/// # Example
///
/// ```
/// use cache_core::codec::{Codec, Fields};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct MediaState { name: String, status: String, token: String }
///
/// let state = MediaState { name: "patchwinner".into(), status: "Pending".into(), token: "Q8KGYC7P".into() };
/// let fields = <Fields as Codec<MediaState>>::encode_fields(&state).unwrap();
/// assert_eq!(fields[2], ("token".to_string(), "Q8KGYC7P".to_string()));
/// assert_eq!(<Fields as Codec<MediaState>>::decode_fields(&fields).unwrap(), state);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields;

impl<V: Serialize + DeserializeOwned> Codec<V> for Fields {
    const NAME: &'static str = NAME;
    const HASH: bool = true;

    fn encode(value: &V) -> Result<Vec<u8>, Error> {
        serde_urlencoded::to_string(value)
            .map(String::into_bytes)
            .map_err(|e| Error::encode(NAME, e))
    }

    fn decode(bytes: &[u8]) -> Result<V, Error> {
        serde_urlencoded::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))
    }

    fn encode_fields(value: &V) -> Result<Vec<(String, String)>, Error> {
        let text = serde_urlencoded::to_string(value).map_err(|e| Error::encode(NAME, e))?;
        Ok(form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect())
    }

    fn decode_fields(fields: &[(String, String)]) -> Result<V, Error> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(fields);
        serde_urlencoded::from_str(&form.finish()).map_err(|e| Error::decode(NAME, e))
    }
}
