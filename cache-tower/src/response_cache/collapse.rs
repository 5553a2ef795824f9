//! Request collapsing: one origin request per key at a time, the other callers wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// The keys with a request to the origin in flight, and the keys that recently answered
/// uncacheably ("hit-for-pass"), which are not collapsed.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    flying: HashMap<Arc<str>, watch::Receiver<()>>,
    /// Key -> second until which it is not collapsed.
    pass: HashMap<Arc<str>, u64>,
}

/// The most pass marks kept; past it, expired marks are dropped, then all of them.
const MAX_PASS: usize = 10_000;

/// A caller's place in a flight.
#[derive(Debug)]
pub(crate) enum Join {
    /// The key answers uncacheably: go to the origin without collapsing.
    Alone,
    /// This caller goes to the origin; the flight ends when the guard drops.
    Leader(Flight),
    /// Another caller is at the origin; this resolves when it is done, or gives up.
    Waiter(watch::Receiver<()>),
}

/// The leader's guard: dropping it (done, failed or cancelled) wakes every waiter.
#[derive(Debug)]
pub(crate) struct Flight {
    flights: Arc<Flights>,
    key: Arc<str>,
    _done: watch::Sender<()>,
}

impl Flights {
    /// Leads the flight for `key`, or waits for the one in progress, or (for a key marked
    /// with [`pass`](Self::pass) until after `now`) goes alone.
    pub(crate) fn join(self: &Arc<Self>, key: &Arc<str>, now: u64) -> Join {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.pass.get(key).is_some_and(|&until| until > now) {
            return Join::Alone;
        }
        if let Some(rx) = state.flying.get(key) {
            return Join::Waiter(rx.clone());
        }
        let (tx, rx) = watch::channel(());
        state.flying.insert(key.clone(), rx);
        Join::Leader(Flight {
            flights: self.clone(),
            key: key.clone(),
            _done: tx,
        })
    }

    /// Leads the flight for `key` if none is in progress.
    pub(crate) fn try_lead(self: &Arc<Self>, key: &Arc<str>) -> Option<Flight> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.flying.contains_key(key) {
            return None;
        }
        let (tx, rx) = watch::channel(());
        state.flying.insert(key.clone(), rx);
        Some(Flight {
            flights: self.clone(),
            key: key.clone(),
            _done: tx,
        })
    }

    /// Marks `key` as answering uncacheably until `until`: its misses are not collapsed.
    pub(crate) fn pass(&self, key: &Arc<str>, until: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.pass.len() >= MAX_PASS {
            let now = until.saturating_sub(1);
            state.pass.retain(|_, &mut u| u > now);
            if state.pass.len() >= MAX_PASS {
                state.pass.clear();
            }
        }
        state.pass.insert(key.clone(), until);
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        let mut state = self
            .flights
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.flying.remove(&self.key);
    }
}

/// Waits until the flight `rx` belongs to is over.
pub(crate) async fn landed(mut rx: watch::Receiver<()>) {
    // The sender never sends: `changed` returns once the leader's guard is dropped.
    while rx.changed().await.is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_the_leader_drops() {
        let flights = Arc::new(Flights::default());
        let key: Arc<str> = "k".into();
        let Join::Leader(flight) = flights.join(&key, 0) else {
            panic!("first leads")
        };
        let Join::Waiter(rx) = flights.join(&key, 0) else {
            panic!("second waits")
        };
        assert!(flights.try_lead(&key).is_none());
        let waiter = tokio::spawn(landed(rx));
        drop(flight);
        waiter.await.unwrap();
        assert!(flights.try_lead(&key).is_some());
    }

    #[test]
    fn passed_keys_go_alone_until_the_mark_expires() {
        let flights = Arc::new(Flights::default());
        let key: Arc<str> = "k".into();
        flights.pass(&key, 100);
        assert!(matches!(flights.join(&key, 99), Join::Alone));
        assert!(matches!(flights.join(&key, 100), Join::Leader(_)));
    }
}
