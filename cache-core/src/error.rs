//! [`Error`]: the one error type of cache-core, told apart by its [`ErrorKind`].

use std::fmt;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from cache-core: a setting, a codec or the far tier.
///
/// Reads and writes fail open and never return it; it comes from configuration (building a
/// cache, connecting to Redis, an unbounded prefix), from direct [`Codec`](crate::Codec) calls,
/// and from the operations that must not fail open (counters, leases, strict mode). Use
/// [`kind`](Self::kind) to tell the cases apart; the message says how to fix the problem, and
/// [`source`](std::error::Error::source) gives the underlying error where there is one.
///
/// Stores and codecs of your own build it with [`new`](Self::new), [`encode`](Self::encode)
/// or [`decode`](Self::decode).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Source>,
}

/// What went wrong; see [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting is out of range, contradicts another, or (for a store) the URL is malformed;
    /// the message names the setting to change.
    Config,
    /// A prefix would name every key in the store (a template layout with no fixed text and no
    /// segment); add a segment to the [`KeyPrefix`](crate::KeyPrefix).
    UnboundedPrefix,
    /// A value could not be encoded for the far tier or decoded from it; the message names the
    /// codec. A reader never sees it: an entry that does not decode is a miss.
    Codec,
    /// The far tier could not be reached, or the connection broke; check the URL, the network
    /// and that the server runs.
    Connection,
    /// The far tier refused the credentials; check the user and password in the URL.
    Auth,
    /// A far-tier call took longer than its timeout; raise it or look at the server's load.
    Timeout,
    /// The far tier answered something unexpected: a wrong type under the key, a reply the
    /// command does not return, or an error reply.
    Protocol,
    /// The circuit breaker skips the far tier for a cool-down after repeated failures.
    Unavailable,
    /// The far tier does not offer the operation: counters, throttles and leases need a store
    /// that implements [`Coordination`](crate::store::Coordination), such as Redis.
    Unsupported,
    /// A bounded in-process table is full: the counters, windows, throttles and leases of a
    /// cache without a far tier ([`CacheBuilder::max_counters`](crate::CacheBuilder::max_counters)).
    Capacity,
}

impl Error {
    /// A new error of `kind` with a message saying what happened and how to fix it.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// A value the codec named `codec` could not encode.
    pub fn encode(codec: &'static str, source: impl Into<Source>) -> Self {
        Self::new(
            ErrorKind::Codec,
            format!("{codec} codec could not encode the value"),
        )
        .with_source(source)
    }

    /// Bytes the codec named `codec` could not decode.
    pub fn decode(codec: &'static str, source: impl Into<Source>) -> Self {
        Self::new(
            ErrorKind::Codec,
            format!("{codec} codec could not decode the value"),
        )
        .with_source(source)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the far tier failed (it could not be reached, refused, timed out, answered
    /// something unexpected, or is skipped by the circuit breaker): the failures reads and
    /// writes absorb by failing open.
    pub fn is_store_failure(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Connection
                | ErrorKind::Auth
                | ErrorKind::Timeout
                | ErrorKind::Protocol
                | ErrorKind::Unavailable
        )
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn unbounded_prefix(namespace: &str) -> Self {
        Self::new(
            ErrorKind::UnboundedPrefix,
            format!(
                "the prefix of namespace `{namespace}` is empty and would name every key; \
                 add a segment with KeyPrefix::of::<K>().segment(..)"
            ),
        )
    }

    /// The same error with `context: ` in front of its message.
    #[cfg(feature = "redis")]
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn messages_say_what_and_keep_the_source() {
        let e = Error::decode("json", "expected value at line 1");
        assert_eq!(e.kind(), ErrorKind::Codec);
        assert_eq!(e.to_string(), "json codec could not decode the value");
        assert_eq!(e.source().unwrap().to_string(), "expected value at line 1");
        let e = Error::new(ErrorKind::Timeout, "GET took longer than 1s");
        assert!(e.is_store_failure());
        #[cfg(feature = "redis")]
        assert_eq!(
            e.context("redis").to_string(),
            "redis: GET took longer than 1s"
        );
        assert!(!Error::config("x").is_store_failure());
        assert!(!Error::new(ErrorKind::Unsupported, "x").is_store_failure());
    }
}
