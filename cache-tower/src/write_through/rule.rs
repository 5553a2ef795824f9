//! The two kinds of write-through rules: where a representation is stored
//! ([`RepresentationPath`]), and which typed values a response body carries ([`TypedWrites`]).

use bytes::Bytes;

use super::write::Write;
use crate::route::Matched;

/// Names the path whose `GET` answer a successful mutation's representation becomes, when the
/// origin does not say so with `Content-Location`; `None` stores nothing.
///
/// Any `Fn(&Matched<'_>) -> Option<String>` is one.
pub trait RepresentationPath: Send + Sync + 'static {
    /// The path (with its query, if any) on the mutating request's host.
    fn path(&self, matched: &Matched<'_>) -> Option<String>;
}

impl<F> RepresentationPath for F
where
    F: Fn(&Matched<'_>) -> Option<String> + Send + Sync + 'static,
{
    fn path(&self, matched: &Matched<'_>) -> Option<String> {
        self(matched)
    }
}

/// Takes typed values from a successful mutation's response body (such as a JSON document
/// parsed into a typed value), to be written under their typed keys.
///
/// Any `Fn(&Matched<'_>, &Bytes) -> Vec<Write>` is one.
pub trait TypedWrites: Send + Sync + 'static {
    /// The writes the response `body` of the request `matched` carries.
    fn writes(&self, matched: &Matched<'_>, body: &Bytes) -> Vec<Write>;
}

impl<F> TypedWrites for F
where
    F: Fn(&Matched<'_>, &Bytes) -> Vec<Write> + Send + Sync + 'static,
{
    fn writes(&self, matched: &Matched<'_>, body: &Bytes) -> Vec<Write> {
        self(matched, body)
    }
}
