//! HTTP load run: an axum app with a bare handler, a response-cache hit in memory, a hit read
//! through Redis (no in-process tier), and a miss with a 1 ms origin next to the bare 1 ms
//! handler. The server runs on core 0 and the load generator on core 1 (`taskset`, when
//! present), one process each, modes alternating within every round; prints each mode's median
//! requests per second, p50 and p99 latency, and the median per-round ratio to its reference.
//!
//! `cargo run --release -p benches --bin http_load -- [rounds] [seconds] [connections]`

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use cache_core::Cache;
use cache_core::store::redis::RedisStore;
use cache_core::test_util::RedisServer;
use cache_tower::ResponseCacheLayer;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

static BODY: [u8; 1024] = [b'x'; 1024];

/// (mode, its reference): ratios are mode / reference in the same round.
const MODES: [(&str, &str); 7] = [
    ("bare", "bare"),
    ("bare-headers", "bare"),
    ("bare-clock", "bare"),
    ("memory-hit", "bare"),
    ("redis-hit", "bare"),
    ("bare-1ms", "bare-1ms"),
    ("miss-1ms", "bare-1ms"),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(&args[2], args.get(3).map(String::as_str)),
        Some("load") => load(
            args[2].parse().expect("addr"),
            args[3].parse().expect("seconds"),
            args[4].parse().expect("connections"),
        ),
        _ => drive(
            args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5),
            args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5),
            args.get(3).and_then(|a| a.parse().ok()).unwrap_or(64),
        ),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The server process: one mode, on Tokio's multi-threaded runtime with one worker, as axum
/// servers run. (A current-thread runtime makes the bare server a single-threaded process,
/// which glibc's allocator serves without atomics; any second thread, such as cache-core's
/// clock, then looks like a 5-10% cost of the cache. See `benches/README.md`.)
fn serve(mode: &str, redis: Option<&str>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let stored = || async {
            (
                [("cache-control", "max-age=3600")],
                Bytes::from_static(&BODY),
            )
        };
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            ([("cache-control", "no-store")], Bytes::from_static(&BODY))
        };
        let app = match mode {
            "bare" => Router::new().route("/data", get(stored)),
            "bare-headers" => Router::new().route(
                "/data",
                get(|| async {
                    (
                        [
                            ("cache-control", "max-age=3600"),
                            ("date", "Wed, 25 Nov 2026 22:57:59 GMT"),
                            ("age", "0"),
                            ("cache-status", "cache-tower; hit; ttl=3600"),
                        ],
                        Bytes::from_static(&BODY),
                    )
                }),
            ),
            "bare-clock" => {
                std::mem::forget(Cache::new(10));
                Router::new().route("/data", get(stored))
            }
            "memory-hit" => Router::new()
                .route("/data", get(stored))
                .layer(ResponseCacheLayer::new(Cache::new(10_000))),
            "redis-hit" => {
                let store = RedisStore::connect(redis.expect("redis url"))
                    .await
                    .expect("redis");
                let cache = Cache::builder()
                    .far(store)
                    .near(false)
                    .build()
                    .expect("cache");
                Router::new()
                    .route("/data", get(stored))
                    .layer(ResponseCacheLayer::new(cache))
            }
            "bare-1ms" => Router::new().route("/data", get(slow)),
            "miss-1ms" => Router::new()
                .route("/data", get(slow))
                .layer(ResponseCacheLayer::new(Cache::new(10_000))),
            other => panic!("unknown mode {other}"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("PORT {}", listener.local_addr().expect("addr").port());
        axum::serve(listener, app).await.expect("serve");
    });
}

/// The load process: `connections` keep-alive connections sending GETs for `seconds`.
fn load(addr: SocketAddr, seconds: f64, connections: usize) {
    runtime().block_on(async move {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                tokio::spawn(async move {
                    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                    stream.set_nodelay(true).expect("nodelay");
                    let (mut send, conn) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream))
                            .await
                            .expect("handshake");
                    tokio::spawn(conn);
                    let mut latencies = Vec::with_capacity(100_000);
                    while Instant::now() < deadline {
                        let req = Request::get("/data")
                            .header("host", "bench.local")
                            .body(Empty::<Bytes>::new())
                            .expect("request");
                        let start = Instant::now();
                        // The connection takes a request once it has finished the last one.
                        send.ready().await.expect("connection ready");
                        let response = send.send_request(req).await.expect("response");
                        let body = response
                            .into_body()
                            .collect()
                            .await
                            .expect("body")
                            .to_bytes();
                        assert_eq!(body.len(), BODY.len());
                        latencies.push(start.elapsed().as_micros() as u32);
                    }
                    latencies
                })
            })
            .collect();
        let started = Instant::now();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort_unstable();
        let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
        println!(
            "RESULT {} {} {}",
            all.len() as f64 / elapsed,
            pct(0.5),
            pct(0.99)
        );
    });
}

fn pinned(core: &str, args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("exe");
    let taskset = Command::new("taskset").arg("-V").output().is_ok();
    let mut cmd = if taskset {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(core).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args);
    cmd
}

fn start_server(mode: &str, redis: &str) -> (Child, SocketAddr) {
    let mut child = pinned("0", &["serve", mode, redis])
        .stdout(Stdio::piped())
        .spawn()
        .expect("server");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("port");
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .expect("PORT line")
        .parse()
        .expect("port");
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn run_load(addr: SocketAddr, seconds: f64, connections: usize) -> (f64, u32, u32) {
    let out = pinned(
        "1",
        &[
            "load",
            &addr.to_string(),
            &seconds.to_string(),
            &connections.to_string(),
        ],
    )
    .output()
    .expect("load");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .expect("RESULT line");
    let v: Vec<&str> = line.split(' ').collect();
    (
        v[1].parse().expect("rps"),
        v[2].parse().expect("p50"),
        v[3].parse().expect("p99"),
    )
}

fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("ordered"));
    v[v.len() / 2]
}

fn drive(rounds: usize, seconds: u64, connections: usize) {
    let (url, _redis) = RedisServer::url_or_start().expect("redis-server on PATH, or REDIS_URL");
    let mut results: Vec<Vec<(f64, u32, u32)>> = vec![Vec::new(); MODES.len()];
    for round in 0..rounds {
        for (i, (mode, _)) in MODES.iter().enumerate() {
            let (mut server, addr) = start_server(mode, &url);
            run_load(addr, 0.5, connections); // warm-up: connections, first miss, allocator
            let r = run_load(addr, seconds as f64, connections);
            let _ = server.kill();
            let _ = server.wait();
            eprintln!(
                "round {round} {mode:>10}: {:>9.0} req/s  p50 {:>5} us  p99 {:>5} us",
                r.0, r.1, r.2
            );
            results[i].push(r);
        }
    }
    println!("| mode | req/s (median) | p50 us | p99 us | ratio to reference (median of rounds) |");
    println!("|---|---|---|---|---|");
    for (i, (mode, reference)) in MODES.iter().enumerate() {
        let j = MODES
            .iter()
            .position(|(m, _)| m == reference)
            .expect("reference");
        let ratios: Vec<f64> = results[i]
            .iter()
            .zip(&results[j])
            .map(|(a, b)| a.0 / b.0)
            .collect();
        let rps = median(results[i].iter().map(|r| r.0).collect());
        let p50 = median(results[i].iter().map(|r| r.1).collect());
        let p99 = median(results[i].iter().map(|r| r.2).collect());
        println!(
            "| {mode} | {rps:.0} | {p50} | {p99} | {:.3}x {reference} |",
            median(ratios)
        );
    }
}
