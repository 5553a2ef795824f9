//! The soak run: the caching proxy (its own process, on Redis) under a long, skewed load while
//! Redis restarts twice and the origin slows down for a while. It records the proxy's memory
//! (RSS) and the throughput every second, counts every error a client sees, and draws
//! `benches/soak.svg`.
//!
//! ```text
//! cargo build --release -p examples --example proxy
//! cargo run --release -p benches --bin soak -- [seconds] [clients] [memory MiB]
//! ```
//!
//! Workload: keys drawn from Zipf(1.0) over 1 000 000 URLs; each URL's body is 100 B (60%),
//! 1 KB (25%), 10 KB (10%), 100 KB (4%) or 1 000 000 B (1%), fresh for 60 s. Redis keeps at
//! most 512 MB (LRU). At 25% and 50% of the run Redis is killed and started again, empty; from
//! 67% to 77% the origin takes 200 ms per answer. An error is any answer that is not the
//! origin's `200` with its whole body, or a failed request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use benches::strategy::Zipf;
use bytes::Bytes;
use cache_core::test_util::RedisServer;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

const KEYS: u64 = 1_000_000;

/// The body size of URL `n`: fixed per URL, spread as the module docs say.
fn body_size(n: u64) -> usize {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54; // 0..1024
    match h {
        0..=613 => 100,
        614..=869 => 1_000,
        870..=971 => 10_000,
        972..=1012 => 100_000,
        _ => 1_000_000,
    }
}

/// The origin: `GET /item/{n}` answers `n`'s body, slowly while `slow` is set.
#[derive(Clone)]
struct Origin {
    slow: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    body: Bytes,
}

async fn item(
    State(origin): State<Origin>,
    Path(n): Path<u64>,
) -> impl axum::response::IntoResponse {
    origin.served.fetch_add(1, Ordering::Relaxed);
    if origin.slow.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let size = body_size(n);
    ([("cache-control", "max-age=60")], origin.body.slice(..size))
}

/// Counts shared by the clients and the sampler.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    errors: AtomicU64,
    bytes: AtomicU64,
    /// The first errors, with what happened.
    first_errors: std::sync::Mutex<Vec<String>>,
}

impl Counts {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.note(what);
    }

    /// Keeps `what` among the first messages, without counting an error.
    fn note(&self, what: String) {
        let mut first = self
            .first_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.len() < 20 {
            first.push(what);
        }
    }
}

/// One client: a keep-alive connection to the proxy, re-opened after a failure.
async fn client(
    proxy: SocketAddr,
    zipf: Arc<Zipf>,
    counts: Arc<Counts>,
    until: Instant,
    seed: u64,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    'connect: while Instant::now() < until {
        let Ok(stream) = tokio::net::TcpStream::connect(proxy).await else {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        // Why a connection ended, when it ended with an error: that is what a request on it
        // that was still waiting reports only as "canceled". (Closed without an error: by the
        // server, or by this client after an error it counted, or at the end.)
        {
            let counts = counts.clone();
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    let at = until.saturating_duration_since(Instant::now()).as_secs();
                    counts.note(format!(
                        "{at} s before the end: the connection failed: {e:?}"
                    ));
                }
            });
        }
        // The item the connection carried last, for an error on the next request.
        let mut previous: Option<u64> = None;
        while Instant::now() < until {
            let n = zipf.sample(&mut rng);
            let req = Request::get(format!("/item/{n}"))
                .header("host", "soak.example")
                .body(Empty::<Bytes>::new())
                .expect("request");
            let at = until.saturating_duration_since(Instant::now()).as_secs();
            // The connection takes the next request only once it has finished the last
            // response; sending before that fails with "connection was not ready", a client
            // mistake (seen after 1 MB bodies) and not an answer of the proxy.
            if let Err(e) = sender.ready().await {
                counts.error(format!(
                    "{at} s before the end: the connection closed: {e:?}, after {}",
                    carried(previous)
                ));
                continue 'connect;
            }
            let failure = match sender.send_request(req).await {
                Ok(response) if response.status() == StatusCode::OK => {
                    let status = response
                        .headers()
                        .get("cache-status")
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        .unwrap_or_default();
                    previous = Some(n);
                    match response.into_body().collect().await {
                        Ok(body) => {
                            let body = body.to_bytes();
                            counts.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                            (body.len() != body_size(n)).then(|| {
                                format!(
                                    "/item/{n}: {} bytes, not {} ({status})",
                                    body.len(),
                                    body_size(n)
                                )
                            })
                        }
                        Err(e) => Some(format!("/item/{n}: body: {e} ({status})")),
                    }
                }
                Ok(response) => Some(format!("/item/{n}: status {}", response.status())),
                Err(e) => Some(format!("/item/{n}: {e:?}, after {}", carried(previous))),
            };
            match failure {
                None => {
                    counts.ok.fetch_add(1, Ordering::Relaxed);
                }
                Some(what) => {
                    counts.error(format!("{at} s before the end: {what}"));
                    continue 'connect;
                }
            }
        }
    }
}

/// What a connection carried last: an item and its body size.
fn carried(previous: Option<u64>) -> String {
    previous.map_or_else(
        || "nothing".to_owned(),
        |n| format!("/item/{n} ({} bytes)", body_size(n)),
    )
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The proxy example binary, built beside this one.
fn proxy_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .expect("target dir")
        .join("examples")
        .join("proxy")
}

struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One second of the run.
struct Sample {
    second: f64,
    rss_mib: f64,
    requests: u64,
    errors: u64,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(600);
    let clients: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let memory_mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);

    let mut redis = RedisServer::builder()
        .config("maxmemory", "512mb")
        .config("maxmemory-policy", "allkeys-lru")
        .start()
        .expect("redis-server");
    let origin = Origin {
        slow: Arc::default(),
        served: Arc::default(),
        body: Bytes::from(vec![b'x'; 1_000_000]),
    };
    let app = Router::new()
        .route("/item/{n}", get(item))
        .with_state(origin.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let binary = proxy_binary();
    assert!(
        binary.exists(),
        "{} is missing: cargo build --release -p examples --example proxy",
        binary.display()
    );
    let proxy_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut command = Command::new(&binary);
    command
        .args(["--listen", &proxy_addr.to_string()])
        .args(["--origin", &format!("http://{origin_addr}")]);
    // SOAK_TIER=memory runs the proxy without Redis, to tell what the far tier costs.
    if std::env::var("SOAK_TIER").as_deref() != Ok("memory") {
        command.args(["--redis", &redis.url()]);
    }
    let proxy = Proxy(
        command
            .args(["--memory", &memory_mib.to_string()])
            .args(["--stats", "10"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the proxy starts"),
    );
    let pid = proxy.0.id();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(proxy_addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let zipf = Arc::new(Zipf::new(KEYS));
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(client(
                proxy_addr,
                zipf.clone(),
                counts.clone(),
                until,
                c * 7919 + 1,
            ))
        })
        .collect();

    let at = |fraction: f64| Duration::from_secs_f64(seconds as f64 * fraction);
    let events = [
        (at(0.25), "restart redis"),
        (at(0.5), "restart redis"),
        (at(0.67), "slow origin"),
        (at(0.77), "origin back"),
    ];
    let mut next_event = 0;
    let mut samples = Vec::new();
    let (mut last_ok, mut last_errors) = (0, 0);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    while Instant::now() < until {
        ticks.tick().await;
        let elapsed = start.elapsed();
        while next_event < events.len() && elapsed >= events[next_event].0 {
            let (_, what) = events[next_event];
            match what {
                "restart redis" => redis.restart().expect("redis restarts"),
                "slow origin" => origin.slow.store(true, Ordering::Relaxed),
                _ => origin.slow.store(false, Ordering::Relaxed),
            }
            eprintln!("{:>5.0} s: {what}", elapsed.as_secs_f64());
            next_event += 1;
        }
        let (ok, errors) = (
            counts.ok.load(Ordering::Relaxed),
            counts.errors.load(Ordering::Relaxed),
        );
        let sample = Sample {
            second: elapsed.as_secs_f64(),
            rss_mib: rss(pid) as f64 / f64::from(1 << 20),
            requests: ok - last_ok,
            errors: errors - last_errors,
        };
        (last_ok, last_errors) = (ok, errors);
        if samples.len() % 30 == 0 {
            eprintln!(
                "{:>5.0} s: {:>6} req/s, {:>4} errors, RSS {:.1} MiB",
                sample.second, sample.requests, sample.errors, sample.rss_mib
            );
        }
        samples.push(sample);
    }
    for task in tasks {
        let _ = task.await;
    }
    let alive = proxy_alive(pid);
    drop(proxy);

    let total_ok = counts.ok.load(Ordering::Relaxed);
    let total_errors = counts.errors.load(Ordering::Relaxed);
    let peak = samples.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
    let half = samples.len() / 2;
    let mut later: Vec<f64> = samples[half..].iter().map(|s| s.rss_mib).collect();
    later.sort_by(f64::total_cmp);
    let plateau = later.get(later.len() / 2).copied().unwrap_or(0.0);
    let mut rates: Vec<u64> = samples.iter().map(|s| s.requests).collect();
    rates.sort_unstable();
    let median_rate = rates.get(rates.len() / 2).copied().unwrap_or(0);
    println!(
        "soak {seconds} s, {clients} clients, budget {memory_mib} MiB: {total_ok} requests \
         (median {median_rate} req/s), {total_errors} errors, origin served {}, RSS peak \
         {peak:.1} MiB, median of the second half {plateau:.1} MiB, proxy alive at the end: {alive}",
        origin.served.load(Ordering::Relaxed)
    );
    for error in counts
        .first_errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        println!("  error: {error}");
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    chart(
        &dir.join("soak.svg"),
        &samples,
        memory_mib,
        &events.map(|(t, w)| (t.as_secs_f64(), w)),
    );
}

fn proxy_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// RSS (left axis) and throughput (right axis) over time, with the run's events marked.
fn chart(path: &std::path::Path, samples: &[Sample], budget: u64, events: &[(f64, &str)]) {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE).expect("fill");
    let end = samples.last().map_or(1.0, |s| s.second);
    let top_rss = samples
        .iter()
        .map(|s| s.rss_mib)
        .fold(budget as f64, f64::max)
        * 1.2;
    let top_rate = samples
        .iter()
        .map(|s| s.requests as f64)
        .fold(1.0, f64::max)
        * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Soak: the caching proxy on Redis (Zipf over 1M URLs, 100 B to 1 MB bodies)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0f64..end, 0f64..top_rss)
        .expect("chart")
        .set_secondary_coord(0f64..end, 0f64..top_rate);
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("proxy RSS (MiB)")
        .draw()
        .expect("mesh");
    chart
        .configure_secondary_axes()
        .y_desc("requests / s")
        .draw()
        .expect("axes");
    let blue = RGBColor(66, 133, 244);
    let green = RGBColor(15, 157, 88);
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.second, s.rss_mib)),
            blue.stroke_width(2),
        ))
        .expect("rss")
        .label("RSS")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], blue.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            [(0.0, budget as f64), (end, budget as f64)],
            blue.mix(0.5).stroke_width(1),
        ))
        .expect("budget")
        .label("response memory budget")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], blue.mix(0.5)));
    chart
        .draw_secondary_series(LineSeries::new(
            samples.iter().map(|s| (s.second, s.requests as f64)),
            green.stroke_width(1),
        ))
        .expect("rate")
        .label("requests / s")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], green));
    for &(t, what) in events {
        chart
            .draw_series(std::iter::once(PathElement::new(
                [(t, 0.0), (t, top_rss)],
                RED.mix(0.4),
            )))
            .expect("event");
        chart
            .draw_series(std::iter::once(Text::new(
                what.to_owned(),
                (t, top_rss * 0.95),
                ("sans-serif", 12),
            )))
            .expect("label");
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .expect("legend");
    root.present().expect("write chart");
}
