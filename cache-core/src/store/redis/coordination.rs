//! [`RedisStore`](super::RedisStore) as a [`Coordination`]: counters, windows, throttles and
//! leases, each one command or one Lua script, on the server's clock.

use std::time::Duration;

use super::{RedisStore, millis};
use crate::store::{Coordination, StoreFuture, WindowCount};

impl Coordination for RedisStore {
    fn increment<'a>(
        &'a self,
        key: &'a str,
        by: i64,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let mut invocation = self.inner.increment.key(key);
            invocation.arg(by).arg(ttl.map_or(0, millis));
            self.invoke(invocation).await
        })
    }

    fn throttle<'a>(
        &'a self,
        key: &'a str,
        interval: Duration,
        burst: u64,
    ) -> StoreFuture<'a, crate::Throttle> {
        Box::pin(async move {
            let interval = millis(interval).max(1);
            let tolerance = interval.saturating_mul(burst.max(1) - 1);
            let mut invocation = self.inner.throttle.key(key);
            invocation.arg(interval).arg(tolerance);
            let (allowed, remaining, retry, reset): (i64, i64, i64, i64) =
                self.invoke(invocation).await?;
            let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
            Ok(crate::Throttle::new(
                allowed == 1,
                u64::try_from(remaining).unwrap_or(0),
                ms(retry),
                ms(reset),
            ))
        })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let reply: Option<String> = self
                .query(
                    redis::cmd("SET")
                        .arg(key)
                        .arg(token)
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(lease)),
                )
                .await?;
            Ok(reply.is_some())
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut invocation = self.inner.unlock.key(key);
            invocation.arg(token);
            let removed: i64 = self.invoke(invocation).await?;
            Ok(removed == 1)
        })
    }

    fn counter<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move { self.query(redis::cmd("GET").arg(key)).await })
    }

    fn count_in_window<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
        by: i64,
    ) -> StoreFuture<'a, WindowCount> {
        Box::pin(async move {
            let mut invocation = self.inner.count_in_window.key(key);
            invocation.arg(millis(window)).arg(by);
            let (count, left): (i64, i64) = self.invoke(invocation).await?;
            Ok(WindowCount::new(
                count,
                Duration::from_millis(u64::try_from(left).unwrap_or(0)),
            ))
        })
    }

    fn ttl<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Option<Duration>>> {
        Box::pin(async move {
            let ms: i64 = self.query(redis::cmd("PTTL").arg(key)).await?;
            Ok(match ms {
                -2 => None,
                -1 => Some(None),
                ms => Some(Some(Duration::from_millis(ms.max(0) as u64))),
            })
        })
    }
}
