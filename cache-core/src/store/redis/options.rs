//! [`RedisOptions`]: connection settings: timeouts, pooling, TLS, keepalive, health checks.

use std::time::Duration;

/// How the store talks to Redis.
///
/// The default, one shared multiplexed connection that reconnects by itself, pipelines
/// concurrent commands and measured several times the throughput of a pool here. A pool gives
/// each command a connection of its own, for deployments that want one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionMode {
    pool_size: Option<u32>,
}

impl ConnectionMode {
    /// One shared, auto-reconnecting multiplexed connection (the default).
    pub const fn multiplexed() -> Self {
        Self { pool_size: None }
    }

    /// A bb8 pool of `size` connections, each used by one command at a time.
    pub const fn pooled(size: u32) -> Self {
        Self {
            pool_size: Some(size),
        }
    }

    pub(super) fn pool_size(&self) -> Option<u32> {
        self.pool_size
    }
}

/// Connection settings of a [`RedisStore`](super::RedisStore).
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`connect_timeout`](Self::connect_timeout) | 5 s | a connection attempt gives up after this |
/// | [`command_timeout`](Self::command_timeout) | 1 s | a command gives up after this (the cache fails open) |
/// | [`mode`](Self::mode) | multiplexed | one shared connection, or a pool |
/// | [`scan_batch`](Self::scan_batch) | 1000 | keys per `SCAN` step and per `UNLINK` batch in prefix operations |
/// | [`reconnect_retries`](Self::reconnect_retries) | 3 | reconnection attempts per failure before a command reports the error |
/// | [`tls_root_certificate`](Self::tls_root_certificate) | system roots | the CA a `rediss://` server's certificate must chain to |
/// | [`keepalive`](Self::keepalive) | 60 s | TCP keepalive probes after this long idle |
/// | [`health_check`](Self::health_check) | 30 s | `PING` this often in the background |
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisOptions {
    pub(super) connect_timeout: Duration,
    pub(super) command_timeout: Duration,
    pub(super) mode: ConnectionMode,
    pub(super) scan_batch: usize,
    pub(super) reconnect_retries: usize,
    pub(super) tls_root_certificate: Option<Vec<u8>>,
    pub(super) keepalive: Option<Duration>,
    pub(super) health_check: Option<Duration>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(1),
            mode: ConnectionMode::multiplexed(),
            scan_batch: 1000,
            reconnect_retries: 3,
            tls_root_certificate: None,
            keepalive: Some(Duration::from_secs(60)),
            health_check: Some(Duration::from_secs(30)),
        }
    }
}

impl RedisOptions {
    /// How long a connection attempt may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a command may take.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// A shared multiplexed connection or a pool.
    pub fn mode(mut self, mode: ConnectionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Keys per `SCAN` step and per `UNLINK` batch.
    pub fn scan_batch(mut self, keys: usize) -> Self {
        self.scan_batch = keys.max(1);
        self
    }

    /// Trusts the CA certificate `pem` (PEM bytes) for `rediss://` URLs, instead of the
    /// system's roots: for a server with a private CA. Needs the `tls` feature; applies to the
    /// shared connection and to a pool's connections alike.
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_certificate = Some(pem.into());
        self
    }

    /// TCP keepalive probes after `idle` without traffic (default 60 s), so that a peer that
    /// vanished without closing is noticed; `None` turns them
    /// off.
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Sends `PING` every `interval` (default 30 s) while the store lives, so that a dead
    /// connection is found and replaced before a request needs it; `None` turns it off.
    pub fn health_check(mut self, interval: Option<Duration>) -> Self {
        self.health_check = interval;
        self
    }

    /// Reconnection attempts per failure.
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }
}
