//! [`CodecError`]: a value that could not be encoded or decoded.

use std::fmt;

/// A value could not be encoded or decoded.
///
/// The cache never hands this to a reader: an entry that fails to decode is counted, removed
/// and reported as a miss. It reaches the caller only from a direct [`Codec`](super::Codec) call.
#[derive(Debug)]
pub struct CodecError {
    codec: &'static str,
    decoding: bool,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl CodecError {
    /// An encoding failure of `codec`.
    pub fn encode(
        codec: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            codec,
            decoding: false,
            source: source.into(),
        }
    }

    /// A decoding failure of `codec`.
    pub fn decode(
        codec: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            codec,
            decoding: true,
            source: source.into(),
        }
    }

    /// The name of the codec that failed.
    pub fn codec(&self) -> &'static str {
        self.codec
    }

    /// Whether decoding (rather than encoding) failed.
    pub fn is_decode(&self) -> bool {
        self.decoding
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.decoding { "decode" } else { "encode" };
        write!(f, "{} codec could not {what} the value", self.codec)
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
