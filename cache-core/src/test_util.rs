//! Test support (feature `test-util`): private `redis-server` processes on free loopback ports.
//!
//! Each [`RedisServer`] is its own process with its own port and nothing on disk, so tests
//! share no state and never touch a Redis the machine already runs (such as one on 6379). It
//! is stopped when dropped, and can be stopped and restarted on the same port to test what
//! the cache does while Redis is down.
//!
//! Set `REDIS_URL` to run against an existing server instead: [`RedisServer::url_or_start`]
//! then returns that URL.
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

/// Settings of a [`RedisServer`]; start from [`RedisServer::builder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RedisServerBuilder {
    password: Option<String>,
    binary: Option<PathBuf>,
}

impl RedisServerBuilder {
    /// Requires clients to authenticate with `password` (`requirepass`).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
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
        let mut last = None;
        // Another process may take the free port between our check and redis-server's bind.
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = RedisServer {
                child: None,
                port,
                settings: self.clone(),
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
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
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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

    /// The URL to connect with, password included.
    pub fn url(&self) -> String {
        match &self.settings.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
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

    fn spawn(&mut self) -> io::Result<()> {
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
    }
}
