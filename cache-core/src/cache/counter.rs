//! Counters and rate limits, shared by every instance through the far tier's
//! [`Coordination`](crate::store::Coordination), or kept in process without a far tier.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Cache;
use crate::error::Error;
use crate::key::CacheKey;
use crate::store::WindowCount;
use crate::throttle::{Throttle, interval_ms};

impl Cache {
    /// Adds `by` to the counter under `key` and returns the new value.
    ///
    /// A counter that this call creates gets the key type's TTL in the same atomic step (on
    /// Redis a Lua script), so no interleaving of callers leaves a counter without expiry, as
    /// an `INCR` followed by an `EXPIRE` can. Later increments keep the original expiry: the
    /// window is fixed. Counters live in the far tier when there is one, shared by every
    /// instance; in a memory-only cache they live in a bounded table of their own, which
    /// cache entries cannot evict.
    ///
    /// # Errors
    ///
    /// [`Error`] when the far tier fails, or offers no counters (kind
    /// [`Unsupported`](crate::ErrorKind::Unsupported)): a counter guards something (a rate
    /// limit, an attempt count), so the caller decides how to fail.
    pub async fn increment<K>(&self, key: &K, by: i64) -> Result<i64, Error>
    where
        K: CacheKey<Value = i64>,
    {
        self.increment_within(key, by, K::POLICY.time_to_live())
            .await
    }

    /// [`increment`](Self::increment) with the expiry of a counter this call creates given
    /// here (`None`: none) instead of by the key type.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn increment_within<K>(
        &self,
        key: &K,
        by: i64,
        ttl: Option<Duration>,
    ) -> Result<i64, Error>
    where
        K: CacheKey<Value = i64>,
    {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        let call = self.coordination()?.increment(&rendered, by, ttl);
        self.far_call(ns, "INCRBY", call).await
    }

    /// Adds `by` to the counter under `key` that starts again at `reset_at`: a counter this
    /// call creates expires then (a "today" counter reset at midnight in the caller's time
    /// zone). Later increments keep that expiry, so every instance counts into the same day.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn increment_until<K>(
        &self,
        key: &K,
        by: i64,
        reset_at: SystemTime,
    ) -> Result<i64, Error>
    where
        K: CacheKey<Value = i64>,
    {
        let left = reset_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(1));
        self.increment_within(key, by, Some(left)).await
    }

    /// [`increment_until`](Self::increment_until) the next midnight UTC: a daily counter
    /// (clicks today, orders today) that every instance shares and that starts again each day.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn increment_daily<K>(&self, key: &K, by: i64) -> Result<i64, Error>
    where
        K: CacheKey<Value = i64>,
    {
        self.increment_until(key, by, next_midnight_utc(SystemTime::now()))
            .await
    }

    /// Adds `by` to the count of the current fixed window of length `window` under `key` and
    /// returns the count with the time until the window ends. The window is told by the far
    /// tier's clock (Redis `TIME`), so instances whose clocks disagree still share one window;
    /// a count from an earlier window is dropped first. For a limit of requests per minute.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn count_in_window<K>(
        &self,
        key: &K,
        window: Duration,
        by: i64,
    ) -> Result<WindowCount, Error>
    where
        K: CacheKey<Value = i64>,
    {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        let call = self.coordination()?.count_in_window(
            &rendered,
            window.max(Duration::from_millis(1)),
            by,
        );
        self.far_call(ns, "window", call).await
    }

    /// One request against a GCRA limit under `key` (see [`Throttle`]): at most `limit`
    /// requests per `period` sustained, `burst` of them at once, on the far tier's clock.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn throttle<K>(
        &self,
        key: &K,
        limit: u64,
        period: Duration,
        burst: u64,
    ) -> Result<Throttle, Error>
    where
        K: CacheKey<Value = i64>,
    {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        let interval = Duration::from_millis(interval_ms(limit, period));
        let call = self.coordination()?.throttle(&rendered, interval, burst);
        self.far_call(ns, "throttle", call).await
    }

    /// The current value of the counter under `key`, read from where
    /// [`increment`](Self::increment) keeps it; `None` when there is none.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn counter<K>(&self, key: &K) -> Result<Option<i64>, Error>
    where
        K: CacheKey<Value = i64>,
    {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        let call = self.coordination()?.counter(&rendered);
        self.far_call(ns, "GET", call).await
    }

    /// The time the counter, window, throttle or lease under `key` has left; `None` when there
    /// is none, [`Duration::MAX`] when it never expires.
    ///
    /// # Errors
    ///
    /// As [`increment`](Self::increment).
    pub async fn time_to_live<K: CacheKey>(&self, key: &K) -> Result<Option<Duration>, Error> {
        let ns = self.inner.stats.namespace(K::NAMESPACE);
        let rendered = key.render();
        let call = self.coordination()?.ttl(&rendered);
        let ttl = self.far_call(ns, "PTTL", call).await?;
        Ok(ttl.map(|t| t.unwrap_or(Duration::MAX)))
    }
}

/// The first midnight UTC after `now`.
fn next_midnight_utc(now: SystemTime) -> SystemTime {
    const DAY: u64 = 24 * 3600;
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs((secs / DAY + 1) * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_ends_at_the_next_midnight_utc() {
        // 2026-12-04T13:05:00Z and 2026-12-04T00:00:00Z.
        let afternoon = UNIX_EPOCH + Duration::from_secs(1_796_389_500);
        let midnight = UNIX_EPOCH + Duration::from_secs(1_796_342_400);
        let next = UNIX_EPOCH + Duration::from_secs(1_796_428_800);
        assert_eq!(next_midnight_utc(afternoon), next);
        assert_eq!(
            next_midnight_utc(midnight),
            next,
            "midnight itself starts a day"
        );
        assert_eq!(
            next_midnight_utc(next - Duration::from_millis(1)),
            next,
            "the last millisecond of a day"
        );
    }
}
