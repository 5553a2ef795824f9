//! [`LocalCoordination`] as a [`Coordination`]: counters, windows, throttles and leases, each
//! one step under the table's lock.

use std::time::Duration;

use super::{LocalCoordination, Slot, State, nanos, wrong_type};
use crate::store::{Coordination, StoreFuture, WindowCount};
use crate::throttle::{Throttle, gcra};

impl Coordination for LocalCoordination {
    fn increment<'a>(
        &'a self,
        key: &'a str,
        by: i64,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, i64> {
        let result = self.with(key, |slot, now, _| match slot {
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
        let result = self.with(key, |slot, _, _| match slot {
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
        let result = self.with(key, |slot, now, _| {
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
        let result = self.with(key, |slot, now, _| {
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
        let result = self.with(key, |slot, now, _| {
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
        let result = self.with(key, |slot, _, _| match slot {
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
        let result = self.with(key, |slot, now, _| {
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
    use crate::clock::Clock;
    use crate::error::ErrorKind;

    fn ready<T>(f: StoreFuture<'_, T>) -> T {
        super::super::ready(f).unwrap()
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
