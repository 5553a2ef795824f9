//! Request collapsing: one origin request per key at a time, the other callers wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// The keys with a request to the origin in flight.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<Arc<str>, watch::Receiver<()>>>,
}

/// A caller's place in a flight.
#[derive(Debug)]
pub(crate) enum Join {
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
    /// Leads the flight for `key`, or waits for the one in progress.
    pub(crate) fn join(self: &Arc<Self>, key: &Arc<str>) -> Join {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = map.get(key) {
            return Join::Waiter(rx.clone());
        }
        let (tx, rx) = watch::channel(());
        map.insert(key.clone(), rx);
        Join::Leader(Flight {
            flights: self.clone(),
            key: key.clone(),
            _done: tx,
        })
    }

    /// Leads the flight for `key` if none is in progress.
    pub(crate) fn try_lead(self: &Arc<Self>, key: &Arc<str>) -> Option<Flight> {
        match self.join(key) {
            Join::Leader(flight) => Some(flight),
            Join::Waiter(_) => None,
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        let mut map = self
            .flights
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.remove(&self.key);
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
        let Join::Leader(flight) = flights.join(&key) else {
            panic!("first leads")
        };
        let Join::Waiter(rx) = flights.join(&key) else {
            panic!("second waits")
        };
        assert!(flights.try_lead(&key).is_none());
        let waiter = tokio::spawn(landed(rx));
        drop(flight);
        waiter.await.unwrap();
        assert!(flights.try_lead(&key).is_some());
    }
}
