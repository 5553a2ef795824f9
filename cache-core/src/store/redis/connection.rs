//! The connections a [`RedisStore`](super::RedisStore) talks through: one shared multiplexed
//! connection, a bb8 pool, or a Redis Cluster connection; how redis-rs errors map to
//! [`Error`]s; and what happens after a failover.
//!
//! A cluster connection is redis-rs's own: it keeps a multiplexed connection to each node,
//! routes each command by its key's slot, follows `MOVED` and `ASK` redirections and refreshes
//! its slot map after a failover, so none of that reaches the store.
//!
//! redis-rs rebuilds a connection after errors it deems unrecoverable (a broken socket), but
//! not after `READONLY` (the server was demoted to a replica), `LOADING` (it restarted and is
//! loading its data) or `MASTERDOWN` (a replica lost its primary): a connection that reached
//! the old primary by name would answer those forever. Here they are connection errors, and
//! they replace the connection: the shared one is rebuilt in the background (a new connection
//! resolves the name again), a pooled one is dropped by the pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

use crate::error::{Error, ErrorKind};

/// How a store reaches Redis.
pub(super) enum Backend {
    Shared(Arc<SharedConnection>),
    Pooled(bb8::Pool<ClientManager>),
    Cluster(ClusterConnection),
}

/// The shared multiplexed connection, replaced after a failover error.
pub(super) struct SharedConnection {
    current: RwLock<ConnectionManager>,
    client: redis::Client,
    config: ConnectionManagerConfig,
    rebuilding: AtomicBool,
}

impl SharedConnection {
    pub(super) async fn connect(
        client: redis::Client,
        config: ConnectionManagerConfig,
    ) -> Result<Self, RedisError> {
        let current = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        Ok(Self {
            current: RwLock::new(current),
            client,
            config,
            rebuilding: AtomicBool::new(false),
        })
    }

    /// The connection to send a command on (a cheap handle on the one connection).
    pub(super) fn get(&self) -> ConnectionManager {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Builds a new connection in the background and swaps it in, once however many commands
    /// saw the failover. Without a Tokio runtime nothing is rebuilt.
    pub(super) fn rebuild(self: &Arc<Self>) {
        if self
            .rebuilding
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.rebuilding.store(false, Ordering::Release);
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            match ConnectionManager::new_with_config(this.client.clone(), this.config.clone()).await
            {
                Ok(fresh) => {
                    *this.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
                    tracing::info!("redis connection rebuilt after a failover error");
                }
                Err(e) => tracing::warn!(error = %e, "rebuilding the redis connection failed"),
            }
            this.rebuilding.store(false, Ordering::Release);
        });
    }
}

/// One pooled connection, and whether a failover error condemned it.
pub(super) struct Pooled {
    conn: MultiplexedConnection,
    broken: bool,
}

/// Makes the pool's connections from the same [`redis::Client`] as the shared connection, so
/// that a pool gets the URL's TLS settings, a custom root certificate and the TCP keepalive
/// alike. (bb8-redis's manager can only be built from a URL, which drops the certificate.)
pub(super) struct ClientManager {
    pub(super) client: redis::Client,
    pub(super) config: redis::AsyncConnectionConfig,
}

impl bb8::ManageConnection for ClientManager {
    type Connection = Pooled;
    type Error = RedisError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        Ok(Pooled {
            conn,
            broken: false,
        })
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        redis::cmd("PING").query_async(&mut conn.conn).await
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.broken
    }
}

/// One connection for one command: the shared one, or one checked out of the pool.
pub(super) enum Conn {
    Shared(ConnectionManager, Arc<SharedConnection>),
    /// Boxed, so that a command's future on the shared connection does not carry the size of
    /// a checked-out connection.
    Pooled(Box<bb8::PooledConnection<'static, ClientManager>>),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Replaces this connection if `e` says its server is no longer a writable primary.
    pub(super) fn replace_after(&mut self, e: &RedisError) {
        if !is_failover(e) {
            return;
        }
        match self {
            Self::Shared(_, shared) => shared.rebuild(),
            Self::Pooled(conn) => conn.broken = true,
            // The cluster client refreshes its slot map and reconnects by itself.
            Self::Cluster(_) => {}
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Shared(c, _) => c.req_packed_command(cmd),
            Conn::Pooled(c) => c.conn.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Shared(c, _) => c.req_packed_commands(cmd, offset, count),
            Conn::Pooled(c) => c.conn.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Shared(c, _) => c.get_db(),
            Conn::Pooled(c) => c.conn.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// A connection of its own, outside the store's shared one: to one server, or to a cluster.
pub(crate) enum OwnConnection {
    Node(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for OwnConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether `e` says the server is no longer a writable primary (after a failover, or while it
/// loads its data after a restart).
fn is_failover(e: &RedisError) -> bool {
    matches!(e.code(), Some("READONLY" | "LOADING" | "MASTERDOWN"))
}

/// Maps a redis-rs error to an [`Error`] of the right kind.
pub(crate) fn store_error(e: RedisError) -> Error {
    let text = e.to_string();
    let kind = if e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
        || text.contains("WRONGPASS")
        || text.contains("NOAUTH")
    {
        ErrorKind::Auth
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || is_failover(&e)
    {
        ErrorKind::Connection
    } else if e.kind() == redis::ErrorKind::InvalidClientConfig {
        ErrorKind::Config
    } else {
        ErrorKind::Protocol
    };
    Error::new(kind, format!("redis: {text}")).with_source(e)
}

/// The code of the Redis error reply behind `e` (`NOGROUP`, `BUSYGROUP`, …), when `e` is one.
pub(crate) fn reply_code(e: &Error) -> Option<&str> {
    std::error::Error::source(e)?
        .downcast_ref::<RedisError>()?
        .code()
}

pub(super) fn timeout_error(what: &str, after: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("redis: {what} took longer than {after:?}"),
    )
}
