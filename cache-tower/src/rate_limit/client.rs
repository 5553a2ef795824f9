//! [`IdentifyClient`]: who a request counts against.

use http::request::Parts;

/// Tells which client a request counts against: an IP from a trusted proxy header, an API key,
/// an authenticated user; `None` leaves the request unlimited.
///
/// Any `Fn(&Parts) -> Option<String>` is one.
pub trait IdentifyClient: Clone + Send + Sync + 'static {
    /// The client of the request `parts`.
    fn client(&self, parts: &Parts) -> Option<String>;
}

impl<F> IdentifyClient for F
where
    F: Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    fn client(&self, parts: &Parts) -> Option<String> {
        self(parts)
    }
}
