//! [`Error`]: the one error type of cache-core.

use std::fmt;

/// An error from cache-core.
///
/// Reads and writes fail open and never return this type; it comes from configuration
/// (building a cache, an unbounded prefix) and, in strict mode, from stores. Use
/// [`kind`](Self::kind) to tell the cases apart; the message says how to fix the problem.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong; see [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The builder's settings contradict each other or are out of range; the message names
    /// the setting to change.
    Config,
    /// A prefix would name every key in the store (a template layout with no fixed text and no
    /// segment); add a segment to the [`KeyPrefix`](crate::KeyPrefix).
    UnboundedPrefix,
    /// A value could not be encoded or decoded; see [`CodecError`](crate::codec::CodecError).
    Codec,
    /// The far tier failed (strict operations such as counters and leases report it); the
    /// source is a [`StoreError`](crate::store::StoreError) that says what to check.
    Store,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Config,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn unbounded_prefix(namespace: &str) -> Self {
        Self {
            kind: ErrorKind::UnboundedPrefix,
            message: format!(
                "the prefix of namespace `{namespace}` is empty and would name every key; \
                 add a segment with KeyPrefix::of::<K>().segment(..)"
            ),
            source: None,
        }
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        Self {
            kind: ErrorKind::Store,
            message: format!("far tier: {e}"),
            source: Some(Box::new(e)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::codec::CodecError> for Error {
    fn from(e: crate::codec::CodecError) -> Self {
        Self {
            kind: ErrorKind::Codec,
            message: "a cached value could not be converted".into(),
            source: Some(Box::new(e)),
        }
    }
}
