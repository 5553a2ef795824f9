//! Codecs: how a value becomes bytes for a far tier, and back.
//!
//! | codec | format | use it for |
//! |---|---|---|
//! | [`Postcard`] (the default) | compact binary, stable wire format | values only Rust reads |
//! | [`Json`] | JSON text | keys shared with Python or Node services |
//! | [`Text`] | `Display` / `FromStr` | plain strings and numbers (`otp:<mobile>` = `"123456"`) |
//! | [`Raw`] | the bytes themselves | `Vec<u8>` values |
//! | [`Fields`] | a Redis hash, one field per struct field | hashes other services read with `HGETALL` |
//! | `Bincode` (feature `bincode`) | bincode 2.x, serde mode | compatibility with bincode data |
//!
//! The default was chosen by measuring encode + decode time and size of a typical five-field
//! struct (see `benches/README.md`). A value that fails to decode is never an error to the
//! caller: the cache counts it, removes the entry and reports a miss.
//!
//! # Example
//!
//! ```
//! use cache_core::codec::{Codec, Json, Postcard};
//!
//! let bytes = <Json as Codec<Vec<u32>>>::encode(&vec![1, 2]).unwrap();
//! assert_eq!(bytes, b"[1,2]");
//! let back: Vec<u32> = <Postcard as Codec<Vec<u32>>>::decode(
//!     &<Postcard as Codec<Vec<u32>>>::encode(&vec![1, 2]).unwrap(),
//! ).unwrap();
//! assert_eq!(back, [1, 2]);
//! assert!(<Json as Codec<Vec<u32>>>::decode(b"{not json").is_err());
//! ```

#[cfg(feature = "bincode")]
mod bincode;
mod fields;
mod json;
mod postcard;
mod raw;
mod text;

#[cfg(feature = "bincode")]
#[cfg_attr(docsrs, doc(cfg(feature = "bincode")))]
pub use self::bincode::Bincode;
pub use self::fields::Fields;
pub use self::json::Json;
pub use self::postcard::Postcard;
pub use self::raw::Raw;
pub use self::text::Text;
use crate::error::Error;

/// Turns values of type `V` into bytes and back.
///
/// Codecs are zero-sized marker types named by a key type (`type Codec = Json;`).
/// `decode` must never panic, whatever the bytes: it returns an [`Error`] of kind [`Codec`](crate::ErrorKind::Codec).
pub trait Codec<V>: Send + Sync + 'static {
    /// A short name for logs and stats, such as `"json"`.
    const NAME: &'static str;

    /// Encodes `value`.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Codec`](crate::ErrorKind::Codec) when the value cannot be represented in this format (for example a map
    /// with non-string keys in JSON).
    fn encode(value: &V) -> Result<Vec<u8>, Error>;

    /// Decodes bytes written by [`encode`](Self::encode).
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Codec`](crate::ErrorKind::Codec) when the bytes are not a valid encoding of `V`: written by another codec
    /// or format version, truncated, or corrupted.
    fn decode(bytes: &[u8]) -> Result<V, Error>;

    /// Whether a far tier stores values as a hash, one field per struct field, through
    /// [`encode_fields`](Self::encode_fields) and [`decode_fields`](Self::decode_fields)
    /// (the [`Fields`] codec) instead of one string of bytes.
    const HASH: bool = false;

    /// The value as `(field, text)` pairs.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Codec`](crate::ErrorKind::Codec) when the value is not a flat struct, or for codecs that are not
    /// hash-shaped (the default).
    fn encode_fields(value: &V) -> Result<Vec<(String, String)>, Error> {
        let _ = value;
        Err(Error::encode(
            Self::NAME,
            "this codec does not store values as hash fields",
        ))
    }

    /// A value from `(field, text)` pairs.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Codec`](crate::ErrorKind::Codec) when a field is missing or does not parse, or for codecs that are not
    /// hash-shaped (the default).
    fn decode_fields(fields: &[(String, String)]) -> Result<V, Error> {
        let _ = fields;
        Err(Error::decode(
            Self::NAME,
            "this codec does not store values as hash fields",
        ))
    }
}

/// The codec used where a key type does not choose one.
pub type DefaultCodec = Postcard;

#[cfg(test)]
mod tests;
