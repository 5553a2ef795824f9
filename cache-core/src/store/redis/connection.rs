//! The connections a [`RedisStore`](super::RedisStore) talks through: one shared multiplexed
//! connection, a bb8 pool, or a Redis Cluster connection; how redis-rs errors map to
//! [`Error`]s; and what happens after a failover.
//!
//! A cluster connection is redis-rs's own: it keeps a multiplexed connection to each node,
//! routes each command by its key's slot, and follows `MOVED` and `ASK` redirections, reading
//! the slot map again after them.
//!
//! redis-rs rebuilds a connection after errors it deems unrecoverable (a broken socket), but
//! not after `READONLY` (the server was demoted to a replica), `LOADING` (it restarted and is
//! loading its data) or `MASTERDOWN` (a replica lost its primary): a connection that reached
//! the old primary by name would answer those forever. Here they are connection errors, and
//! they replace the connection: the shared one is rebuilt in the background (a new connection
//! resolves the name again), a pooled one is dropped by the pool. A cluster connection is
//! rebuilt likewise after errors that say the topology changed (see `is_topology_change`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

use crate::error::{Error, ErrorKind};

/// How a store reaches Redis.
pub(super) enum Backend {
    Shared(Arc<Replaceable<ConnectionManager>>),
    Pooled(bb8::Pool<ClientManager>),
    Cluster(Arc<Replaceable<ClusterConnection>>),
}

/// A future making a new connection.
type Connecting<C> = Pin<Box<dyn Future<Output = Result<C, RedisError>> + Send>>;

/// A shared connection (to one server, or to a cluster) that can be replaced by a new one
/// made the way the first was: after a failover error on one server, or on a cluster after
/// errors that say its topology changed.
pub(super) struct Replaceable<C> {
    current: RwLock<C>,
    connect: Box<dyn Fn() -> Connecting<C> + Send + Sync>,
    rebuilding: AtomicBool,
}

impl<C: Clone + Send + Sync + 'static> Replaceable<C> {
    /// Makes the first connection with `connect`, which makes every later one too.
    pub(super) async fn connect(
        connect: impl Fn() -> Connecting<C> + Send + Sync + 'static,
    ) -> Result<Self, RedisError> {
        let current = connect().await?;
        Ok(Self {
            current: RwLock::new(current),
            connect: Box::new(connect),
            rebuilding: AtomicBool::new(false),
        })
    }

    /// The connection to send a command on (a cheap handle on the one connection).
    pub(super) fn get(&self) -> C {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Builds a new connection in the background and swaps it in, once however many commands
    /// saw the need; the next rebuild may start `pause` after this one ends. Without a Tokio
    /// runtime nothing is rebuilt.
    pub(super) fn rebuild(self: &Arc<Self>, pause: Duration) {
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
            match (this.connect)().await {
                Ok(fresh) => {
                    *this.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
                    tracing::info!("redis connection rebuilt");
                }
                Err(e) => tracing::warn!(error = %e, "rebuilding the redis connection failed"),
            }
            tokio::time::sleep(pause).await;
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
    Shared(ConnectionManager, Arc<Replaceable<ConnectionManager>>),
    /// Boxed, so that a command's future on the shared connection does not carry the size of
    /// a checked-out connection.
    Pooled(Box<bb8::PooledConnection<'static, ClientManager>>),
    /// Boxed too, so that a command's future on one server does not carry the cluster
    /// handle's size.
    Cluster(Box<ClusterConnection>, Arc<Replaceable<ClusterConnection>>),
}

/// How long a cluster connection is kept at least between two rebuilds: errors keep coming
/// while a failover is under way, and each rebuild reads the topology from the seeds.
pub(super) const CLUSTER_REBUILD_PAUSE: Duration = Duration::from_millis(500);

impl Conn {
    /// Replaces this connection if `e` says its server is no longer a writable primary, or,
    /// on a cluster, that the cluster's topology may have changed under it.
    pub(super) fn replace_after(&mut self, e: &RedisError) {
        match self {
            Self::Shared(_, shared) if is_failover(e) => shared.rebuild(Duration::ZERO),
            Self::Pooled(conn) if is_failover(e) => conn.broken = true,
            Self::Cluster(_, shared) if is_topology_change(e) => {
                shared.rebuild(CLUSTER_REBUILD_PAUSE)
            }
            _ => {}
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Shared(c, _) => c.req_packed_command(cmd),
            Conn::Pooled(c) => c.conn.req_packed_command(cmd),
            Conn::Cluster(c, _) => c.req_packed_command(cmd),
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
            Conn::Cluster(c, _) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Shared(c, _) => c.get_db(),
            Conn::Pooled(c) => c.conn.get_db(),
            Conn::Cluster(c, _) => c.get_db(),
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

/// Whether `e`, on a cluster connection, may come from a topology the connection has not
/// caught up with: a node that times out, refuses or drops connections (a dead master whose
/// replica has taken over), or a cluster that reports itself down or in a failover. redis-rs
/// reads the slots again after `MOVED`, but after these it may keep trying the dead node
/// (seen here for over 45 s after a replica took over), so the store makes a new connection,
/// which reads the topology from the seed nodes.
fn is_topology_change(e: &RedisError) -> bool {
    e.is_timeout()
        || e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || matches!(
            e.code(),
            Some("CLUSTERDOWN" | "MASTERDOWN" | "TRYAGAIN" | "LOADING")
        )
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
