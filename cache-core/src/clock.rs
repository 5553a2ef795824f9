//! [`Clock`]: the time source of a cache, real or mocked.
//!
//! Expiry is checked on every hit, so reading the clock is on the hot path. The system clock
//! is therefore coarse: one background thread per process (started on first use, named
//! `cache-core-clock`) stores the time every 10 milliseconds, and a read is a single atomic
//! load. An entry may thus be served up to about 10 ms past its TTL; every TTL such services use is
//! seconds or more. (A 1 ms tick cost a single-core HTTP server about 4% of its requests per
//! second in wake-ups; see `benches/README.md`.) The precise time comes from [quanta](https://docs.rs/quanta) (the CPU's
//! time-stamp counter where it is reliable, the OS monotonic clock elsewhere).
//!
//! A mocked clock moves only when a test tells it to, so TTL, jitter and refresh tests never
//! sleep.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cache_core::{Clock, MockClock};
//!
//! let (clock, mock) = Clock::mock();
//! let start = clock.now_nanos();
//! mock.advance(Duration::from_secs(5));
//! assert_eq!(clock.now_nanos() - start, 5_000_000_000);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often the background thread updates the coarse time.
const TICK: Duration = Duration::from_millis(10);

/// A monotonic time source, in nanoseconds since an arbitrary origin.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    System(&'static Coarse),
    Mock(quanta::Clock, quanta::Instant),
}

/// The process-wide coarse time.
struct Coarse {
    nanos: AtomicU64,
    /// Whether the background thread runs; if it could not start, reads are precise.
    ticking: AtomicBool,
    clock: quanta::Clock,
    origin: quanta::Instant,
}

impl Coarse {
    fn precise(&self) -> u64 {
        nanos_since(&self.clock, self.origin)
    }

    fn get() -> &'static Coarse {
        static COARSE: OnceLock<&'static Coarse> = OnceLock::new();
        COARSE.get_or_init(|| {
            let clock = quanta::Clock::new();
            let origin = clock.now();
            // One per process, read by every clock for the life of the process.
            let coarse: &'static Coarse = Box::leak(Box::new(Coarse {
                nanos: AtomicU64::new(0),
                ticking: AtomicBool::new(true),
                clock,
                origin,
            }));
            coarse.nanos.store(coarse.precise(), Ordering::Relaxed);
            let started = std::thread::Builder::new()
                .name("cache-core-clock".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(TICK);
                        coarse.nanos.store(coarse.precise(), Ordering::Relaxed);
                    }
                });
            if let Err(e) = started {
                tracing::warn!(
                    "cannot start the coarse clock thread ({e}); reading the precise clock instead"
                );
                coarse.ticking.store(false, Ordering::Relaxed);
            }
            coarse
        })
    }
}

fn nanos_since(clock: &quanta::Clock, origin: quanta::Instant) -> u64 {
    u64::try_from(clock.now().saturating_duration_since(origin).as_nanos()).unwrap_or(u64::MAX)
}

impl Clock {
    /// The real clock, coarse to about 10 milliseconds.
    pub fn system() -> Self {
        Self {
            source: Source::System(Coarse::get()),
        }
    }

    /// A clock that moves only through the returned [`MockClock`].
    pub fn mock() -> (Self, MockClock) {
        let (clock, mock) = quanta::Clock::mock();
        let origin = clock.now();
        (
            Self {
                source: Source::Mock(clock, origin),
            },
            MockClock { mock },
        )
    }

    /// Nanoseconds since this clock's origin.
    #[inline]
    pub fn now_nanos(&self) -> u64 {
        match &self.source {
            Source::System(coarse) if coarse.ticking.load(Ordering::Relaxed) => {
                coarse.nanos.load(Ordering::Relaxed)
            }
            Source::System(coarse) => coarse.precise(),
            Source::Mock(clock, origin) => nanos_since(clock, *origin),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.source {
            Source::System(_) => "system",
            Source::Mock(..) => "mock",
        };
        f.debug_struct("Clock").field("source", &kind).finish()
    }
}

/// The handle that moves a mocked [`Clock`].
#[derive(Clone)]
pub struct MockClock {
    mock: Arc<quanta::Mock>,
}

impl MockClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.mock.increment(by);
    }
}

impl fmt::Debug for MockClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockClock")
            .field("nanos", &self.mock.value())
            .finish()
    }
}
