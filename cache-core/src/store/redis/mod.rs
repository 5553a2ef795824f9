//! [`RedisStore`]: Redis as the far tier (feature `redis`).
//!
//! Built from a URL — `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS with the
//! `tls` feature — plus [`RedisOptions`]. [`RedisStore::connect`] pings
//! the server before it returns, so a bad URL, a wrong password or an unreachable host is a
//! clear error at start-up, not a failure on the first request.
//!
//! A Redis Cluster is named by a `redis+cluster://` URL (`rediss+cluster://` for TLS) listing
//! some of its nodes, `redis+cluster://:password@10.0.0.1:7000,10.0.0.2:7000`, or by
//! [`RedisStore::connect_cluster`] with one URL per node. The store then keeps a connection to
//! every node, sends each command to the node serving its key, follows `MOVED`/`ASK` and
//! failovers, splits batches by hash slot and walks prefixes on every master; everything the
//! store offers works on both. See [the layout on a cluster](#on-a-cluster) below.
//!
//! Commands: `GET`, `MGET`, `SET … PX`, pipelined `SET`s, `UNLINK`, `SCAN MATCH` with batched
//! `UNLINK` (never `KEYS`), Lua for counters and lease release, `SET NX PX` for leases.
//!
//! # On a cluster
//!
//! Keys are spread over the cluster by their hash slot, as Redis does for any client. What
//! changes with the topology:
//!
//! - Batches (`insert_many`, [`Cache::pipeline`](crate::Cache::pipeline), structure batches)
//!   are sent as one pipeline per slot, 32 at a time; each operation stays atomic on its own,
//!   as on one server. `get_many` is one `MGET` per slot, answered in the caller's order.
//! - A tagged entry and its tag indexes (`cache-core:tag:<tag>`) usually live in different
//!   slots, so the entry is written first and then recorded in each index (one small script
//!   per index). A tag invalidation racing with the write thus either removes the entry or
//!   runs before it is recorded, as if it had come first; if recording fails, the entry is
//!   removed again so that no entry escapes its tags. On one server both happen in one script.
//! - Prefix deletes, key listings and namespace invalidations `SCAN` every master in turn.
//! - A stream's dead-letter stream is `<stream>:dead`. A message is moved there and
//!   acknowledged in one transaction when both names share a slot (name the stream with a
//!   hash tag, `{orders}`, to get that); otherwise it is copied first and acknowledged after,
//!   so a crash in between leaves a duplicate in the dead letter and loses nothing.
//! - [`RedisStore::pipeline`] sends its pipeline to one node: its commands' keys must share a
//!   slot (or hash tag), or the cluster refuses them with `CROSSSLOT`.
//! - Invalidation announcements ([`coherent`](crate::CacheBuilder::coherent) caches) use
//!   `PUBLISH`, which a cluster forwards to every node; each cache listens through one of the
//!   seed nodes, and tries the next seed when that one is gone.
//! - [`ConnectionMode::pooled`] is for one server: a cluster connection already multiplexes
//!   one connection per node.
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
//! // The same options, on a Redis Cluster known by two of its nodes.
//! let cluster = RedisStore::connect_with(
//!     "redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7000",
//!     RedisOptions::default().command_timeout(Duration::from_millis(250)),
//! )
//! .await?;
//! # let _ = (store, cluster);
//! # Ok(()) }
//! ```

mod cluster;
mod connection;
mod coordination;
mod invalidations;
mod options;
mod scripts;
mod store;
mod structures;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "test-util")]
pub(crate) use cluster::seed_urls as cluster_seed_urls;
use connection::{Backend, ClientManager, Conn, Replaceable, timeout_error};
pub(crate) use connection::{OwnConnection, reply_code, store_error};
use futures_util::StreamExt;
#[cfg(feature = "test-util")]
pub(crate) use invalidations::CHANNEL as INVALIDATION_CHANNEL;
pub use options::{ConnectionMode, RedisOptions};
use redis::aio::ConnectionManagerConfig;
use redis::{Cmd, Pipeline, RedisError};

use crate::error::{Error, ErrorKind};
use crate::key::KeyPrefix;

/// Redis as a [`Store`](crate::store::Store). Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    pub(super) inner: Arc<StoreInner>,
}

pub(super) struct StoreInner {
    backend: Backend,
    /// For connections of their own (a stream consumer's blocking reads, the subscription).
    clients: Clients,
    pub(super) options: RedisOptions,
    pub(super) increment: redis::Script,
    pub(super) count_in_window: redis::Script,
    pub(super) throttle: redis::Script,
    pub(super) unlock: redis::Script,
    pub(super) set_tagged: redis::Script,
    pub(super) set_hash_tagged: redis::Script,
    pub(super) index_key: redis::Script,
    pub(super) prune_tag: redis::Script,
    /// The URL with the password hidden, for messages.
    display_url: String,
}

/// Where a store's connections of its own come from.
struct Clients {
    /// A client for each node named at connect time: the server, or a cluster's seeds (a
    /// subscription listens through one of them).
    nodes: Vec<redis::Client>,
    /// On a cluster, the cluster's client.
    cluster: Option<redis::cluster::ClusterClient>,
}

/// The result of a command on `conn`, the connection replaced first when the error says its
/// server is no longer a writable primary.
fn settle<T>(conn: &mut Conn, result: Result<T, RedisError>) -> Result<T, Error> {
    result.map_err(|e| {
        conn.replace_after(&e);
        store_error(e)
    })
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
        if let Some(seeds) = cluster::seed_urls(url) {
            let seeds = seeds.map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("invalid Redis Cluster URL {display_url}: {e}"),
                )
            })?;
            return Self::connect_to_cluster(&seeds, options, display_url).await;
        }
        let client = Self::client(url, &options).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("invalid Redis URL {display_url}: {e}"),
            )
            .with_source(e)
        })?;
        let own_client = client.clone();
        // One plain connection first: a refused port, a wrong password or a TLS mismatch fails
        // here with its own error, where the reconnecting shared connection would retry until
        // the connect timeout and report only that.
        plain_connection(&own_client, &options, Duration::ZERO)
            .await
            .map_err(|e| e.context(format_args!("cannot use Redis at {display_url}")))?;
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
                    Replaceable::connect(move || {
                        let (client, config) = (client.clone(), config.clone());
                        Box::pin(async move {
                            redis::aio::ConnectionManager::new_with_config(client, config).await
                        })
                    })
                    .await
                    .map(|shared| Backend::Shared(Arc::new(shared)))
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
        let backend =
            within_connect_timeout(&options, &format!("connecting to {display_url}"), connect)
                .await?;
        let clients = Clients {
            nodes: vec![own_client],
            cluster: None,
        };
        Self::start(backend, clients, options, display_url).await
    }

    /// Connects to the Redis Cluster that `seeds` (a `redis://` or `rediss://` URL each, with
    /// the same credentials) belong to, with `options`, and checks every master with `PING`.
    /// The other nodes are found from the seeds; naming more than one lets the store start
    /// while one of them is down. `connect_with` does the same for a `redis+cluster://` URL.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); [`Config`](ErrorKind::Config) also for no seed, seeds
    /// with different credentials, or [`ConnectionMode::pooled`] options.
    pub async fn connect_cluster<S: AsRef<str>>(
        seeds: impl IntoIterator<Item = S>,
        options: RedisOptions,
    ) -> Result<Self, Error> {
        let seeds: Vec<String> = seeds.into_iter().map(|s| s.as_ref().to_owned()).collect();
        let display_url = seeds
            .iter()
            .map(|s| redact(s))
            .collect::<Vec<_>>()
            .join(",");
        Self::connect_to_cluster(&seeds, options, display_url).await
    }

    async fn connect_to_cluster(
        seeds: &[String],
        options: RedisOptions,
        display_url: String,
    ) -> Result<Self, Error> {
        let config_error = |e: RedisError| {
            Error::new(
                ErrorKind::Config,
                format!("invalid Redis Cluster seeds {display_url}: {e}"),
            )
            .with_source(e)
        };
        if options.mode.pool_size().is_some() {
            return Err(Error::config(
                "a Redis Cluster is reached through one multiplexed connection per node; \
                 ConnectionMode::pooled is for a single server",
            ));
        }
        if seeds.is_empty() {
            return Err(Error::config(
                "a Redis Cluster needs at least one seed node",
            ));
        }
        let seed_clients = seeds
            .iter()
            .map(|seed| Self::client(seed, &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(config_error)?;
        // A plain connection to one seed first, for the same clear errors as one server gives
        // (a wrong password, a refused port); the first seed that answers will do.
        let mut probe = Ok(());
        for client in &seed_clients {
            probe = plain_connection(client, &options, Duration::ZERO)
                .await
                .map(drop);
            if probe.is_ok() {
                break;
            }
        }
        probe.map_err(|e| e.context(format_args!("cannot use Redis Cluster at {display_url}")))?;
        let nodes = seeds
            .iter()
            .map(|seed| Self::connection_info(seed, &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(config_error)?;
        let tls = nodes
            .first()
            .is_some_and(|node| matches!(node.addr(), redis::ConnectionAddr::TcpTls { .. }));
        let builder = redis::cluster::ClusterClientBuilder::new(nodes)
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.command_timeout)
            .retries(u32::try_from(options.reconnect_retries).unwrap_or(u32::MAX))
            .tcp_settings(Self::tcp_settings(&options));
        // The root certificate applies to TLS seeds only, as `client` applies it to one server.
        let root_certificate = options.tls_root_certificate.as_ref().filter(|_| tls);
        #[cfg(feature = "tls")]
        let builder = match root_certificate {
            Some(pem) => builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            }),
            None => builder,
        };
        #[cfg(not(feature = "tls"))]
        if root_certificate.is_some() {
            return Err(Error::config(
                "a TLS root certificate needs cache-core's `tls` feature",
            ));
        }
        let cluster = builder.build().map_err(config_error)?;
        let own_cluster = cluster.clone();
        let connect = async {
            Replaceable::connect(move || {
                let cluster = cluster.clone();
                Box::pin(async move { cluster.get_async_connection().await })
            })
            .await
            .map(|shared| Backend::Cluster(Arc::new(shared)))
            .map_err(store_error)
        };
        let backend =
            within_connect_timeout(&options, &format!("connecting to {display_url}"), connect)
                .await?;
        let clients = Clients {
            nodes: seed_clients,
            cluster: Some(own_cluster),
        };
        Self::start(backend, clients, options, display_url).await
    }

    /// The store over `backend`, its health check started and its connection checked.
    async fn start(
        backend: Backend,
        clients: Clients,
        options: RedisOptions,
        display_url: String,
    ) -> Result<Self, Error> {
        let store = Self {
            inner: Arc::new(StoreInner {
                backend,
                clients,
                options,
                increment: redis::Script::new(scripts::INCREMENT),
                count_in_window: redis::Script::new(scripts::COUNT_IN_WINDOW),
                throttle: redis::Script::new(scripts::THROTTLE),
                unlock: redis::Script::new(scripts::UNLOCK),
                set_tagged: redis::Script::new(scripts::SET_TAGGED),
                set_hash_tagged: redis::Script::new(scripts::SET_HASH_TAGGED),
                index_key: redis::Script::new(scripts::INDEX_KEY),
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
        Ok(url
            .into_connection_info()?
            .set_tcp_settings(Self::tcp_settings(options)))
    }

    /// `options`' TCP settings: keepalive probes after the idle time it sets.
    fn tcp_settings(options: &RedisOptions) -> redis::io::tcp::TcpSettings {
        let tcp = redis::io::tcp::TcpSettings::default();
        match options.keepalive {
            Some(idle) => {
                tcp.set_keepalive(redis::io::tcp::socket2::TcpKeepalive::new().with_time(idle))
            }
            None => tcp,
        }
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
            Backend::Shared(shared) => Ok(Conn::Shared(shared.get(), shared.clone())),
            Backend::Cluster(cluster) => {
                Ok(Conn::Cluster(Box::new(cluster.get()), cluster.clone()))
            }
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
        let done = tokio::time::timeout(self.inner.options.command_timeout, run).await;
        if done.is_err()
            && let Backend::Cluster(cluster) = &self.inner.backend
        {
            // A cluster connection that keeps trying a dead node times out; see
            // `is_topology_change`.
            cluster.rebuild(connection::CLUSTER_REBUILD_PAUSE);
        }
        done.map_err(|_| timeout_error(what, self.inner.options.command_timeout))?
    }

    /// Runs `cmd`, any redis-rs command, on the store's connection (the shared one, or one
    /// from its pool), under its command timeout, with its error mapping and failover handling:
    /// the escape hatch for what the cache does not wrap, so that no second client is needed.
    ///
    /// # Errors
    ///
    /// As any command of the store: [`Connection`](ErrorKind::Connection),
    /// [`Timeout`](ErrorKind::Timeout), [`Protocol`](ErrorKind::Protocol) for an error reply
    /// or a reply that does not convert to `T`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(redis: cache_core::store::redis::RedisStore) -> Result<(), cache_core::Error> {
    /// let memory: String = redis.command(redis::cmd("INFO").arg("memory")).await?;
    /// # let _ = memory;
    /// # Ok(()) }
    /// ```
    pub async fn command<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Error> {
        self.query(cmd).await
    }

    /// Runs `pipeline` (several different commands in one round trip; atomic when built with
    /// `.atomic()`) as [`command`](Self::command) runs one.
    ///
    /// # Errors
    ///
    /// As [`command`](Self::command).
    pub async fn pipeline<T: redis::FromRedisValue>(
        &self,
        pipeline: &Pipeline,
    ) -> Result<T, Error> {
        self.query_pipe(pipeline).await
    }

    /// A connection of its own, for commands that block it (`XREADGROUP … BLOCK`), which
    /// would hold up every other command on the shared one. Replies may take `extra` beyond
    /// the command timeout.
    pub(crate) async fn dedicated_connection(
        &self,
        extra: Duration,
    ) -> Result<OwnConnection, Error> {
        let options = &self.inner.options;
        match (
            &self.inner.clients.cluster,
            self.inner.clients.nodes.first(),
        ) {
            (None, Some(client)) => plain_connection(client, options, extra)
                .await
                .map(OwnConnection::Node),
            (None, None) => Err(Error::config("the store names no Redis node")),
            (Some(cluster), _) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(options.connect_timeout)
                    .set_response_timeout(options.command_timeout + extra);
                within_connect_timeout(options, "connecting", async {
                    cluster
                        .get_async_connection_with_config(config)
                        .await
                        .map(OwnConnection::Cluster)
                        .map_err(store_error)
                })
                .await
            }
        }
    }

    /// The clients a subscription may listen through, in the order to try them: the server,
    /// or each seed node of a cluster (a cluster forwards every `PUBLISH` to every node).
    pub(super) fn subscription_clients(&self) -> &[redis::Client] {
        &self.inner.clients.nodes
    }

    /// Whether the store talks to a Redis Cluster.
    fn is_cluster(&self) -> bool {
        matches!(self.inner.backend, Backend::Cluster(_))
    }

    /// Whether one transaction or script may touch all of `keys`: always on one server, on a
    /// cluster when they share a hash slot.
    pub(crate) fn in_one_slot<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> bool {
        !self.is_cluster() || cluster::same_slot(keys.into_iter().map(str::as_bytes))
    }

    /// Sends the pipelines `build` makes for groups of the positions of `keys`: one group of
    /// all of them on one server; on a cluster, one group per hash slot, each run to its end,
    /// so that one dead master does not cancel the others' writes.
    /// Returns each group's positions, in their order, with its pipeline's replies; or the
    /// first error, once every group has been sent. `build` is called once per group, before any
    /// pipeline is sent.
    ///
    /// A slot, not a master: redis-rs sends a pipeline that meets `MOVED` again, whole, to the
    /// node the reply names, so a pipeline over several slots of one master would run its
    /// other commands twice (a counter would count twice) when one of its slots moved. The
    /// pipelines of one master still share its connection, which writes them out together.
    /// At most [`cluster::PIPELINES_IN_FLIGHT`] are under way at once.
    pub(super) async fn pipelined(
        &self,
        keys: &[&str],
        mut build: impl FnMut(&[usize]) -> Pipeline,
    ) -> Result<Vec<(Vec<usize>, Vec<redis::Value>)>, Error> {
        if !self.is_cluster() {
            let all: Vec<usize> = (0..keys.len()).collect();
            let values = self.query_pipe(&build(&all)).await?;
            return Ok(vec![(all, values)]);
        }
        // Built before any is sent, once per group, so that `build` may move what it sends.
        let pipelines: Vec<(Vec<usize>, Pipeline)> =
            cluster::grouped(0..keys.len(), |i| cluster::slot_of(keys[i].as_bytes()))
                .into_iter()
                .map(|(_, group)| {
                    let pipe = build(&group);
                    (group, pipe)
                })
                .collect();
        let sent: Vec<Result<_, Error>> = futures_util::stream::iter(pipelines)
            .map(|(group, pipe)| async move {
                let values = self.query_pipe(&pipe).await?;
                Ok((group, values))
            })
            .buffer_unordered(cluster::PIPELINES_IN_FLIGHT)
            .collect()
            .await;
        sent.into_iter().collect()
    }

    /// One `SCAN` step over keys matching `pattern`: on the server, or on a cluster's masters
    /// one after the other, with one cursor for the whole walk.
    pub(super) async fn scan_step(
        &self,
        pattern: &str,
        cursor: u64,
        count: usize,
    ) -> Result<(u64, Vec<String>), Error> {
        if let Backend::Cluster(cluster) = &self.inner.backend {
            return self
                .bounded("a scan", async {
                    let mut handle = cluster.get();
                    let result = cluster::scan_step(&mut handle, pattern, cursor, count).await;
                    settle(
                        &mut Conn::Cluster(Box::new(handle), cluster.clone()),
                        result,
                    )
                })
                .await;
        }
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count);
        self.query(&cmd).await
    }

    /// Runs `connect` (which makes a connection) under the connect timeout.
    pub(super) async fn connecting<T>(
        &self,
        what: &str,
        connect: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        within_connect_timeout(&self.inner.options, what, connect).await
    }

    /// Runs one command.
    pub(super) async fn query<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Error> {
        self.bounded("a command", async {
            let mut conn = self.conn().await?;
            let result = cmd.query_async::<T>(&mut conn).await;
            settle(&mut conn, result)
        })
        .await
    }

    pub(super) async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &Pipeline,
    ) -> Result<T, Error> {
        self.bounded("a pipeline", async {
            let mut conn = self.conn().await?;
            let result = pipe.query_async::<T>(&mut conn).await;
            settle(&mut conn, result)
        })
        .await
    }

    pub(super) async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        self.bounded("a script", async {
            let mut conn = self.conn().await?;
            let result = invocation.invoke_async::<T>(&mut conn).await;
            settle(&mut conn, result)
        })
        .await
    }

    /// Walks the keys in `prefix` (exclusions left out) with `SCAN`, in batches: unlinks each
    /// batch and returns how many were removed, or collects the keys.
    pub(super) async fn scan_prefix(
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
            let (next, keys) = self.scan_step(&pattern, cursor, batch_size).await?;
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

/// A connection of its own from `client`, whose replies may take `extra` beyond the command
/// timeout, made within the connect timeout.
async fn plain_connection(
    client: &redis::Client,
    options: &RedisOptions,
    extra: Duration,
) -> Result<redis::aio::MultiplexedConnection, Error> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout + extra));
    within_connect_timeout(options, "connecting", async {
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(store_error)
    })
    .await
}

/// `connect` under `options`' connect timeout.
async fn within_connect_timeout<T>(
    options: &RedisOptions,
    what: &str,
    connect: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(options.connect_timeout, connect)
        .await
        .map_err(|_| timeout_error(what, options.connect_timeout))?
}

/// The key of a tag's index. The tag text is escaped like a key segment, so a tag cannot name
/// another tag's index or a user key.
pub(super) fn tag_index(tag: &str) -> String {
    format!("cache-core:tag:{}", crate::key::escape_segment(tag))
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.inner.backend {
            Backend::Shared(_) => "multiplexed",
            Backend::Pooled(_) => "pooled",
            Backend::Cluster(_) => "cluster",
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
