//! [`Postcard`]: the compact binary default.

use serde::{Serialize, de::DeserializeOwned};

use super::Codec;
use crate::error::Error;

const NAME: &str = "postcard";

/// The [postcard](https://docs.rs/postcard) format: compact, varint-encoded, with a stable wire
/// format since 1.0. The default codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

impl<V: Serialize + DeserializeOwned> Codec<V> for Postcard {
    const NAME: &'static str = NAME;

    fn encode(value: &V) -> Result<Vec<u8>, Error> {
        postcard::to_stdvec(value).map_err(|e| Error::encode(NAME, e))
    }

    fn decode(bytes: &[u8]) -> Result<V, Error> {
        // Trailing bytes mean the entry is not what we wrote: refuse it.
        match postcard::take_from_bytes(bytes) {
            Ok((value, [])) => Ok(value),
            Ok((_, rest)) => Err(Error::decode(
                NAME,
                format!("{} trailing bytes", rest.len()),
            )),
            Err(e) => Err(Error::decode(NAME, e)),
        }
    }
}
