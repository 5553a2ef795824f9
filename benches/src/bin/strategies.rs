//! Cache strategies compared on one workload: no cache, cache-aside by hand, read-through with
//! single-flight (`get_with`), write-through (`#[cache_put]`) and refresh-ahead
//! (`get_with_refresh`), on the memory tier, the Redis tier and memory in front of Redis.
//!
//! Workload: 64 concurrent clients, keys drawn from Zipf(1.0) over 100 000 keys, 5% writes; an
//! origin that takes 1 ms per call; entries live 2 s (refresh-ahead reloads after 1 s); the
//! in-process tier holds 10 000 entries. Per strategy and tier: throughput, hit ratio, origin
//! calls per 1000 requests, p50 and p99 latency, the median of the rounds. Then the stampede:
//! 1000 concurrent requests for one expired hot key, and how many origin calls each strategy
//! makes. Writes `benches/strategies.md` (the table) and `benches/strategies.svg` (the chart).
//!
//! `cargo run --release -p benches --bin strategies -- [rounds] [seconds]`

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use benches::strategy::{
    CLIENTS, KEYS, Origin, STRATEGIES, Strategy, TIERS, Tier, WRITE_PERCENT, Zipf,
};
use cache_core::test_util::RedisServer;

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    throughput: f64,
    hit_ratio: f64,
    origin_per_1000: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn run(strategy: Strategy, tier: Tier, url: &str, zipf: &Arc<Zipf>, seconds: f64) -> Figures {
    flush(url).await;
    let cache = tier.cache(url).await;
    let origin = Arc::new(Origin::default());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (cache, origin, zipf) = (cache.clone(), origin.clone(), zipf.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(client as u64 * 7919 + 1);
                let mut latencies = Vec::new();
                let mut reads = 0u64;
                while Instant::now() < deadline {
                    let id = zipf.sample(&mut rng);
                    let start = Instant::now();
                    if rng.u64(0..100) < WRITE_PERCENT {
                        strategy.write(&cache, &origin, id).await;
                    } else {
                        strategy.read(&cache, &origin, id).await;
                        reads += 1;
                    }
                    latencies.push(start.elapsed().as_micros() as u64);
                }
                (latencies, reads)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut reads = 0;
    for t in tasks {
        let (l, r) = t.await.expect("client");
        latencies.extend(l);
        reads += r;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let requests = latencies.len() as f64;
    let origin_reads = origin.reads.load(Ordering::Relaxed) as f64;
    let origin_calls = origin_reads + origin.writes.load(Ordering::Relaxed) as f64;
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Figures {
        throughput: requests / elapsed,
        hit_ratio: (1.0 - origin_reads / reads.max(1) as f64).max(0.0),
        origin_per_1000: origin_calls * 1000.0 / requests,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
    }
}

/// 1000 concurrent reads of one key that has just expired: how many reach the origin.
async fn stampede(strategy: Strategy, tier: Tier, url: &str) -> u64 {
    flush(url).await;
    let cache = tier.cache(url).await;
    let origin = Arc::new(Origin::default());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (cache, origin) = (cache.clone(), origin.clone());
            tokio::spawn(async move { strategy.read(&cache, &origin, 42).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("reader");
    }
    origin.reads.load(Ordering::Relaxed)
}

async fn flush(url: &str) {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut conn)
        .await
        .expect("flush");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let seconds: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // A private server: the benchmark flushes it between runs.
    let server = RedisServer::start().expect("redis-server on PATH");
    let url = server.url();
    let zipf = Arc::new(Zipf::new(KEYS));
    let mut rows = Vec::new();
    rt.block_on(async {
        for tier in TIERS {
            for strategy in STRATEGIES {
                let mut all = Vec::new();
                for _ in 0..rounds {
                    all.push(run(strategy, tier, &url, &zipf, seconds).await);
                }
                let m = |f: fn(&Figures) -> f64| median(all.iter().map(f).collect());
                let figures = Figures {
                    throughput: m(|f| f.throughput),
                    hit_ratio: m(|f| f.hit_ratio),
                    origin_per_1000: m(|f| f.origin_per_1000),
                    p50_us: m(|f| f.p50_us as f64) as u64,
                    p99_us: m(|f| f.p99_us as f64) as u64,
                };
                eprintln!("{:>13} {:>30}: {figures:?}", tier.name(), strategy.name());
                rows.push((tier, strategy, figures));
            }
        }
        let mut table = String::from(
            "| tier | strategy | req/s | vs no cache | hit ratio | origin calls / 1000 req | p50 | p99 |\n|---|---|---|---|---|---|---|---|\n",
        );
        for (tier, strategy, f) in &rows {
            let base = rows
                .iter()
                .find(|(t, s, _)| t == tier && *s == Strategy::NoCache)
                .map_or(1.0, |(_, _, b)| b.throughput);
            table.push_str(&format!(
                "| {} | {} | {:.0} | {:.2}x | {:.3} | {:.0} | {} µs | {} µs |\n",
                tier.name(),
                strategy.name(),
                f.throughput,
                f.throughput / base,
                f.hit_ratio,
                f.origin_per_1000,
                f.p50_us,
                f.p99_us,
            ));
        }
        table.push_str("\nStampede: 1000 concurrent reads of one expired key, origin calls.\n\n| strategy | memory | redis | memory+redis |\n|---|---|---|---|\n");
        for strategy in STRATEGIES {
            let mut cells = Vec::new();
            for tier in TIERS {
                cells.push(stampede(strategy, tier, &url).await.to_string());
            }
            table.push_str(&format!("| {} | {} |\n", strategy.name(), cells.join(" | ")));
        }
        println!("{table}");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::write(dir.join("strategies.md"), &table).expect("write table");
        chart(&dir.join("strategies.svg"), &rows);
    });
}

/// A grouped bar chart: throughput per strategy, one bar per tier.
fn chart(path: &std::path::Path, rows: &[(Tier, Strategy, Figures)]) {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).expect("fill");
    let top = rows.iter().map(|r| r.2.throughput).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Requests per second by strategy (64 clients, Zipf 1.0, 1 ms origin)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(STRATEGIES.len() as f64), 0f64..top)
        .expect("chart");
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(STRATEGIES.len())
        .x_label_formatter(&|x| {
            STRATEGIES.get(*x as usize).map_or(String::new(), |s| {
                s.name().split(' ').next().unwrap_or("").to_owned()
            })
        })
        .y_desc("requests / s")
        .draw()
        .expect("mesh");
    let colors = [
        RGBColor(66, 133, 244),
        RGBColor(219, 68, 55),
        RGBColor(15, 157, 88),
    ];
    for (t, tier) in TIERS.iter().enumerate() {
        let color = colors[t];
        let bars = rows
            .iter()
            .filter(|r| r.0 == *tier)
            .map(|(_, strategy, f)| {
                let s = STRATEGIES.iter().position(|x| x == strategy).unwrap_or(0) as f64;
                let x0 = s + 0.1 + t as f64 * 0.27;
                Rectangle::new([(x0, 0.0), (x0 + 0.25, f.throughput)], color.filled())
            });
        chart
            .draw_series(bars)
            .expect("bars")
            .label(tier.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .expect("legend");
    root.present().expect("write chart");
}
