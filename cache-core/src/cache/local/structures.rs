//! [`LocalCoordination`] as [`Structures`]: sets, sorted sets and lists in the table, each op
//! one step under its lock, with Redis's semantics (ranks and indexes, ties ordered by member,
//! counters read back as their digits).
//!
//! Plain values, and the hashes of [`Fields`](crate::codec::Fields) values, live in the
//! in-process tier of a cache without a far tier, not here: `Set`, `HashGet` and `HashSet`
//! answer an error of kind [`Unsupported`](crate::ErrorKind::Unsupported) (the cache's typed
//! methods never send them here).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use super::{LocalCoordination, Slot, State, nanos, wrong_type};
use crate::error::{Error, ErrorKind};
use crate::store::{Op, Reply, StoreFuture, Structures};

impl Structures for LocalCoordination {
    fn run<'a>(&'a self, ops: &'a [Op]) -> StoreFuture<'a, Vec<Reply>> {
        let result = ops.iter().map(|op| self.run_one(op)).collect();
        Box::pin(std::future::ready(result))
    }
}

/// A length or count as the integer reply Redis gives for it.
fn count(n: usize) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn expiry(now: u64, ttl: Option<Duration>) -> u64 {
    ttl.map_or(u64::MAX, |t| now.saturating_add(nanos(t)))
}

/// The inclusive index range `start..=stop` of a sequence of `len`, negative indexes counting
/// from the end, as Redis reads `LRANGE` and `ZRANGE` indexes; `None` when empty.
fn span(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop }.min(len - 1);
    if start > stop || start >= len {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(stop).ok()?))
}

/// Members by score, ties by member bytes, as Redis orders a sorted set.
fn ranked(sorted: &HashMap<Vec<u8>, f64>, descending: bool) -> Vec<(&Vec<u8>, f64)> {
    let mut out: Vec<(&Vec<u8>, f64)> = sorted.iter().map(|(m, s)| (m, *s)).collect();
    out.sort_by(|a, b| {
        let order =
            a.1.partial_cmp(&b.1)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.0.cmp(b.0));
        if descending { order.reverse() } else { order }
    });
    out
}

impl LocalCoordination {
    /// Writes the score `new_score(old)` of `member` in the sorted set `key`, refusing a NaN
    /// and a member past the table's bound.
    fn write_score(
        &self,
        key: &str,
        member: &[u8],
        ttl: Option<Duration>,
        new_score: impl FnOnce(Option<f64>) -> f64,
    ) -> Result<Reply, Error> {
        self.with(key, |slot, now, limit| {
            let state = match slot {
                None => {
                    &mut slot
                        .insert(Slot {
                            state: State::Sorted(HashMap::new()),
                            expires_at: expiry(now, ttl),
                        })
                        .state
                }
                Some(s) => &mut s.state,
            };
            let State::Sorted(sorted) = state else {
                return Err(wrong_type(key));
            };
            let score = new_score(sorted.get(member).copied());
            let refusal = if score.is_nan() {
                Some(Error::new(
                    ErrorKind::Protocol,
                    format!("{key}: the resulting score is not a number"),
                ))
            } else if !sorted.contains_key(member) && sorted.len() + 1 > limit {
                Some(self.too_many(limit))
            } else {
                None
            };
            if let Some(e) = refusal {
                if sorted.is_empty() {
                    *slot = None;
                }
                return Err(e);
            }
            sorted.insert(member.to_vec(), score);
            Ok(Reply::Float(score))
        })
    }

    fn run_one(&self, op: &Op) -> Result<Reply, Error> {
        match op {
            Op::Get { key } => self.with(key, |slot, _, _| match slot {
                None => Ok(Reply::Nil),
                Some(Slot {
                    state: State::Counter(n),
                    ..
                }) => Ok(Reply::Bytes(n.to_string().into_bytes())),
                Some(_) => Err(wrong_type(key)),
            }),
            Op::Set { .. } | Op::HashGet { .. } | Op::HashSet { .. } | Op::HashDelete { .. } => {
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "{} {}: values of a cache without a far tier live in its in-process tier",
                        op.name(),
                        op.key()
                    ),
                ))
            }
            Op::Delete { key } => {
                self.with(key, |slot, _, _| Ok(Reply::Bool(slot.take().is_some())))
            }
            Op::Exists { key } => self.with(key, |slot, _, _| Ok(Reply::Bool(slot.is_some()))),
            Op::Expire { key, ttl } => self.with(key, |slot, now, _| {
                Ok(Reply::Bool(slot.as_mut().is_some_and(|s| {
                    s.expires_at = expiry(now, Some(*ttl));
                    true
                })))
            }),
            Op::Increment { key, by, ttl } => self.with(key, |slot, now, _| match slot {
                Some(Slot {
                    state: State::Counter(n),
                    expires_at,
                }) => {
                    *n = n.saturating_add(*by);
                    if *expires_at == u64::MAX {
                        *expires_at = expiry(now, *ttl);
                    }
                    Ok(Reply::Int(*n))
                }
                Some(_) => Err(wrong_type(key)),
                None => {
                    *slot = Some(Slot {
                        state: State::Counter(*by),
                        expires_at: expiry(now, *ttl),
                    });
                    Ok(Reply::Int(*by))
                }
            }),
            Op::SetAdd { key, members, ttl } => self.with(key, |slot, now, limit| {
                let set = match slot {
                    None if members.is_empty() => return Ok(Reply::Int(0)),
                    None => {
                        &mut slot
                            .insert(Slot {
                                state: State::Set(HashSet::new()),
                                expires_at: expiry(now, *ttl),
                            })
                            .state
                    }
                    Some(s) => &mut s.state,
                };
                let State::Set(set) = set else {
                    return Err(wrong_type(key));
                };
                let new: HashSet<&Vec<u8>> = members.iter().filter(|m| !set.contains(*m)).collect();
                if set.len() + new.len() > limit {
                    if set.is_empty() {
                        *slot = None;
                    }
                    return Err(self.too_many(limit));
                }
                let added = new.len();
                set.extend(new.into_iter().cloned());
                Ok(count(added))
            }),
            Op::SetRemove { key, members } => self.with(key, |slot, _, _| {
                let removed = match slot.as_mut().map(|s| &mut s.state) {
                    None => 0,
                    Some(State::Set(set)) => members.iter().filter(|m| set.remove(*m)).count(),
                    Some(_) => return Err(wrong_type(key)),
                };
                if matches!(slot, Some(Slot { state: State::Set(set), .. }) if set.is_empty()) {
                    *slot = None;
                }
                Ok(count(removed))
            }),
            Op::SetContains { key, member } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::Bool(false)),
                    Some(State::Set(set)) => Ok(Reply::Bool(set.contains(member))),
                    Some(_) => Err(wrong_type(key)),
                })
            }
            Op::SetLen { key } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::Int(0)),
                    Some(State::Set(set)) => Ok(count(set.len())),
                    Some(_) => Err(wrong_type(key)),
                })
            }
            Op::SetMembers { key } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::List(Vec::new())),
                    Some(State::Set(set)) => Ok(Reply::List(set.iter().cloned().collect())),
                    Some(_) => Err(wrong_type(key)),
                })
            }
            Op::SortedIncrement {
                key,
                member,
                by,
                ttl,
            } => self.write_score(key, member, *ttl, |old| old.unwrap_or(0.0) + by),
            Op::SortedAdd {
                key,
                member,
                score,
                ttl,
            } => self.write_score(key, member, *ttl, |_| *score),
            Op::SortedRange {
                key,
                start,
                stop,
                descending,
            } => self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                None => Ok(Reply::Scored(Vec::new())),
                Some(State::Sorted(sorted)) => {
                    let ranked = ranked(sorted, *descending);
                    let out = span(*start, *stop, ranked.len())
                        .map(|(a, b)| {
                            ranked[a..=b]
                                .iter()
                                .map(|(m, s)| ((*m).clone(), *s))
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok(Reply::Scored(out))
                }
                Some(_) => Err(wrong_type(key)),
            }),
            Op::SortedRank {
                key,
                member,
                descending,
            } => self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                None => Ok(Reply::Nil),
                Some(State::Sorted(sorted)) => Ok(ranked(sorted, *descending)
                    .iter()
                    .position(|(m, _)| *m == member)
                    .map_or(Reply::Nil, count)),
                Some(_) => Err(wrong_type(key)),
            }),
            Op::SortedScore { key, member } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::Nil),
                    Some(State::Sorted(sorted)) => {
                        Ok(sorted.get(member).map_or(Reply::Nil, |s| Reply::Float(*s)))
                    }
                    Some(_) => Err(wrong_type(key)),
                })
            }
            Op::SortedRemove { key, members } => self.with(key, |slot, _, _| {
                let removed = match slot.as_mut().map(|s| &mut s.state) {
                    None => 0,
                    Some(State::Sorted(sorted)) => members
                        .iter()
                        .filter(|m| sorted.remove(*m).is_some())
                        .count(),
                    Some(_) => return Err(wrong_type(key)),
                };
                if matches!(slot, Some(Slot { state: State::Sorted(s), .. }) if s.is_empty()) {
                    *slot = None;
                }
                Ok(count(removed))
            }),
            Op::SortedLen { key } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::Int(0)),
                    Some(State::Sorted(sorted)) => Ok(count(sorted.len())),
                    Some(_) => Err(wrong_type(key)),
                })
            }
            Op::ListPush { key, items, ttl } => self.with(key, |slot, now, limit| {
                let state = match slot {
                    None if items.is_empty() => return Ok(Reply::Int(0)),
                    None => {
                        &mut slot
                            .insert(Slot {
                                state: State::List(VecDeque::new()),
                                expires_at: expiry(now, *ttl),
                            })
                            .state
                    }
                    Some(s) => &mut s.state,
                };
                let State::List(list) = state else {
                    return Err(wrong_type(key));
                };
                if list.len() + items.len() > limit {
                    if list.is_empty() {
                        *slot = None;
                    }
                    return Err(self.too_many(limit));
                }
                list.extend(items.iter().cloned());
                Ok(count(list.len()))
            }),
            Op::ListPop { key } => self.with(key, |slot, _, _| {
                let item = match slot.as_mut().map(|s| &mut s.state) {
                    None => None,
                    Some(State::List(list)) => list.pop_front(),
                    Some(_) => return Err(wrong_type(key)),
                };
                if matches!(slot, Some(Slot { state: State::List(l), .. }) if l.is_empty()) {
                    *slot = None;
                }
                Ok(item.map_or(Reply::Nil, Reply::Bytes))
            }),
            Op::ListLen { key } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::Int(0)),
                    Some(State::List(list)) => Ok(count(list.len())),
                    Some(_) => Err(wrong_type(key)),
                })
            }
            Op::ListRange { key, start, stop } => {
                self.with(key, |slot, _, _| match slot.as_ref().map(|s| &s.state) {
                    None => Ok(Reply::List(Vec::new())),
                    Some(State::List(list)) => Ok(Reply::List(
                        span(*start, *stop, list.len())
                            .map(|(a, b)| list.range(a..=b).cloned().collect())
                            .unwrap_or_default(),
                    )),
                    Some(_) => Err(wrong_type(key)),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ready;
    use super::*;
    use crate::clock::Clock;
    use proptest::prelude::*;

    fn run(local: &LocalCoordination, op: Op) -> Result<Reply, Error> {
        ready(local.run(std::slice::from_ref(&op))).map(|mut r| r.remove(0))
    }

    fn key(k: &str) -> String {
        k.to_owned()
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn structures_follow_redis_semantics() {
        let (clock, mock) = Clock::mock();
        let local = LocalCoordination::new(clock, 100);
        let minute = Some(Duration::from_secs(60));
        let add = |m: &[&str]| Op::SetAdd {
            key: key("viewers"),
            members: m.iter().map(|s| b(s)).collect(),
            ttl: minute,
        };
        assert_eq!(run(&local, add(&["1", "2", "2"])).unwrap(), Reply::Int(2));
        assert_eq!(run(&local, add(&["2", "3"])).unwrap(), Reply::Int(1));
        assert_eq!(
            run(
                &local,
                Op::SetLen {
                    key: key("viewers")
                }
            )
            .unwrap(),
            Reply::Int(3)
        );
        let wrong = run(
            &local,
            Op::ListPush {
                key: key("viewers"),
                items: vec![b("x")],
                ttl: None,
            },
        );
        assert_eq!(
            wrong.unwrap_err().kind(),
            ErrorKind::Protocol,
            "a set is not a list"
        );

        for (member, by) in [("a", 1.0), ("b", 5.0), ("c", 5.0), ("a", 1.5)] {
            run(
                &local,
                Op::SortedIncrement {
                    key: key("trending"),
                    member: b(member),
                    by,
                    ttl: None,
                },
            )
            .unwrap();
        }
        let top = run(
            &local,
            Op::SortedRange {
                key: key("trending"),
                start: 0,
                stop: 1,
                descending: true,
            },
        )
        .unwrap();
        // Ties go by member, reversed when descending, as ZREVRANGE orders them.
        assert_eq!(top, Reply::Scored(vec![(b("c"), 5.0), (b("b"), 5.0)]));
        let rank = |m: &str, descending| {
            run(
                &local,
                Op::SortedRank {
                    key: key("trending"),
                    member: b(m),
                    descending,
                },
            )
            .unwrap()
        };
        assert_eq!(rank("a", false), Reply::Int(0));
        assert_eq!(rank("a", true), Reply::Int(2));
        assert_eq!(rank("zz", true), Reply::Nil);

        let push = |items: &[&str]| Op::ListPush {
            key: key("jobs"),
            items: items.iter().map(|s| b(s)).collect(),
            ttl: None,
        };
        assert_eq!(run(&local, push(&["j1", "j2"])).unwrap(), Reply::Int(2));
        assert_eq!(run(&local, push(&["j3"])).unwrap(), Reply::Int(3));
        let range = run(
            &local,
            Op::ListRange {
                key: key("jobs"),
                start: -2,
                stop: -1,
            },
        );
        assert_eq!(range.unwrap(), Reply::List(vec![b("j2"), b("j3")]));
        assert_eq!(
            run(&local, Op::ListPop { key: key("jobs") }).unwrap(),
            Reply::Bytes(b("j1"))
        );

        assert_eq!(
            run(
                &local,
                Op::Exists {
                    key: key("viewers")
                }
            )
            .unwrap(),
            Reply::Bool(true)
        );
        mock.advance(Duration::from_secs(60));
        assert_eq!(
            run(
                &local,
                Op::Exists {
                    key: key("viewers")
                }
            )
            .unwrap(),
            Reply::Bool(false),
            "the set expired with the TTL it was created with"
        );
        assert_eq!(
            run(&local, Op::Exists { key: key("jobs") }).unwrap(),
            Reply::Bool(true),
            "the list was created without one"
        );
        assert!(matches!(
            run(
                &local,
                Op::Expire {
                    key: key("jobs"),
                    ttl: Duration::from_secs(1)
                }
            ),
            Ok(Reply::Bool(true))
        ));
        mock.advance(Duration::from_secs(1));
        assert_eq!(
            run(&local, Op::ListLen { key: key("jobs") }).unwrap(),
            Reply::Int(0)
        );
    }

    #[test]
    fn a_structure_that_would_outgrow_the_table_is_refused_and_kept_as_it_was() {
        let (clock, _mock) = Clock::mock();
        // Two entries: twenty members in all.
        let local = LocalCoordination::new(clock, 2);
        let items = |n: usize| {
            (0..n)
                .map(|i| i.to_string().into_bytes())
                .collect::<Vec<_>>()
        };
        let push = |n| Op::ListPush {
            key: key("jobs"),
            items: items(n),
            ttl: None,
        };
        assert_eq!(run(&local, push(15)).unwrap(), Reply::Int(15));
        let refused = run(&local, push(6)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Capacity);
        assert_eq!(
            run(&local, Op::ListLen { key: key("jobs") }).unwrap(),
            Reply::Int(15)
        );
        assert_eq!(run(&local, push(5)).unwrap(), Reply::Int(20));
        for _ in 0..20 {
            run(&local, Op::ListPop { key: key("jobs") }).unwrap();
        }
        assert_eq!(
            run(&local, push(20)).unwrap(),
            Reply::Int(20),
            "popped items free room"
        );
    }

    proptest! {
        #[test]
        fn spans_match_redis_ranges(start in -12i64..12, stop in -12i64..12, len in 0usize..10) {
            let items: Vec<usize> = (0..len).collect();
            // Redis's own definition, spelled differently.
            let l = len as i64;
            let s = if start < 0 { (l + start).max(0) } else { start };
            let e = if stop < 0 { l + stop } else { stop.min(l - 1) };
            let expected: Vec<usize> = if s > e || s >= l {
                Vec::new()
            } else {
                items[s as usize..=e as usize].to_vec()
            };
            let got: Vec<usize> = span(start, stop, len).map(|(a, b)| items[a..=b].to_vec()).unwrap_or_default();
            prop_assert_eq!(got, expected);
        }
    }
}
