//! [`Structures`]: Redis-shaped data beyond one value per key (sets, sorted sets, lists, single
//! hash fields), and batches of different operations sent in one round trip.

use std::time::Duration;

use super::StoreFuture;

/// One operation on a rendered key. Members, items and field values are bytes already encoded
/// by the key type's codec; a store knows nothing of types.
///
/// Operations that can create a structure take the TTL it gets when created (`None`: none), set
/// in the same atomic step, as [`Coordination::increment`](super::Coordination::increment) does
/// for counters; later writes keep the expiry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// The bytes under `key` ([`Reply::Bytes`] or [`Reply::Nil`]).
    Get {
        /// The rendered key.
        key: String,
    },
    /// Writes `value` under `key`, replacing what was there ([`Reply::Done`]).
    Set {
        /// The rendered key.
        key: String,
        /// The encoded value.
        value: Vec<u8>,
        /// How long it lives.
        ttl: Option<Duration>,
    },
    /// Removes `key` ([`Reply::Bool`]: whether it existed).
    Delete {
        /// The rendered key.
        key: String,
    },
    /// Adds `by` to the integer under `key` ([`Reply::Int`]: the new value).
    Increment {
        /// The rendered key.
        key: String,
        /// The amount, negative to subtract.
        by: i64,
        /// The TTL of a counter this operation creates.
        ttl: Option<Duration>,
    },
    /// Whether `key` exists, whatever it holds ([`Reply::Bool`]).
    Exists {
        /// The rendered key.
        key: String,
    },
    /// Sets the expiry of an existing `key` ([`Reply::Bool`]: whether the key existed).
    Expire {
        /// The rendered key.
        key: String,
        /// The new time to live.
        ttl: Duration,
    },
    /// Adds `members` to the set `key` ([`Reply::Int`]: how many were new).
    SetAdd {
        /// The rendered key.
        key: String,
        /// The encoded members.
        members: Vec<Vec<u8>>,
        /// The TTL of a set this operation creates.
        ttl: Option<Duration>,
    },
    /// Removes `members` from the set `key` ([`Reply::Int`]: how many were there).
    SetRemove {
        /// The rendered key.
        key: String,
        /// The encoded members.
        members: Vec<Vec<u8>>,
    },
    /// Whether `member` is in the set `key` ([`Reply::Bool`]).
    SetContains {
        /// The rendered key.
        key: String,
        /// The encoded member.
        member: Vec<u8>,
    },
    /// How many members the set `key` has ([`Reply::Int`]).
    SetLen {
        /// The rendered key.
        key: String,
    },
    /// Every member of the set `key` ([`Reply::List`]).
    SetMembers {
        /// The rendered key.
        key: String,
    },
    /// Adds `by` to the score of `member` in the sorted set `key`, as 0 when absent
    /// ([`Reply::Float`]: the new score).
    SortedIncrement {
        /// The rendered key.
        key: String,
        /// The encoded member.
        member: Vec<u8>,
        /// The amount, negative to subtract.
        by: f64,
        /// The TTL of a sorted set this operation creates.
        ttl: Option<Duration>,
    },
    /// Sets the score of `member` in the sorted set `key`, adding it when absent
    /// ([`Reply::Float`]: the score).
    SortedAdd {
        /// The rendered key.
        key: String,
        /// The encoded member.
        member: Vec<u8>,
        /// The score.
        score: f64,
        /// The TTL of a sorted set this operation creates.
        ttl: Option<Duration>,
    },
    /// The members ranked `start..=stop` (0 the first; negative counts from the last), highest
    /// score first when `descending`, with their scores ([`Reply::Scored`]).
    SortedRange {
        /// The rendered key.
        key: String,
        /// The first rank.
        start: i64,
        /// The last rank, included.
        stop: i64,
        /// Highest score first.
        descending: bool,
    },
    /// The rank of `member` (0 the first), highest score first when `descending`
    /// ([`Reply::Int`], or [`Reply::Nil`] when absent).
    SortedRank {
        /// The rendered key.
        key: String,
        /// The encoded member.
        member: Vec<u8>,
        /// Highest score first.
        descending: bool,
    },
    /// The score of `member` ([`Reply::Float`], or [`Reply::Nil`] when absent).
    SortedScore {
        /// The rendered key.
        key: String,
        /// The encoded member.
        member: Vec<u8>,
    },
    /// Removes `members` from the sorted set `key` ([`Reply::Int`]: how many were there).
    SortedRemove {
        /// The rendered key.
        key: String,
        /// The encoded members.
        members: Vec<Vec<u8>>,
    },
    /// How many members the sorted set `key` has ([`Reply::Int`]).
    SortedLen {
        /// The rendered key.
        key: String,
    },
    /// Appends `items` to the list `key` ([`Reply::Int`]: the new length).
    ListPush {
        /// The rendered key.
        key: String,
        /// The encoded items, in order.
        items: Vec<Vec<u8>>,
        /// The TTL of a list this operation creates.
        ttl: Option<Duration>,
    },
    /// Removes and returns the first item of the list `key` ([`Reply::Bytes`] or
    /// [`Reply::Nil`]).
    ListPop {
        /// The rendered key.
        key: String,
    },
    /// How many items the list `key` holds ([`Reply::Int`]).
    ListLen {
        /// The rendered key.
        key: String,
    },
    /// The items at `start..=stop` of the list `key` (negative counts from the last)
    /// ([`Reply::List`]).
    ListRange {
        /// The rendered key.
        key: String,
        /// The first index.
        start: i64,
        /// The last index, included.
        stop: i64,
    },
    /// One field of the hash `key` ([`Reply::Bytes`] or [`Reply::Nil`]).
    HashGet {
        /// The rendered key.
        key: String,
        /// The field name.
        field: String,
    },
    /// Writes `fields` into the hash `key`, the others untouched and the expiry kept; nothing
    /// is written when the hash does not exist ([`Reply::Bool`]: whether it existed), so that
    /// a partial value is never created.
    HashSet {
        /// The rendered key.
        key: String,
        /// Field names and their text.
        fields: Vec<(String, Vec<u8>)>,
    },
    /// Removes `fields` from the hash `key` ([`Reply::Int`]: how many were there).
    HashDelete {
        /// The rendered key.
        key: String,
        /// The field names.
        fields: Vec<String>,
    },
}

impl Op {
    /// The rendered key the operation is on.
    pub fn key(&self) -> &str {
        match self {
            Self::Get { key }
            | Self::Set { key, .. }
            | Self::Delete { key }
            | Self::Increment { key, .. }
            | Self::Exists { key }
            | Self::Expire { key, .. }
            | Self::SetAdd { key, .. }
            | Self::SetRemove { key, .. }
            | Self::SetContains { key, .. }
            | Self::SetLen { key }
            | Self::SetMembers { key }
            | Self::SortedIncrement { key, .. }
            | Self::SortedRange { key, .. }
            | Self::SortedRank { key, .. }
            | Self::SortedScore { key, .. }
            | Self::SortedRemove { key, .. }
            | Self::SortedLen { key }
            | Self::ListPush { key, .. }
            | Self::ListPop { key }
            | Self::ListLen { key }
            | Self::ListRange { key, .. }
            | Self::HashGet { key, .. }
            | Self::HashSet { key, .. }
            | Self::SortedAdd { key, .. }
            | Self::HashDelete { key, .. } => key,
        }
    }

    /// The command's name, for logs and stats.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Get { .. } => "GET",
            Self::Set { .. } => "SET",
            Self::Delete { .. } => "UNLINK",
            Self::Increment { .. } => "INCRBY",
            Self::Exists { .. } => "EXISTS",
            Self::Expire { .. } => "PEXPIRE",
            Self::SetAdd { .. } => "SADD",
            Self::SetRemove { .. } => "SREM",
            Self::SetContains { .. } => "SISMEMBER",
            Self::SetLen { .. } => "SCARD",
            Self::SetMembers { .. } => "SMEMBERS",
            Self::SortedIncrement { .. } => "ZINCRBY",
            Self::SortedRange { .. } => "ZRANGE",
            Self::SortedRank { .. } => "ZRANK",
            Self::SortedScore { .. } => "ZSCORE",
            Self::SortedRemove { .. } => "ZREM",
            Self::SortedLen { .. } => "ZCARD",
            Self::ListPush { .. } => "RPUSH",
            Self::ListPop { .. } => "LPOP",
            Self::ListLen { .. } => "LLEN",
            Self::ListRange { .. } => "LRANGE",
            Self::HashGet { .. } => "HGET",
            Self::HashSet { .. } => "HSET",
            Self::SortedAdd { .. } => "ZADD",
            Self::HashDelete { .. } => "HDEL",
        }
    }
}

/// What an [`Op`] answered; each op's documentation says which.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// Nothing there.
    Nil,
    /// Done, nothing to return.
    Done,
    /// A yes or no.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A score.
    Float(f64),
    /// Bytes.
    Bytes(Vec<u8>),
    /// Several members or items.
    List(Vec<Vec<u8>>),
    /// Members with their scores.
    Scored(Vec<(Vec<u8>, f64)>),
}

/// Sets, sorted sets, lists and single hash fields, shared by every instance, and batches of
/// different operations in one round trip. A [`Store`](super::Store) that can offer them
/// returns itself from [`Store::structures`](super::Store::structures); Redis does (one
/// pipeline per batch). A cache without a far tier keeps them in process.
pub trait Structures: Send + Sync {
    /// Runs `ops` in order, in one round trip where the store can, and answers one [`Reply`]
    /// per op. Not atomic as a whole: each op is atomic on its own.
    fn run<'a>(&'a self, ops: &'a [Op]) -> StoreFuture<'a, Vec<Reply>>;
}
