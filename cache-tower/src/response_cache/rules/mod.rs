//! The rules of HTTP caching as pure functions over `http` types: no I/O, no clock of their
//! own, each tested exhaustively (proptests where the input space is large). The stages of a
//! request (`lookup`, `revalidate`, `fetch`, `store`) only sequence them.
//!
//! | file | rules |
//! |---|---|
//! | `directives` | `Cache-Control` and targeted fields such as `CDN-Cache-Control` (RFC 9111 §5.2, RFC 9213) |
//! | `freshness` | freshness lifetime, age, and whether a stored response may answer now (RFC 9111 §4.2, RFC 5861) |
//! | `storable` | whether a response may be stored, and with which fields (RFC 9111 §3) |
//! | `vary` | secondary keys (RFC 9111 §4.1) |
//! | `conditional` | validators, preconditions, `304`s both ways (RFC 9110 §13, RFC 9111 §4.3) |
//! | `range` | `Range` and `If-Range` answered from a stored `200` (RFC 9110 §14, §13.1.5) |
//! | `status` | the `Cache-Status` field (RFC 9211) |
//! | `tags` | `Surrogate-Key` and `Cache-Tag` groups |

pub(crate) mod conditional;
pub(crate) mod directives;
pub(crate) mod freshness;
pub(crate) mod range;
pub(crate) mod status;
pub(crate) mod storable;
pub(crate) mod tags;
pub(crate) mod vary;
