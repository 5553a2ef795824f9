//! [`Breaker`]: stops calling a far tier that keeps failing, for a cool-down.
//!
//! After `threshold` failures in a row the breaker opens: calls are skipped (reads become
//! misses at once instead of waiting for a timeout) until the cool-down has passed. Then it is
//! half-open: one call, the probe, goes through while the others are still skipped; its success
//! closes the breaker, its failure opens it for another cool-down. A probe that never reports
//! (its caller was cancelled) is replaced by another after a cool-down. Time is passed in, so
//! the rules are tested without a clock.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cool_down: u64,
    failures: AtomicU32,
    /// Clock nanos until which calls are skipped; 0 when closed.
    open_until: AtomicU64,
    /// Clock nanos at which the probe of a half-open breaker went out; 0 when none is out.
    probe_since: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_down: u64::try_from(cool_down.as_nanos()).unwrap_or(u64::MAX),
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probe_since: AtomicU64::new(0),
        }
    }

    /// Whether a call may go through at `now`.
    #[inline]
    pub(crate) fn allows(&self, now: u64) -> bool {
        let open_until = self.open_until.load(Ordering::Relaxed);
        if open_until == 0 {
            return true;
        }
        if open_until > now {
            return false;
        }
        self.take_probe(now)
    }

    /// Half-open: lets one call through as the probe, unless one is already out (and not
    /// overdue).
    #[cold]
    fn take_probe(&self, now: u64) -> bool {
        let since = self.probe_since.load(Ordering::Relaxed);
        if since != 0 && now.saturating_sub(since) < self.cool_down {
            return false;
        }
        self.probe_since
            .compare_exchange(since, now.max(1), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    pub(crate) fn record_success(&self) {
        // Avoid writing shared lines on every success when nothing failed.
        if self.failures.load(Ordering::Relaxed) != 0
            || self.open_until.load(Ordering::Relaxed) != 0
        {
            self.failures.store(0, Ordering::Relaxed);
            self.open_until.store(0, Ordering::Relaxed);
            self.probe_since.store(0, Ordering::Relaxed);
        }
    }

    /// Records a failure at `now`; returns whether the breaker (re)opened.
    pub(crate) fn record_failure(&self, now: u64) -> bool {
        let failures = self
            .failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let probing = self.probe_since.swap(0, Ordering::AcqRel) != 0;
        if failures >= self.threshold || probing {
            self.open_until
                .store(now.saturating_add(self.cool_down).max(1), Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// Logs a burst of errors once: the first at once, then at most one line per window with the
/// number suppressed since.
#[derive(Debug)]
pub(crate) struct BurstLog {
    window: u64,
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl BurstLog {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether to log now, and how many were suppressed since the last line.
    pub(crate) fn should_log(&self, now: u64) -> Option<u64> {
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < self.window {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // One thread wins the line; the others count as suppressed.
        match self
            .last
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Some(self.suppressed.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn opens_after_threshold_and_closes_after_success() {
        let b = Breaker::new(3, Duration::from_secs(5));
        assert!(b.allows(0));
        assert!(!b.record_failure(1));
        assert!(!b.record_failure(2));
        assert!(b.allows(2));
        assert!(b.record_failure(3 * SEC));
        assert!(!b.allows(3 * SEC + 1));
        assert!(!b.allows(8 * SEC - 1));
        assert!(b.allows(8 * SEC), "cool-down over: one probe goes through");
        assert!(!b.allows(8 * SEC), "and only one");
        assert!(b.record_failure(8 * SEC + 1), "the probe's failure reopens");
        assert!(!b.allows(9 * SEC));
        assert!(b.allows(14 * SEC), "the next cool-down's probe");
        b.record_success();
        assert!(
            b.allows(14 * SEC) && b.allows(14 * SEC),
            "closed: every call goes through"
        );
        assert!(!b.record_failure(15 * SEC), "a success resets the count");
    }

    #[test]
    fn a_probe_that_never_reports_is_replaced_after_a_cool_down() {
        let b = Breaker::new(1, Duration::from_secs(5));
        assert!(b.record_failure(0));
        assert!(b.allows(5 * SEC), "the probe");
        assert!(!b.allows(9 * SEC), "still out");
        assert!(b.allows(10 * SEC), "overdue: another probe");
    }

    #[test]
    fn a_burst_is_logged_once_per_window() {
        let log = BurstLog::new(Duration::from_secs(10));
        assert_eq!(log.should_log(SEC), Some(0));
        assert_eq!(log.should_log(2 * SEC), None);
        assert_eq!(log.should_log(3 * SEC), None);
        assert_eq!(log.should_log(11 * SEC), Some(2));
        assert_eq!(log.should_log(12 * SEC), None);
    }
}
