//! [`Far`]: a far tier behind the cache's failure policy.
//!
//! Every call is bounded by the cache's store timeout and skipped while the circuit breaker is
//! open. A failure is counted in the namespace's `store_errors`, logged once per burst, and
//! returned to the cache, which (failing open) turns a failed read into a miss and a failed
//! write into a no-op.

use std::sync::Arc;
use std::time::Duration;

use super::breaker::{Breaker, BurstLog};
use super::{Store, StoreFuture};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::stats::{Counter, NamespaceId, StatsTable};

pub(crate) struct Far {
    pub(crate) store: Arc<dyn Store>,
    /// `None` when the store bounds its own calls.
    timeout: Option<Duration>,
    breaker: Breaker,
    log: BurstLog,
}

/// Settings of the failure policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FarPolicy {
    pub(crate) timeout: Duration,
    pub(crate) breaker_threshold: u32,
    pub(crate) breaker_cool_down: Duration,
}

impl Far {
    pub(crate) fn new(store: Arc<dyn Store>, policy: FarPolicy) -> Self {
        Self {
            timeout: (!store.bounds_calls()).then_some(policy.timeout),
            store,
            breaker: Breaker::new(policy.breaker_threshold, policy.breaker_cool_down),
            log: BurstLog::new(Duration::from_secs(10)),
        }
    }

    /// Runs one store call under the policy.
    pub(crate) async fn call<T>(
        &self,
        clock: &Clock,
        stats: &StatsTable,
        namespace: NamespaceId,
        what: &'static str,
        call: StoreFuture<'_, T>,
    ) -> Result<T, Error> {
        let now = clock.now_nanos();
        if !self.breaker.allows(now) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the far tier is skipped for a cool-down after repeated failures",
            ));
        }
        let call = match self.timeout {
            // A timer per call is not free: it is added only where the store has none. Boxed
            // with the call, so that the state of every call stays small.
            Some(timeout) => Box::pin(async move {
                match tokio::time::timeout(timeout, call).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::new(
                        ErrorKind::Timeout,
                        format!("{what} took longer than the store timeout of {timeout:?}"),
                    )),
                }
            }),
            None => call,
        };
        let result = call.await;
        match &result {
            Ok(_) => self.breaker.record_success(),
            Err(e) => {
                stats.incr(namespace, Counter::StoreError);
                // The cool-down runs from the failure, not from the start of a slow call.
                let now = clock.now_nanos();
                let opened = self.breaker.record_failure(now);
                if let Some(suppressed) = self.log.should_log(now) {
                    tracing::warn!(
                        error = %e,
                        operation = what,
                        suppressed,
                        breaker_open = opened,
                        "far tier call failed; serving from the origin and the in-process tier"
                    );
                }
            }
        }
        result
    }
}
