//! [`LocalCoordination`]: what a cache without a far tier keeps beside its in-process tier, in
//! a table of its own: counters, windows, throttles and leases (`coordination`), and sets,
//! sorted sets and lists (`structures`).
//!
//! They are kept apart from the in-process tier on purpose: cache entries are evicted when
//! others arrive, and a rate limit or an attempt counter that a flood of other keys could evict
//! would reset itself for the attacker. The table is bounded instead, by entries
//! ([`max_counters`](crate::CacheBuilder::max_counters)) and by the members all its structures
//! hold together: when it is full of live entries, a write that needs more room is refused
//! with an error of kind [`Capacity`](crate::ErrorKind::Capacity), and the caller decides how
//! to fail (a rate limiter fails open or closed as configured).

mod coordination;
mod structures;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};

/// What one key holds.
#[derive(Debug)]
enum State {
    Counter(i64),
    Window {
        index: u64,
        count: i64,
    },
    /// A GCRA theoretical arrival time, in clock milliseconds.
    Tat(u64),
    Lease(String),
    Set(HashSet<Vec<u8>>),
    Sorted(HashMap<Vec<u8>, f64>),
    List(VecDeque<Vec<u8>>),
}

#[derive(Debug)]
struct Slot {
    state: State,
    /// Clock nanos at which the slot expires; `u64::MAX` for never.
    expires_at: u64,
}

impl Slot {
    /// The members or items it holds (0 for a counter, window, throttle or lease).
    fn members(&self) -> usize {
        match &self.state {
            State::Set(set) => set.len(),
            State::Sorted(sorted) => sorted.len(),
            State::List(list) => list.len(),
            _ => 0,
        }
    }
}

#[derive(Debug, Default)]
struct Table {
    slots: HashMap<String, Slot>,
    /// The members of every structure in `slots`.
    members: usize,
}

/// The in-process [`Coordination`](crate::store::Coordination) and
/// [`Structures`](crate::store::Structures).
#[derive(Debug)]
pub(super) struct LocalCoordination {
    clock: Clock,
    max: usize,
    max_members: usize,
    table: Mutex<Table>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn wrong_type(key: &str) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!(
            "{key} holds another kind of entry (a counter, a window, a throttle, a lease, a set, \
             a sorted set or a list)"
        ),
    )
}

/// How many members all structures of the table may hold together, per allowed entry.
const MEMBERS_PER_ENTRY: usize = 10;

impl LocalCoordination {
    /// A table of at most `max` live entries, holding at most ten members per allowed entry
    /// in its structures together.
    pub(super) fn new(clock: Clock, max: usize) -> Self {
        let max = max.max(1);
        Self {
            clock,
            max,
            max_members: max.saturating_mul(MEMBERS_PER_ENTRY),
            table: Mutex::default(),
        }
    }

    /// Runs `f` on the live slot of `key` (an expired one is dropped first) at `now`, with the
    /// most members the slot may hold when `f` is done: `f` checks it before it grows the
    /// slot, so that a refused write changes nothing. A slot `f` creates needs room in the
    /// table; a full one is refused (nothing existed, nothing is lost).
    fn with<T>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Option<Slot>, u64, usize) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.clock.now_nanos();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &mut *table;
        let mut slot = table.slots.remove(key);
        if let Some(old) = &slot {
            table.members -= old.members();
            if old.expires_at <= now {
                slot = None;
            }
        }
        let created = slot.is_none();
        if table.members.saturating_mul(10) >= self.max_members.saturating_mul(9) {
            Self::drop_expired(table, now);
        }
        let out = f(
            &mut slot,
            now,
            self.max_members.saturating_sub(table.members),
        );
        let Some(slot) = slot else {
            return out;
        };
        if created && table.slots.len() >= self.max {
            Self::drop_expired(table, now);
            if table.slots.len() >= self.max {
                return Err(self.full(table));
            }
        }
        table.members += slot.members();
        table.slots.insert(key.to_owned(), slot);
        out
    }

    /// The error of a write the table has no room for.
    fn full(&self, table: &Table) -> Error {
        Error::new(
            ErrorKind::Capacity,
            format!(
                "the in-process table of counters, throttles, leases and structures is full                  ({} of {} entries, {} of {} members); raise CacheBuilder::max_counters or use                  a far tier",
                table.slots.len(),
                self.max,
                table.members,
                self.max_members
            ),
        )
    }

    /// The error of a structure that would outgrow `limit` members.
    fn too_many(&self, limit: usize) -> Error {
        Error::new(
            ErrorKind::Capacity,
            format!(
                "the in-process structures hold all the {} members they may (this one may grow                  to {limit}); raise CacheBuilder::max_counters or use a far tier",
                self.max_members
            ),
        )
    }

    fn drop_expired(table: &mut Table, now: u64) {
        let mut freed = 0;
        table.slots.retain(|_, s| {
            let live = s.expires_at > now;
            if !live {
                freed += s.members();
            }
            live
        });
        table.members -= freed;
    }
}

#[cfg(test)]
fn ready<T>(f: crate::store::StoreFuture<'_, T>) -> Result<T, Error> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = f;
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("in-process calls are ready at once"),
    }
}
