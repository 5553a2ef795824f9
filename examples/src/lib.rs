//! Runnable examples of the typed cache; see the `examples/` folder and
//! `cargo run -p examples --example quickstart`. The library part holds what both an example
//! and the end-to-end tests run: the caching reverse proxy, the metrics app, and one module
//! per service rebuilt on the framework, each a `run` function that an example's `main` calls
//! with the Redis URL it was given.

pub mod coupon_platform;
pub mod metrics_app;
pub mod proxy;
pub mod token_store;
pub mod verification_states;
pub mod verification_stream;
pub mod video_platform;

/// The Redis URL an example runs against: the value of a `--redis URL` argument, else the
/// `REDIS_URL` environment variable.
///
/// # Errors
///
/// A message saying how to give one, when there is neither.
pub fn redis_url() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--redis" {
            return args
                .next()
                .ok_or_else(|| "--redis needs a URL, e.g. --redis redis://127.0.0.1:6379".into());
        }
        if let Some(url) = arg.strip_prefix("--redis=") {
            return Ok(url.to_owned());
        }
    }
    std::env::var("REDIS_URL").map_err(|_| {
        "this example needs Redis: pass --redis redis://127.0.0.1:6379 or set REDIS_URL".into()
    })
}

/// What an example says as it runs: printed line by line, and kept so that its test can
/// check what it did.
#[derive(Debug, Default)]
pub struct Narration {
    lines: Vec<String>,
}

impl Narration {
    /// Prints `line` and keeps it.
    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        println!("{line}");
        self.lines.push(line);
    }

    /// Every line said so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Whether some line is exactly `line`.
    pub fn said(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }
}

/// What a service's `run` returns.
pub type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;
