//! [`RedisStore`]: Redis as the far tier (feature `redis`).
//!
//! Built from a URL — `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS with the
//! `tls` feature — plus [`RedisOptions`]. [`RedisStore::connect`] pings
//! the server before it returns, so a bad URL, a wrong password or an unreachable host is a
//! clear error at start-up, not a failure on the first request.
//!
//! Commands: `GET`, `MGET`, `SET … PX`, pipelined `SET`s, `UNLINK`, `SCAN MATCH` with batched
//! `UNLINK` (never `KEYS`), Lua for counters and lease release, `SET NX PX` for leases.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), cache_core::Error> {
//! use std::time::Duration;
//! use cache_core::store::redis::{RedisOptions, RedisStore};
//!
//! let store = RedisStore::connect_with(
//!     "redis://:secret@127.0.0.1:6380/0",
//!     RedisOptions::default().command_timeout(Duration::from_millis(250)),
//! )
//! .await?;
//! # let _ = store;
//! # Ok(()) }
//! ```

mod options;
mod scripts;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use options::{ConnectionMode, RedisOptions};
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::{Coordination, ScanPage, Store, StoreEntry, StoreFuture, WindowCount};
use crate::error::{Error, ErrorKind};
use crate::key::KeyPrefix;

/// Redis as a [`Store`]. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    backend: Backend,
    options: RedisOptions,
    increment: redis::Script,
    count_in_window: redis::Script,
    throttle: redis::Script,
    unlock: redis::Script,
    set_tagged: redis::Script,
    set_hash_tagged: redis::Script,
    prune_tag: redis::Script,
    /// The URL with the password hidden, for messages.
    display_url: String,
}

#[derive(Clone)]
enum Backend {
    Shared(ConnectionManager),
    Pooled(bb8::Pool<ClientManager>),
}

/// One connection for one command: the shared one, or one checked out of the pool.
enum Conn {
    Shared(ConnectionManager),
    /// Boxed, so that a command's future on the shared connection does not carry the size of
    /// a checked-out connection.
    Pooled(Box<bb8::PooledConnection<'static, ClientManager>>),
}

/// Makes the pool's connections from the same [`redis::Client`] as the shared connection, so
/// that a pool gets the URL's TLS settings, a custom root certificate and the TCP keepalive
/// alike. (bb8-redis's manager can only be built from a URL, which drops the certificate.)
struct ClientManager {
    client: redis::Client,
    config: redis::AsyncConnectionConfig,
}

impl bb8::ManageConnection for ClientManager {
    type Connection = MultiplexedConnection;
    type Error = RedisError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        redis::cmd("PING").query_async(conn).await
    }

    fn has_broken(&self, _: &mut Self::Connection) -> bool {
        false
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Shared(c) => c.req_packed_command(cmd),
            Conn::Pooled(c) => {
                <MultiplexedConnection as ConnectionLike>::req_packed_command(c, cmd)
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Shared(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Pooled(c) => <MultiplexedConnection as ConnectionLike>::req_packed_commands(
                c, cmd, offset, count,
            ),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Shared(c) => c.get_db(),
            Conn::Pooled(c) => <MultiplexedConnection as ConnectionLike>::get_db(c),
        }
    }
}

/// Maps a redis-rs error to an [`Error`] of the right kind.
fn store_error(e: RedisError) -> Error {
    let text = e.to_string();
    let kind = if e.kind() == redis::ErrorKind::AuthenticationFailed
        || text.contains("WRONGPASS")
        || text.contains("NOAUTH")
    {
        ErrorKind::Auth
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        ErrorKind::Connection
    } else if e.kind() == redis::ErrorKind::InvalidClientConfig {
        ErrorKind::Config
    } else {
        ErrorKind::Protocol
    };
    Error::new(kind, format!("redis: {text}")).with_source(e)
}

fn timeout_error(what: &str, after: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("redis: {what} took longer than {after:?}"),
    )
}

/// Hides the password of a URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl RedisStore {
    /// Connects with default [`RedisOptions`] and checks the connection with `PING`.
    ///
    /// # Errors
    ///
    /// [`Error`] of kind [`Config`](ErrorKind::Config) for a malformed URL,
    /// [`Auth`](ErrorKind::Auth) for refused credentials, [`Connection`](ErrorKind::Connection)
    /// or [`Timeout`](ErrorKind::Timeout) for an unreachable server.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects with `options` and checks the connection with `PING`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, Error> {
        let display_url = redact(url);
        let client = Self::client(url, &options).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("invalid Redis URL {display_url}: {e}"),
            )
            .with_source(e)
        })?;
        let connect = async {
            match options.mode.pool_size() {
                None => {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(options.connect_timeout))
                        // Every call runs under our own command timer (`bounded`); a second
                        // timer per request inside redis-rs would only cost time.
                        .set_response_timeout(None)
                        .set_number_of_retries(options.reconnect_retries)
                        .set_max_delay(Duration::from_secs(1));
                    ConnectionManager::new_with_config(client, config)
                        .await
                        .map(Backend::Shared)
                        .map_err(store_error)
                }
                Some(size) => {
                    let manager = ClientManager {
                        client,
                        config: redis::AsyncConnectionConfig::new()
                            .set_connection_timeout(Some(options.connect_timeout))
                            .set_response_timeout(None),
                    };
                    let pool = bb8::Pool::builder()
                        .max_size(size.max(1))
                        .connection_timeout(options.connect_timeout)
                        .build_unchecked(manager);
                    Ok(Backend::Pooled(pool))
                }
            }
        };
        let backend = tokio::time::timeout(options.connect_timeout, connect)
            .await
            .map_err(|_| {
                timeout_error(
                    &format!("connecting to {display_url}"),
                    options.connect_timeout,
                )
            })??;
        let store = Self {
            inner: Arc::new(StoreInner {
                backend,
                options,
                increment: redis::Script::new(scripts::INCREMENT),
                count_in_window: redis::Script::new(scripts::COUNT_IN_WINDOW),
                throttle: redis::Script::new(scripts::THROTTLE),
                unlock: redis::Script::new(scripts::UNLOCK),
                set_tagged: redis::Script::new(scripts::SET_TAGGED),
                set_hash_tagged: redis::Script::new(scripts::SET_HASH_TAGGED),
                prune_tag: redis::Script::new(scripts::PRUNE_TAG),
                display_url,
            }),
        };
        store.spawn_health_check();
        store.ping().await.map_err(|e| {
            let display_url = store.inner.display_url.clone();
            e.context(format_args!("cannot use Redis at {display_url}"))
        })?;
        Ok(store)
    }

    /// Pings every `health_check` interval while any clone of the store lives.
    fn spawn_health_check(&self) {
        let (Some(interval), Ok(runtime)) = (
            self.inner.options.health_check,
            tokio::runtime::Handle::try_current(),
        ) else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = (RedisStore { inner }).ping().await {
                    tracing::debug!(error = %e, "redis health check failed; the connection will be re-established");
                }
            }
        });
    }

    /// The connection settings of `url` with `options`' TCP settings.
    fn connection_info(
        url: &str,
        options: &RedisOptions,
    ) -> Result<redis::ConnectionInfo, RedisError> {
        use redis::IntoConnectionInfo;
        let mut tcp = redis::io::tcp::TcpSettings::default();
        if let Some(idle) = options.keepalive {
            tcp = tcp.set_keepalive(redis::io::tcp::socket2::TcpKeepalive::new().with_time(idle));
        }
        Ok(url.into_connection_info()?.set_tcp_settings(tcp))
    }

    /// A redis-rs client for `url`, trusting `options`' root certificate when there is one.
    fn client(url: &str, options: &RedisOptions) -> Result<redis::Client, RedisError> {
        let url = Self::connection_info(url, options)?;
        match &options.tls_root_certificate {
            None => redis::Client::open(url),
            #[cfg(feature = "tls")]
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            #[cfg(not(feature = "tls"))]
            Some(_) => Err(RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "a TLS root certificate needs cache-core's `tls` feature",
            ))),
        }
    }

    /// Sends `PING`; a health check.
    ///
    /// # Errors
    ///
    /// The failure, as for any command.
    pub async fn ping(&self) -> Result<(), Error> {
        let reply: String = self.query(&redis::cmd("PING")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Protocol,
                format!("redis: PING answered {reply:?}"),
            ))
        }
    }

    /// The options this store was built with.
    pub fn options(&self) -> &RedisOptions {
        &self.inner.options
    }

    async fn conn(&self) -> Result<Conn, Error> {
        match &self.inner.backend {
            Backend::Shared(c) => Ok(Conn::Shared(c.clone())),
            // Boxed: a checkout's future is large, and inline it would be moved with every
            // command's future on the shared path too.
            Backend::Pooled(pool) => Box::pin(pool.get_owned())
                .await
                .map(|conn| Conn::Pooled(Box::new(conn)))
                .map_err(|e| match e {
                    bb8::RunError::User(e) => store_error(e),
                    bb8::RunError::TimedOut => timeout_error(
                        "checking out a pooled connection",
                        self.inner.options.connect_timeout,
                    ),
                }),
        }
    }

    /// Runs `run` under the command timeout, whichever the connection. The shared connection's
    /// own response timeout does not cover the wait for a reconnect to a dead server (seen at
    /// over a second per call with a 300 ms timeout), so every call gets this timer.
    async fn bounded<T>(
        &self,
        what: &str,
        run: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::time::timeout(self.inner.options.command_timeout, run)
            .await
            .map_err(|_| timeout_error(what, self.inner.options.command_timeout))?
    }

    /// Runs one command.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Error> {
        self.bounded("a command", async {
            let mut conn = self.conn().await?;
            cmd.query_async::<T>(&mut conn).await.map_err(store_error)
        })
        .await
    }

    async fn query_pipe<T: redis::FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, Error> {
        self.bounded("a pipeline", async {
            let mut conn = self.conn().await?;
            pipe.query_async::<T>(&mut conn).await.map_err(store_error)
        })
        .await
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        self.bounded("a script", async {
            let mut conn = self.conn().await?;
            invocation
                .invoke_async::<T>(&mut conn)
                .await
                .map_err(store_error)
        })
        .await
    }

    /// Walks the keys in `prefix` (exclusions left out) with `SCAN`, in batches: unlinks each
    /// batch and returns how many were removed, or collects the keys.
    async fn scan_prefix(
        &self,
        prefix: &KeyPrefix,
        unlink: bool,
    ) -> Result<(u64, Vec<String>), Error> {
        let batch_size = self.inner.options.scan_batch;
        let mut found = Vec::new();
        let mut removed = 0u64;
        let mut batch: Vec<String> = Vec::with_capacity(batch_size);
        if let Some(exact) = prefix.exact().filter(|exact| prefix.matches(exact)) {
            batch.push(exact.to_owned());
        }
        let pattern = prefix.scan_pattern();
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(batch_size);
            let (next, keys): (u64, Vec<String>) = self.query(&cmd).await?;
            batch.extend(keys.into_iter().filter(|k| prefix.matches(k)));
            cursor = next;
            let last = cursor == 0;
            if batch.len() >= batch_size || (last && !batch.is_empty()) {
                if unlink {
                    let n: u64 = self.query(redis::cmd("UNLINK").arg(&batch)).await?;
                    removed += n;
                    batch.clear();
                } else {
                    found.append(&mut batch);
                }
            }
            if last {
                return Ok((removed, found));
            }
        }
    }
}

/// The key of a tag's index. The tag text is escaped like a key segment, so a tag cannot name
/// another tag's index or a user key.
fn tag_index(tag: &str) -> String {
    format!("cache-core:tag:{}", crate::key::escape_segment(tag))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Store for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { self.query(redis::cmd("GET").arg(key)).await })
    }

    fn scan<'a>(
        &'a self,
        prefix: &'a KeyPrefix,
        cursor: u64,
        count: usize,
    ) -> StoreFuture<'a, ScanPage> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", crate::key::glob_escape(prefix.as_str())))
                .arg("COUNT")
                .arg(count);
            let (next, keys): (u64, Vec<String>) = self.query(&cmd).await?;
            Ok(ScanPage::new(keys, next))
        })
    }

    fn coordination(&self) -> Option<&dyn Coordination> {
        Some(self)
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.query(redis::cmd("MGET").arg(keys)).await
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(millis(ttl));
            }
            self.query(&cmd).await
        })
    }

    fn set_many<'a>(&'a self, entries: &'a [StoreEntry]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for entry in entries {
                let cmd = pipe.cmd("SET").arg(&entry.key).arg(&entry.value);
                if let Some(ttl) = entry.ttl {
                    cmd.arg("PX").arg(millis(ttl));
                }
                cmd.ignore();
            }
            self.query_pipe(&pipe).await
        })
    }

    fn set_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = self.inner.set_tagged.key(key);
            for tag in tags {
                invocation.key(tag_index(tag));
            }
            invocation.arg(value).arg(ttl.map_or(0, millis));
            let _: i64 = self.invoke(invocation).await?;
            Ok(())
        })
    }

    fn set_hash<'a>(
        &'a self,
        key: &'a str,
        fields: &'a [(String, String)],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if !tags.is_empty() {
                let mut invocation = self.inner.set_hash_tagged.key(key);
                for tag in tags {
                    invocation.key(tag_index(tag));
                }
                invocation.arg(ttl.map_or(0, millis));
                for (field, value) in fields {
                    invocation.arg(field).arg(value);
                }
                let _: i64 = self.invoke(invocation).await?;
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic().cmd("DEL").arg(key).ignore();
            if !fields.is_empty() {
                pipe.cmd("HSET").arg(key).arg(fields).ignore();
                if let Some(ttl) = ttl {
                    pipe.cmd("PEXPIRE").arg(key).arg(millis(ttl)).ignore();
                }
            }
            self.query_pipe(&pipe).await
        })
    }

    fn get_hash<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(async move {
            let fields: Vec<(String, String)> = self.query(redis::cmd("HGETALL").arg(key)).await?;
            Ok((!fields.is_empty()).then_some(fields))
        })
    }

    fn invalidate_tag<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            // Page by page, so that no command holds the server for a large tag; each page is
            // removed from the index once its keys are gone. Members written during the walk
            // may stay, as they would had they come just after it: the walk covers what the
            // index held when it started, then stops.
            let index = tag_index(tag);
            let page = self.inner.options.scan_batch;
            let held: u64 = self.invoke(self.inner.prune_tag.key(&index)).await?;
            let mut removed = 0;
            for _ in 0..held.div_ceil(page as u64).max(1) {
                let members: Vec<String> = self
                    .query(redis::cmd("ZRANGE").arg(&index).arg(0).arg(page - 1))
                    .await?;
                if members.is_empty() {
                    break;
                }
                let gone: u64 = self.query(redis::cmd("UNLINK").arg(&members)).await?;
                removed += gone;
                let _: u64 = self
                    .query(redis::cmd("ZREM").arg(&index).arg(&members))
                    .await?;
            }
            Ok(removed)
        })
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(0);
            }
            self.query(redis::cmd("UNLINK").arg(keys)).await
        })
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, u64> {
        Box::pin(async move { Ok(self.scan_prefix(prefix, true).await?.0) })
    }

    fn keys<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move { Ok(self.scan_prefix(prefix, false).await?.1) })
    }

    fn bounds_calls(&self) -> bool {
        true
    }
}

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

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.inner.backend {
            Backend::Shared(_) => "multiplexed",
            Backend::Pooled(_) => "pooled",
        };
        f.debug_struct("RedisStore")
            .field("url", &self.inner.display_url)
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(redact("rediss://user:pw@host"), "rediss://user:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
    }
}
