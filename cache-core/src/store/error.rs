//! [`StoreError`]: what a far tier reports when a call fails.

use std::fmt;

/// A far-tier call failed.
///
/// With the default fail-open policy the cache counts and logs these and carries on; in strict
/// mode they reach the caller inside an [`Error`](crate::Error).
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The server could not be reached or the connection broke; check the URL, the network and
    /// that the server runs.
    Connection,
    /// The server refused the credentials; check the user and password in the URL.
    Auth,
    /// The call took longer than the command timeout; raise it or look at the server's load.
    Timeout,
    /// The server answered something the store did not expect (a wrong type under the key, or
    /// a reply that is not what the command returns).
    Protocol,
    /// The URL or an option is invalid; the message names it.
    Config,
    /// The circuit breaker is open after repeated failures; calls resume after the cool-down.
    Unavailable,
}

impl StoreError {
    /// A new error of `kind`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
