//! [`InvalidationRule`]: what a successful mutation matching a route invalidates.

use super::action::Invalidate;
use crate::route::Matched;

/// Says what a successful request matching a rule's route invalidates: typed keys built from
/// its path parameters and headers, tags, prefixes, URLs.
///
/// Any `Fn(&Matched<'_>) -> Vec<Invalidate>` is one.
pub trait InvalidationRule: Send + Sync + 'static {
    /// The invalidations of the request `matched`.
    fn invalidations(&self, matched: &Matched<'_>) -> Vec<Invalidate>;
}

impl<F> InvalidationRule for F
where
    F: Fn(&Matched<'_>) -> Vec<Invalidate> + Send + Sync + 'static,
{
    fn invalidations(&self, matched: &Matched<'_>) -> Vec<Invalidate> {
        self(matched)
    }
}
