//! [`LocalCoordination`]: the counters, windows, throttles and leases of a cache without a far
//! tier, in a table of their own.
//!
//! They are kept apart from the in-process tier on purpose: cache entries are evicted when
//! others arrive, and a rate limit or an attempt counter that a flood of other keys could evict
//! would reset itself for the attacker. The table is bounded instead: when it is full of live
//! entries, a new one is refused with an error of kind [`Capacity`](crate::ErrorKind::Capacity),
//! and the caller decides how to fail (a rate limiter fails open or closed as configured).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::store::{Coordination, StoreFuture, WindowCount};
use crate::throttle::{Throttle, gcra};

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
}

#[derive(Debug)]
struct Slot {
    state: State,
    /// Clock nanos at which the slot expires; `u64::MAX` for never.
    expires_at: u64,
}

/// The in-process [`Coordination`].
#[derive(Debug)]
pub(super) struct LocalCoordination {
    clock: Clock,
    max: usize,
    slots: Mutex<HashMap<String, Slot>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn wrong_type(key: &str) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("{key} holds another kind of entry (a counter, a window, a throttle or a lease)"),
    )
}

impl LocalCoordination {
    pub(super) fn new(clock: Clock, max: usize) -> Self {
        Self {
            clock,
            max: max.max(1),
            slots: Mutex::default(),
        }
    }

    /// Runs `f` on the live slot of `key` (expired ones are dropped first) at `now`, with room
    /// for a new slot if `f` needs one.
    fn with<T>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Option<Slot>, u64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.clock.now_nanos();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut slot = slots.remove(key).filter(|s| s.expires_at > now);
        let out = f(&mut slot, now);
        if let Some(slot) = slot {
            if slots.len() >= self.max {
                slots.retain(|_, s| s.expires_at > now);
            }
            if slots.len() >= self.max {
                return Err(Error::new(
                    ErrorKind::Capacity,
                    format!(
                        "the in-process table of counters, throttles and leases holds {} live \
                         entries; raise CacheBuilder::max_counters or use a far tier",
                        self.max
                    ),
                ));
            }
            slots.insert(key.to_owned(), slot);
        }
        out
    }
}

impl Coordination for LocalCoordination {
    fn increment<'a>(
        &'a self,
        key: &'a str,
        by: i64,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, i64> {
        let result = self.with(key, |slot, now| match slot {
            Some(Slot {
                state: State::Counter(n),
                expires_at,
            }) => {
                *n = n.saturating_add(by);
                if *expires_at == u64::MAX
                    && let Some(ttl) = ttl
                {
                    *expires_at = now.saturating_add(nanos(ttl));
                }
                Ok(*n)
            }
            Some(_) => Err(wrong_type(key)),
            None => {
                *slot = Some(Slot {
                    state: State::Counter(by),
                    expires_at: ttl.map_or(u64::MAX, |t| now.saturating_add(nanos(t))),
                });
                Ok(by)
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn counter<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<i64>> {
        let result = self.with(key, |slot, _| match slot {
            Some(Slot {
                state: State::Counter(n),
                ..
            }) => Ok(Some(*n)),
            Some(_) => Err(wrong_type(key)),
            None => Ok(None),
        });
        Box::pin(std::future::ready(result))
    }

    fn count_in_window<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
        by: i64,
    ) -> StoreFuture<'a, WindowCount> {
        let window = nanos(window).max(1);
        let result = self.with(key, |slot, now| {
            let index = now / window;
            let ends = index.saturating_add(1).saturating_mul(window);
            let count = match slot {
                Some(Slot {
                    state: State::Window { index: i, count },
                    ..
                }) if *i == index => count.saturating_add(by),
                Some(Slot {
                    state: State::Window { .. },
                    ..
                })
                | None => by,
                Some(_) => return Err(wrong_type(key)),
            };
            *slot = Some(Slot {
                state: State::Window { index, count },
                expires_at: ends,
            });
            Ok(WindowCount::new(count, Duration::from_nanos(ends - now)))
        });
        Box::pin(std::future::ready(result))
    }

    fn throttle<'a>(
        &'a self,
        key: &'a str,
        interval: Duration,
        burst: u64,
    ) -> StoreFuture<'a, Throttle> {
        let interval = u64::try_from(interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let result = self.with(key, |slot, now| {
            let now_ms = now / 1_000_000;
            let tat = match slot {
                Some(Slot {
                    state: State::Tat(t),
                    ..
                }) => Some(*t),
                Some(_) => return Err(wrong_type(key)),
                None => None,
            };
            let (outcome, next) = gcra(tat, now_ms, interval, burst);
            if let Some(next) = next {
                *slot = Some(Slot {
                    state: State::Tat(next),
                    expires_at: next.saturating_mul(1_000_000),
                });
            }
            Ok(outcome)
        });
        Box::pin(std::future::ready(result))
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, bool> {
        let result = self.with(key, |slot, now| {
            if slot.is_some() {
                return Ok(false);
            }
            *slot = Some(Slot {
                state: State::Lease(token.to_owned()),
                expires_at: now.saturating_add(nanos(lease)),
            });
            Ok(true)
        });
        Box::pin(std::future::ready(result))
    }

    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, bool> {
        let result = self.with(key, |slot, _| match slot {
            Some(Slot {
                state: State::Lease(owner),
                ..
            }) if owner == token => {
                *slot = None;
                Ok(true)
            }
            _ => Ok(false),
        });
        Box::pin(std::future::ready(result))
    }

    fn ttl<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Option<Duration>>> {
        let result = self.with(key, |slot, now| {
            Ok(slot.as_ref().map(|s| {
                (s.expires_at != u64::MAX).then(|| Duration::from_nanos(s.expires_at - now))
            }))
        });
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready<T>(f: StoreFuture<'_, T>) -> T {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = f;
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out.unwrap(),
            std::task::Poll::Pending => panic!("in-process calls are ready at once"),
        }
    }

    #[test]
    fn counters_windows_and_leases_expire_on_the_clock() {
        let (clock, mock) = Clock::mock();
        let local = LocalCoordination::new(clock, 100);
        let minute = Duration::from_secs(60);
        assert_eq!(ready(local.increment("c", 2, Some(minute))), 2);
        assert_eq!(ready(local.increment("c", 3, None)), 5);
        assert_eq!(ready(local.counter("c")), Some(5));
        assert!(ready(local.try_lock("l", "me", minute)));
        assert!(!ready(local.try_lock("l", "you", minute)));
        assert!(!ready(local.unlock("l", "you")));
        let w = ready(local.count_in_window("w", minute, 1));
        assert_eq!(w.count, 1);
        assert_eq!(ready(local.count_in_window("w", minute, 1)).count, 2);
        mock.advance(minute);
        assert_eq!(ready(local.counter("c")), None, "the counter expired");
        assert!(
            ready(local.try_lock("l", "you", minute)),
            "the lease expired"
        );
        assert_eq!(
            ready(local.count_in_window("w", minute, 1)).count,
            1,
            "a new window"
        );
        assert!(ready(local.unlock("l", "you")));
        assert_eq!(ready(local.ttl("l")), None);
    }

    #[test]
    fn a_full_table_refuses_new_entries_instead_of_evicting_live_ones() {
        let (clock, mock) = Clock::mock();
        let local = LocalCoordination::new(clock, 2);
        let minute = Duration::from_secs(60);
        ready(local.increment("a", 1, Some(minute)));
        ready(local.increment("b", 1, Some(minute)));
        let mut refused = local.increment("c", 1, Some(minute));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let std::task::Poll::Ready(Err(e)) = refused.as_mut().poll(&mut cx) else {
            panic!("a third counter fits in a table of two")
        };
        assert_eq!(e.kind(), ErrorKind::Capacity);
        // The live counters kept their counts.
        assert_eq!(ready(local.increment("a", 1, None)), 2);
        mock.advance(minute);
        assert_eq!(
            ready(local.increment("c", 1, None)),
            1,
            "expired ones make room"
        );
    }
}
