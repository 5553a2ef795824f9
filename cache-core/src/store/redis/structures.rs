//! [`RedisStore`](super::RedisStore) as [`Structures`]: every batch is one pipeline (one per
//! master on a cluster), each op one command (or one short Lua script where a structure
//! gets its TTL when created).

use redis::{Cmd, Value};

use super::{RedisStore, millis, scripts};
use crate::error::{Error, ErrorKind};
use crate::store::{Op, Reply, StoreFuture, Structures};

/// Members sent to one script call at most: Lua's `unpack` has a stack limit.
const MEMBERS_PER_CALL: usize = 1000;

impl Structures for RedisStore {
    fn run<'a>(&'a self, ops: &'a [Op]) -> StoreFuture<'a, Vec<Reply>> {
        Box::pin(async move {
            if ops.is_empty() {
                return Ok(Vec::new());
            }
            let mut commands: Vec<Vec<Cmd>> = ops.iter().map(commands).collect();
            let counts: Vec<usize> = commands.iter().map(Vec::len).collect();
            let keys: Vec<&str> = ops.iter().map(Op::key).collect();
            let answered = self
                .pipelined(&keys, |group| {
                    let mut pipe = redis::pipe();
                    for &i in group {
                        for cmd in std::mem::take(&mut commands[i]) {
                            pipe.add_command(cmd);
                        }
                    }
                    pipe
                })
                .await?;
            // Each op's reply from its commands' replies, in the order of the ops.
            let mut replies: Vec<Option<Reply>> = Vec::new();
            replies.resize_with(ops.len(), || None);
            for (group, values) in answered {
                let mut values = values.into_iter();
                for i in group {
                    let mine = values.by_ref().take(counts[i]).collect();
                    replies[i] = Some(reply(&ops[i], mine)?);
                }
            }
            Ok(replies.into_iter().flatten().collect())
        })
    }
}

/// The commands of one op: one, or one per chunk of members. An op with no members (which
/// Redis would refuse as a syntax error, failing the whole pipeline) sends a read instead:
/// `LLEN` for a push, whose reply is the length, `EXISTS` for the others, whose reply is 0.
fn commands(op: &Op) -> Vec<Cmd> {
    match op {
        Op::ListPush { key, items, .. } if items.is_empty() => return vec![one("LLEN", key)],
        Op::SetAdd { key, members, .. }
        | Op::SetRemove { key, members }
        | Op::SortedRemove { key, members }
            if members.is_empty() =>
        {
            return vec![one("EXISTS", key)];
        }
        _ => {}
    }
    match op {
        Op::Get { key } => vec![one("GET", key)],
        Op::Set { key, value, ttl } => {
            let mut cmd = one("SET", key);
            cmd.arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(millis(*ttl));
            }
            vec![cmd]
        }
        Op::Delete { key } => vec![one("UNLINK", key)],
        Op::Increment { key, by, ttl } => {
            vec![with_ttl(key, *ttl, "INCRBY", |cmd| {
                cmd.arg(*by);
            })]
        }
        Op::Exists { key } => vec![one("EXISTS", key)],
        Op::Expire { key, ttl } => {
            let mut cmd = one("PEXPIRE", key);
            cmd.arg(millis(*ttl));
            vec![cmd]
        }
        Op::SetAdd { key, members, ttl } => chunks(members)
            .map(|chunk| {
                with_ttl(key, *ttl, "SADD", |cmd| {
                    cmd.arg(chunk);
                })
            })
            .collect(),
        Op::SetRemove { key, members } => chunks(members)
            .map(|chunk| {
                let mut cmd = one("SREM", key);
                cmd.arg(chunk);
                cmd
            })
            .collect(),
        Op::SetContains { key, member } => {
            let mut cmd = one("SISMEMBER", key);
            cmd.arg(member);
            vec![cmd]
        }
        Op::SetLen { key } => vec![one("SCARD", key)],
        Op::SetMembers { key } => vec![one("SMEMBERS", key)],
        Op::SortedIncrement {
            key,
            member,
            by,
            ttl,
        } => vec![with_ttl(key, *ttl, "ZINCRBY", |cmd| {
            cmd.arg(*by).arg(member);
        })],
        Op::SortedAdd {
            key,
            member,
            score,
            ttl,
        } => vec![with_ttl(key, *ttl, "ZADD", |cmd| {
            cmd.arg(*score).arg(member);
        })],
        Op::HashDelete { key, fields } => {
            let mut cmd = one("HDEL", key);
            cmd.arg(fields);
            vec![cmd]
        }
        Op::SortedRange {
            key,
            start,
            stop,
            descending,
        } => {
            let mut cmd = one("ZRANGE", key);
            cmd.arg(*start).arg(*stop);
            if *descending {
                cmd.arg("REV");
            }
            cmd.arg("WITHSCORES");
            vec![cmd]
        }
        Op::SortedRank {
            key,
            member,
            descending,
        } => {
            let mut cmd = one(if *descending { "ZREVRANK" } else { "ZRANK" }, key);
            cmd.arg(member);
            vec![cmd]
        }
        Op::SortedScore { key, member } => {
            let mut cmd = one("ZSCORE", key);
            cmd.arg(member);
            vec![cmd]
        }
        Op::SortedRemove { key, members } => chunks(members)
            .map(|chunk| {
                let mut cmd = one("ZREM", key);
                cmd.arg(chunk);
                cmd
            })
            .collect(),
        Op::SortedLen { key } => vec![one("ZCARD", key)],
        Op::ListPush { key, items, ttl } => chunks(items)
            .map(|chunk| {
                with_ttl(key, *ttl, "RPUSH", |cmd| {
                    cmd.arg(chunk);
                })
            })
            .collect(),
        Op::ListPop { key } => vec![one("LPOP", key)],
        Op::ListLen { key } => vec![one("LLEN", key)],
        Op::ListRange { key, start, stop } => {
            let mut cmd = one("LRANGE", key);
            cmd.arg(*start).arg(*stop);
            vec![cmd]
        }
        Op::HashGet { key, field } => {
            let mut cmd = one("HGET", key);
            cmd.arg(field);
            vec![cmd]
        }
        Op::HashSet { key, fields } => {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(scripts::HSET_EXISTING).arg(1).arg(key);
            for (field, value) in fields {
                cmd.arg(field).arg(value);
            }
            vec![cmd]
        }
    }
}

fn one(name: &str, key: &str) -> Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    cmd
}

/// `name key args...`, then the TTL when the key has none, in one script.
fn with_ttl(
    key: &str,
    ttl: Option<std::time::Duration>,
    name: &str,
    args: impl FnOnce(&mut Cmd),
) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(scripts::WITH_TTL)
        .arg(1)
        .arg(key)
        .arg(ttl.map_or(0, millis))
        .arg(name);
    args(&mut cmd);
    cmd
}

/// Members in chunks a script call takes.
fn chunks(members: &[Vec<u8>]) -> std::slice::Chunks<'_, Vec<u8>> {
    members.chunks(MEMBERS_PER_CALL)
}

fn parse<T: redis::FromRedisValue>(op: &Op, value: Value) -> Result<T, Error> {
    redis::from_redis_value(value).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("redis: unexpected reply to {} {}: {e}", op.name(), op.key()),
        )
    })
}

fn single(op: &Op, mut values: Vec<Value>) -> Result<Value, Error> {
    values.pop().ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            format!("redis: no reply to {} {}", op.name(), op.key()),
        )
    })
}

/// The sum of the counts of an op's chunks; 0 for an op with no members.
fn counted(op: &Op, values: Vec<Value>, members: &[Vec<u8>]) -> Result<Reply, Error> {
    if members.is_empty() {
        return Ok(Reply::Int(0));
    }
    let mut total = 0i64;
    for value in values {
        total += parse::<i64>(op, value)?;
    }
    Ok(Reply::Int(total))
}

/// The reply of `op` from its commands' `values`.
fn reply(op: &Op, values: Vec<Value>) -> Result<Reply, Error> {
    Ok(match op {
        Op::Get { .. } | Op::ListPop { .. } | Op::HashGet { .. } => {
            match parse::<Option<Vec<u8>>>(op, single(op, values)?)? {
                Some(bytes) => Reply::Bytes(bytes),
                None => Reply::Nil,
            }
        }
        Op::Set { .. } => {
            single(op, values)?;
            Reply::Done
        }
        Op::Delete { .. }
        | Op::Exists { .. }
        | Op::Expire { .. }
        | Op::SetContains { .. }
        | Op::HashSet { .. } => Reply::Bool(parse::<i64>(op, single(op, values)?)? > 0),
        Op::Increment { .. }
        | Op::SetLen { .. }
        | Op::SortedLen { .. }
        | Op::ListLen { .. }
        | Op::HashDelete { .. } => Reply::Int(parse(op, single(op, values)?)?),
        Op::SetAdd { members, .. }
        | Op::SetRemove { members, .. }
        | Op::SortedRemove { members, .. } => counted(op, values, members)?,
        // The last chunk's reply is the final length (`LLEN` when nothing was pushed).
        Op::ListPush { .. } => Reply::Int(parse(op, single(op, values)?)?),
        Op::SetMembers { .. } | Op::ListRange { .. } => {
            Reply::List(parse(op, single(op, values)?)?)
        }
        Op::SortedIncrement { .. } => Reply::Float(parse(op, single(op, values)?)?),
        // ZADD answers how many members it added; the score is the one sent.
        Op::SortedAdd { score, .. } => {
            parse::<i64>(op, single(op, values)?)?;
            Reply::Float(*score)
        }
        Op::SortedScore { .. } => match parse::<Option<f64>>(op, single(op, values)?)? {
            Some(score) => Reply::Float(score),
            None => Reply::Nil,
        },
        Op::SortedRank { .. } => match parse::<Option<i64>>(op, single(op, values)?)? {
            Some(rank) => Reply::Int(rank),
            None => Reply::Nil,
        },
        Op::SortedRange { .. } => Reply::Scored(parse(op, single(op, values)?)?),
    })
}
