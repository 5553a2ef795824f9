//! Test support (feature `test-util`): private `redis-server` processes on free loopback ports,
//! alone or joined into a Redis Cluster.
//!
//! Each [`RedisServer`] is its own process with its own port and nothing on disk, so tests
//! share no state and never touch a Redis the machine already runs (such as one on 6379). It
//! is stopped when dropped, and can be stopped and restarted on the same port to test what
//! the cache does while Redis is down. A [`RedisCluster`] joins several of them (masters,
//! replicas, a password, TLS) with `redis-cli`; [`on_each_topology!`](crate::on_each_topology)
//! runs one test body on a single server and on a cluster ([`Topology`]).
//!
//! Set `REDIS_URL` to run against an existing server instead: [`RedisServer::url_or_start`]
//! then returns that URL; `REDIS_CLUSTER_URL` does the same for clusters
//! ([`Topology::url_or_start`]).
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cache_core::store::redis::RedisStore;
//! use cache_core::test_util::RedisServer;
//!
//! let server = RedisServer::builder().password("s3cret").start()?;
//! let store = RedisStore::connect(&server.url()).await?;
//! # let _ = store;
//! # Ok(()) }
//! ```

use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;

use crate::store::redis::OwnConnection;

/// Settings of a [`RedisServer`]; start from [`RedisServer::builder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RedisServerBuilder {
    password: Option<String>,
    binary: Option<PathBuf>,
    tls: bool,
    /// Certificates made already (one CA for every node of a cluster).
    tls_files: Option<TlsFiles>,
    config: Vec<(String, String)>,
}

impl RedisServerBuilder {
    /// Requires clients to authenticate with `password` (`requirepass`).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Serves TLS only (`rediss://`), with a certificate for `127.0.0.1` and `localhost` from a
    /// private CA made for this server with the `openssl` command; clients trust it through
    /// [`RedisServer::tls_ca_pem`]. Needs a redis-server built with TLS (Debian's is).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Passes `--name value` to the server (such as `maxmemory`, `256mb`), after the options
    /// this builder sets itself.
    pub fn config(mut self, name: &str, value: &str) -> Self {
        self.config.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `redis-server` binary to run; by default the one on `PATH`.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Starts the server on a free loopback port and waits until it answers.
    ///
    /// # Errors
    ///
    /// When `redis-server` cannot be run or does not answer within ten seconds.
    pub fn start(self) -> io::Result<RedisServer> {
        let tls = match (&self.tls_files, self.tls) {
            (Some(files), _) => Some(files.clone()),
            (None, true) => Some(TlsFiles::make()?),
            (None, false) => None,
        };
        let mut last = None;
        // Another process may take the free port between our check and redis-server's bind.
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = RedisServer {
                child: None,
                port,
                settings: self.clone(),
                tls: tls.clone(),
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                // Dropping the server releases its port.
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }
}

/// A private `redis-server` process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    settings: RedisServerBuilder,
    tls: Option<TlsFiles>,
}

/// A private CA and a server certificate, in a temporary folder removed with the server.
#[derive(Debug, Clone)]
struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    fn make() -> io::Result<Self> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cache-core-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )?;
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=cache-core test CA",
            ],
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        ];
        for args in steps {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot run openssl to make test certificates: {e}"),
                    )
                })?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "openssl {} failed ({status})",
                    args[0]
                )));
            }
        }
        Ok(Self { dir })
    }
}

/// The ports of this process's servers, stopped ones included: a server restarted on its
/// port must find it free, so no other server of the process may take it meanwhile.
static PORTS: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

fn ports() -> std::sync::MutexGuard<'static, Vec<u16>> {
    PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A free loopback port that no server of this process holds, reserved until
/// [`release_port`].
fn free_port() -> io::Result<u16> {
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut held = ports();
        if !held.contains(&port) {
            held.push(port);
            return Ok(port);
        }
    }
    Err(io::Error::other("no free loopback port"))
}

fn release_port(port: u16) {
    ports().retain(|&p| p != port);
}

impl RedisServer {
    /// Starts a server with default settings.
    ///
    /// # Errors
    ///
    /// As [`RedisServerBuilder::start`].
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// Starts configuring a server.
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// `REDIS_URL` when it is set (and `None` for the server), else the URL of a new private
    /// server, returned alongside so that it lives as long as the caller keeps it.
    ///
    /// # Errors
    ///
    /// As [`RedisServerBuilder::start`].
    pub fn url_or_start() -> io::Result<(String, Option<Self>)> {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => Ok((url, None)),
            _ => {
                let server = Self::start()?;
                Ok((server.url(), Some(server)))
            }
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to connect with, password included: `rediss://` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        match &self.settings.password {
            Some(password) => format!("{scheme}://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("{scheme}://127.0.0.1:{}/0", self.port),
        }
    }

    /// The PEM certificate of the CA that signed a TLS server's certificate.
    ///
    /// # Errors
    ///
    /// When the server does not serve TLS, or the file cannot be read.
    pub fn tls_ca_pem(&self) -> io::Result<Vec<u8>> {
        match &self.tls {
            Some(files) => std::fs::read(files.dir.join("ca.crt")),
            None => Err(io::Error::other("this server does not serve TLS")),
        }
    }

    /// Whether the server runs (it was not stopped, or was restarted since).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (as a crash would: no shutdown, nothing saved).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    ///
    /// # Errors
    ///
    /// As [`RedisServerBuilder::start`].
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                // The old socket may linger briefly.
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The server's snapshot file, in the temporary folder: its own, so that it never loads
    /// what another server (another test's replica, say) saved there.
    fn snapshot(&self) -> String {
        format!("cache-core-{}-{}.rdb", std::process::id(), self.port)
    }

    fn spawn(&mut self) -> io::Result<()> {
        let _ = std::fs::remove_file(std::env::temp_dir().join(self.snapshot()));
        let binary = self
            .settings
            .binary
            .clone()
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        let mut cmd = Command::new(&binary);
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dbfilename",
            &self.snapshot(),
        ])
        .args([
            "--dir",
            &std::env::temp_dir().to_string_lossy(),
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
        ])
        // Tests make the server slow on purpose with `DEBUG SLEEP`.
        .args(["--enable-debug-command", "yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(password) = &self.settings.password {
            cmd.args(["--requirepass", password]);
        }
        for (name, value) in &self.settings.config {
            cmd.arg(format!("--{name}")).arg(value);
        }
        if let Some(files) = &self.tls {
            let path = |name: &str| files.dir.join(name).to_string_lossy().into_owned();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args([
                    "--tls-cert-file",
                    &path("server.crt"),
                    "--tls-key-file",
                    &path("server.key"),
                ])
                .args([
                    "--tls-ca-cert-file",
                    &path("ca.crt"),
                    "--tls-auth-clients",
                    "no",
                ]);
        }
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot run {}: {e} (install redis-server)",
                    binary.display()
                ),
            )
        })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server exited at start ({status}); port {} taken?",
                    self.port
                )));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Something answers: make sure it is this server (another process may hold
                // the port, and this one then exits on failing to bind it).
                std::thread::sleep(Duration::from_millis(20));
                if let Some(status) = child.try_wait()? {
                    return Err(io::Error::other(format!(
                        "redis-server exited at start ({status}); port {} taken?",
                        self.port
                    )));
                }
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "redis-server did not answer within 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(std::env::temp_dir().join(self.snapshot()));
        release_port(self.port);
        if let Some(files) = &self.tls {
            let _ = std::fs::remove_dir_all(&files.dir);
        }
    }
}

/// A plain redis-rs connection to `url` (a `redis://`, `rediss://` or `redis+cluster://` URL),
/// for a test to look at Redis as any other client does. On a cluster, commands go to the node
/// of their key's slot.
///
/// # Errors
///
/// The connection error.
pub async fn connect(url: &str) -> redis::RedisResult<TestConnection> {
    if let Some(seeds) = crate::store::redis::cluster_seed_urls(url) {
        let seeds = seeds.map_err(|e| {
            redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "cluster URL", e))
        })?;
        let client = redis::cluster::ClusterClient::new(seeds)?;
        return Ok(TestConnection(OwnConnection::Cluster(
            client.get_async_connection().await?,
        )));
    }
    let conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    Ok(TestConnection(OwnConnection::Node(conn)))
}

/// A test's own connection from [`connect`]: to one server or to a cluster; use it as any
/// redis-rs connection.
pub struct TestConnection(OwnConnection);

impl std::fmt::Debug for TestConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.0 {
            OwnConnection::Node(_) => "node",
            OwnConnection::Cluster(_) => "cluster",
        };
        f.debug_tuple("TestConnection").field(&kind).finish()
    }
}

impl ConnectionLike for TestConnection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        self.0.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        self.0.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}

/// Waits, up to `within`, until `caches` coherent caches listen for invalidations on the
/// Redis at `url` (see [`CacheBuilder::coherent`](crate::CacheBuilder::coherent)), and a little
/// longer for each to empty its in-process tier once, as it does on subscribing.
///
/// # Errors
///
/// A connection error, or a timeout when fewer caches listen by then.
pub async fn wait_for_coherent_caches(url: &str, caches: u64, within: Duration) -> io::Result<()> {
    let mut conn = connect(url).await.map_err(io::Error::other)?;
    let deadline = Instant::now() + within;
    loop {
        let (_, listening): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(crate::store::redis::INVALIDATION_CHANNEL)
            .query_async(&mut conn)
            .await
            .map_err(io::Error::other)?;
        if listening >= caches {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "{listening} of {caches} coherent caches listen after {within:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Settings of a [`RedisCluster`]; start from [`RedisCluster::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisClusterBuilder {
    masters: usize,
    replicas: usize,
    password: Option<String>,
    node_timeout: Duration,
    tls: bool,
    config: Vec<(String, String)>,
}

impl RedisClusterBuilder {
    /// Serves TLS only (`rediss+cluster://`), between the nodes too, with certificates from
    /// one private CA made for the cluster (see [`RedisServerBuilder::tls`]); clients trust it
    /// through [`RedisCluster::tls_ca_pem`].
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// How many masters share the slots (at least three, as Redis requires; default 3).
    pub fn masters(mut self, masters: usize) -> Self {
        self.masters = masters;
        self
    }

    /// How many replicas follow each master (default 0). With one or more, a killed master
    /// is replaced by its replica after the node timeout.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// Requires clients, and the nodes among themselves, to authenticate with `password`.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// How long a node may be unreachable before the others count it as failed and promote
    /// a replica in its place (`cluster-node-timeout`; default 2 s).
    pub fn node_timeout(mut self, timeout: Duration) -> Self {
        self.node_timeout = timeout;
        self
    }

    /// Passes `--name value` to every node (such as `cluster-require-full-coverage`, `no`),
    /// after the options the builder sets itself.
    pub fn config(mut self, name: &str, value: &str) -> Self {
        self.config.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts the nodes, joins them with `redis-cli --cluster create` and waits until every
    /// node reports `cluster_state:ok` and every replica has its master's data.
    ///
    /// # Errors
    ///
    /// When a server does not start, `redis-cli` cannot join them, or the cluster is not
    /// ready within twenty seconds; for fewer than three masters.
    pub fn start(self) -> io::Result<RedisCluster> {
        if self.masters < 3 {
            return Err(io::Error::other(
                "a Redis Cluster needs at least three masters",
            ));
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let count = self.masters * (1 + self.replicas);
        let mut cluster = RedisCluster {
            nodes: Vec::with_capacity(count),
            files: Vec::with_capacity(count),
            bus_ports: Vec::with_capacity(count),
            password: self.password.clone(),
            tls: if self.tls {
                Some(TlsFiles::make()?)
            } else {
                None
            },
        };
        let node_timeout = self.node_timeout.as_millis().to_string();
        for _ in 0..count {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let file = format!("cache-core-nodes-{}-{n}.conf", std::process::id());
            // A file left by a killed run of a process with the same id would make the node
            // start as a member of that old cluster.
            let path = std::env::temp_dir().join(&file);
            let _ = std::fs::remove_file(&path);
            cluster.files.push(path);
            // The bus port is chosen too: by default it is the client port + 10000, which
            // is past 65535 for much of the ephemeral range.
            let bus = free_port()?;
            cluster.bus_ports.push(bus);
            let mut node = RedisServer::builder()
                .config("cluster-enabled", "yes")
                .config("cluster-config-file", &file)
                .config("cluster-node-timeout", &node_timeout)
                .config("cluster-port", &bus.to_string())
                // A replica loads its master's data from the socket, not through a file.
                .config("repl-diskless-load", "on-empty-db")
                // A replica gets its first copy at once (not 5 s later), and may take over
                // however long it was cut off: a test kills masters soon after the start.
                .config("repl-diskless-sync-delay", "0")
                .config("cluster-replica-validity-factor", "0");
            for (name, value) in &self.config {
                node = node.config(name, value);
            }
            if let Some(password) = &self.password {
                node = node.password(password).config("masterauth", password);
            }
            if let Some(files) = &cluster.tls {
                node.tls_files = Some(files.clone());
                node = node
                    .config("tls-cluster", "yes")
                    .config("tls-replication", "yes");
            }
            cluster.nodes.push(node.start()?);
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let created = cluster
            .cli()
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &self.replicas.to_string()])
            .arg("--cluster-yes")
            .output()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run redis-cli: {e}")))?;
        if !created.status.success() {
            // redis-cli says what went wrong on standard output.
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&created.stdout),
                String::from_utf8_lossy(&created.stderr)
            )));
        }
        cluster.wait_ready(Duration::from_secs(20))?;
        Ok(cluster)
    }
}

/// A private Redis Cluster: three (or more) masters, with or without replicas, each a
/// [`RedisServer`] with cluster mode on, joined with `redis-cli --cluster create` and ready
/// (`cluster_state:ok` on every node) when started. Stopped, and its node files removed,
/// when dropped.
///
/// Needs `redis-cli` beside `redis-server` (Debian's `redis-server` package brings it).
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cache_core::store::redis::RedisStore;
/// use cache_core::test_util::RedisCluster;
///
/// let cluster = RedisCluster::builder().replicas(1).start()?;
/// // `redis+cluster://127.0.0.1:<port>,127.0.0.1:<port>,...`
/// let store = RedisStore::connect(&cluster.url()).await?;
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    files: Vec<PathBuf>,
    bus_ports: Vec<u16>,
    password: Option<String>,
    tls: Option<TlsFiles>,
}

impl RedisCluster {
    /// Starts a cluster of three masters without replicas.
    ///
    /// # Errors
    ///
    /// As [`RedisClusterBuilder::start`].
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// Starts a cluster of `masters` masters without replicas.
    ///
    /// # Errors
    ///
    /// As [`RedisClusterBuilder::start`].
    pub fn with_masters(masters: usize) -> io::Result<Self> {
        Self::builder().masters(masters).start()
    }

    /// Starts configuring a cluster.
    pub fn builder() -> RedisClusterBuilder {
        RedisClusterBuilder {
            masters: 3,
            replicas: 0,
            password: None,
            node_timeout: Duration::from_secs(2),
            tls: false,
            config: Vec::new(),
        }
    }

    /// `redis-cli`, with the cluster's password when it has one.
    fn cli(&self) -> Command {
        let mut cli = Command::new("redis-cli");
        if let Some(password) = &self.password {
            cli.args(["--no-auth-warning", "-a", password]);
        }
        if let Some(files) = &self.tls {
            cli.arg("--tls")
                .arg("--cacert")
                .arg(files.dir.join("ca.crt"));
        }
        cli.stdin(Stdio::null());
        cli
    }

    /// Waits until every running node reports `cluster_state:ok`, and every replica among
    /// them has its master's data (its link to the master is up).
    fn wait_ready(&self, within: Duration) -> io::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let ready = self
                .nodes
                .iter()
                .filter(|node| node.is_running())
                .all(|node| {
                    let port = node.port();
                    self.node_says(port, &["cluster", "info"], "cluster_state:ok")
                        && (self.node_says(port, &["role"], "master")
                            || self.node_says(
                                port,
                                &["info", "replication"],
                                "master_link_status:up",
                            ))
                });
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("the cluster did not become ready"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the node on `port` answers `command` with a text containing `expected`.
    fn node_says(&self, port: u16, command: &[&str], expected: &str) -> bool {
        self.cli()
            .args(["-p", &port.to_string()])
            .args(command)
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(expected))
    }

    /// The cluster's URL for [`RedisStore::connect`](crate::store::redis::RedisStore::connect):
    /// `redis+cluster://` with every node as a seed, and the password when there is one.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let scheme = if self.tls.is_some() {
            "rediss+cluster"
        } else {
            "redis+cluster"
        };
        match &self.password {
            Some(password) => format!("{scheme}://:{password}@{}", nodes.join(",")),
            None => format!("{scheme}://{}", nodes.join(",")),
        }
    }

    /// The PEM certificate of the CA that signed a TLS cluster's certificates.
    ///
    /// # Errors
    ///
    /// When the cluster does not serve TLS, or the file cannot be read.
    pub fn tls_ca_pem(&self) -> io::Result<Vec<u8>> {
        match &self.tls {
            Some(files) => std::fs::read(files.dir.join("ca.crt")),
            None => Err(io::Error::other("this cluster does not serve TLS")),
        }
    }

    /// The URL of every node, for a cluster client's seed list.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes, to stop or restart one (a master killed mid-test).
    pub fn nodes_mut(&mut self) -> &mut [RedisServer] {
        &mut self.nodes
    }

    /// The positions in [`nodes_mut`](Self::nodes_mut) of the running nodes that are masters
    /// now (a replica promoted after a failover counts).
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i].is_running()
                    && self.node_says(self.nodes[i].port(), &["role"], "master")
            })
            .collect()
    }

    /// Moves `slots` hash slots, with their keys, from the master at position `from` of
    /// [`nodes_mut`](Self::nodes_mut) to the master at `to` (`redis-cli --cluster reshard`),
    /// as an operator rebalancing a live cluster does: clients meet `MOVED` and `ASK` replies.
    ///
    /// # Errors
    ///
    /// When `redis-cli` cannot run or reports a failure.
    pub fn reshard(&self, from: usize, to: usize, slots: usize) -> io::Result<()> {
        let id = |node: usize| -> io::Result<String> {
            let out = self
                .cli()
                .args([
                    "-p",
                    &self.nodes[node].port().to_string(),
                    "cluster",
                    "myid",
                ])
                .output()?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let moved = self
            .cli()
            .arg("--cluster")
            .arg("reshard")
            .arg(format!("127.0.0.1:{}", self.nodes[from].port()))
            .args(["--cluster-from", &id(from)?, "--cluster-to", &id(to)?])
            .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        if !moved.status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster reshard failed: {}",
                String::from_utf8_lossy(&moved.stderr)
            )));
        }
        Ok(())
    }

    /// Waits, up to `within`, until the running nodes agree the cluster is whole again
    /// (every slot served, as after a replica replaced a killed master).
    ///
    /// # Errors
    ///
    /// A timeout when it is not whole by then.
    pub fn wait_until_ok(&self, within: Duration) -> io::Result<()> {
        self.wait_ready(within)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        for port in &self.bus_ports {
            release_port(*port);
        }
        if let Some(files) = &self.tls {
            let _ = std::fs::remove_dir_all(&files.dir);
        }
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Which kind of Redis a test runs on, so that one test body covers both; see
/// [`on_each_topology!`](crate::on_each_topology).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// One `redis-server` ([`RedisServer`]); `REDIS_URL` names an existing one instead.
    Single,
    /// A three-master [`RedisCluster`]; `REDIS_CLUSTER_URL` (a `redis+cluster://` URL) names
    /// an existing one instead.
    Cluster,
}

/// A private Redis of either [`Topology`], kept alive as long as the test holds it.
#[derive(Debug)]
pub enum TestRedis {
    /// One server.
    Single(RedisServer),
    /// A cluster.
    Cluster(RedisCluster),
}

impl Topology {
    /// The URL of a Redis of this topology for a test: the environment's (`REDIS_URL` or
    /// `REDIS_CLUSTER_URL`) when set, with `None`, else a new private one's, returned alongside
    /// so that it lives as long as the caller keeps it.
    ///
    /// # Errors
    ///
    /// When the server or cluster does not start.
    pub fn url_or_start(self) -> io::Result<(String, Option<TestRedis>)> {
        let variable = match self {
            Self::Single => "REDIS_URL",
            Self::Cluster => "REDIS_CLUSTER_URL",
        };
        if let Ok(url) = std::env::var(variable)
            && !url.is_empty()
        {
            return Ok((url, None));
        }
        let redis = match self {
            Self::Single => TestRedis::Single(RedisServer::start()?),
            Self::Cluster => TestRedis::Cluster(RedisCluster::start()?),
        };
        Ok((redis.url(), Some(redis)))
    }
}

impl TestRedis {
    /// The URL to connect with: `redis://` for one server, `redis+cluster://` for a cluster.
    pub fn url(&self) -> String {
        match self {
            Self::Single(server) => server.url(),
            Self::Cluster(cluster) => cluster.url(),
        }
    }
}

/// Runs each named `async fn(Topology)` twice, as two tests in a module of its name: `single`
/// on one Redis server and `cluster` on a Redis Cluster. One test body, both topologies.
///
/// ```
/// use cache_core::test_util::Topology;
///
/// async fn entries_are_shared(topology: Topology) {
///     let (url, _redis) = topology.url_or_start().unwrap();
///     // ... connect to `url`, test ...
/// #   let _ = url;
/// }
///
/// // Tests `entries_are_shared::single` and `entries_are_shared::cluster`.
/// cache_core::on_each_topology!(entries_are_shared);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! on_each_topology {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn single() {
                super::$test($crate::test_util::Topology::Single).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cluster() {
                super::$test($crate::test_util::Topology::Cluster).await;
            }
        }
    )+};
}
