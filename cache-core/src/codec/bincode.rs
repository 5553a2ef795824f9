//! `Bincode`: bincode 2.x in serde mode, behind the `bincode` feature.

use serde::{Serialize, de::DeserializeOwned};

use super::Codec;
use crate::error::Error;

const NAME: &str = "bincode";

/// [bincode](https://docs.rs/bincode) 2.x with its standard configuration, through serde.
///
/// The bincode crate is no longer maintained (its 3.0 release only fails to compile), so this
/// codec is pinned to 2.x and offered for compatibility with existing bincode data, never as
/// the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bincode;

impl<V: Serialize + DeserializeOwned> Codec<V> for Bincode {
    const NAME: &'static str = NAME;

    fn encode(value: &V) -> Result<Vec<u8>, Error> {
        bincode::serde::encode_to_vec(value, bincode::config::standard())
            .map_err(|e| Error::encode(NAME, e))
    }

    fn decode(bytes: &[u8]) -> Result<V, Error> {
        // A length limit keeps a corrupted length prefix from asking for gigabytes.
        let config = bincode::config::standard().with_limit::<{ 64 * 1024 * 1024 }>();
        match bincode::serde::decode_from_slice(bytes, config) {
            Ok((value, read)) if read == bytes.len() => Ok(value),
            Ok((_, read)) => Err(Error::decode(
                NAME,
                format!("{} trailing bytes", bytes.len() - read),
            )),
            Err(e) => Err(Error::decode(NAME, e)),
        }
    }
}
