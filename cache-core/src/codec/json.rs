//! [`Json`]: JSON text, for keys shared with other languages.

use serde::{Serialize, de::DeserializeOwned};

use super::Codec;
use crate::error::Error;

const NAME: &str = "json";

/// JSON through [serde_json](https://docs.rs/serde_json), byte for byte what Python's
/// `json.dumps` / Node's `JSON.stringify` read and (for the same field order) write.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<V: Serialize + DeserializeOwned> Codec<V> for Json {
    const NAME: &'static str = NAME;

    fn encode(value: &V) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(value).map_err(|e| Error::encode(NAME, e))
    }

    fn decode(bytes: &[u8]) -> Result<V, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::decode(NAME, e))
    }
}
