//! [`Text`]: a value's `Display` text, read back with `FromStr`.

use std::fmt::Display;
use std::str::FromStr;

use super::Codec;
use crate::error::Error;

const NAME: &str = "text";

/// The value's `Display` text as UTF-8, parsed back with `FromStr`: what Python writes for
/// `redis.set("otp:123", "482913")` or an `INCR` counter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl<V> Codec<V> for Text
where
    V: Display + FromStr,
    V::Err: std::error::Error + Send + Sync + 'static,
{
    const NAME: &'static str = NAME;

    fn encode(value: &V) -> Result<Vec<u8>, Error> {
        Ok(value.to_string().into_bytes())
    }

    fn decode(bytes: &[u8]) -> Result<V, Error> {
        let text = std::str::from_utf8(bytes).map_err(|e| Error::decode(NAME, e))?;
        text.parse().map_err(|e| Error::decode(NAME, e))
    }
}
