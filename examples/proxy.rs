//! A caching reverse proxy in front of any HTTP origin, on the in-memory store by default and on
//! Redis (memory in front of Redis) with `--redis`:
//!
//! ```text
//! cargo run --release -p examples --example proxy -- --listen 127.0.0.1:8080 --origin http://127.0.0.1:8000
//! cargo run --release -p examples --example proxy -- --listen 127.0.0.1:8080 --origin http://127.0.0.1:8000 --redis redis://127.0.0.1:6379
//! ```
//!
//! `--memory MIB` bounds the process memory stored responses take (64 MiB by default);
//! `--stats SECONDS` prints what the in-process tier holds that often.
//!
//! Every method, path, query, header and body is forwarded; responses carry `Cache-Status`.

use std::net::SocketAddr;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use examples::proxy::{Forward, cache_for, cached, serve};

fn usage() -> ! {
    eprintln!(
        "usage: proxy --listen ADDR:PORT --origin http://HOST:PORT [--redis redis://...] [--memory MIB] [--stats SECONDS]"
    );
    std::process::exit(2)
}

/// What the allocator holds, where it can tell.
#[cfg(feature = "jemalloc")]
fn allocator_stats() -> String {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    let mib = |n: Result<usize, tikv_jemalloc_ctl::Error>| n.unwrap_or(0) >> 20;
    format!(
        "; allocator: {} MiB allocated, {} MiB resident, {} MiB retained",
        mib(stats::allocated::read()),
        mib(stats::resident::read()),
        mib(stats::retained::read())
    )
}

#[cfg(not(feature = "jemalloc"))]
fn allocator_stats() -> String {
    String::new()
}

#[tokio::main]
async fn main() {
    let mut listen: Option<SocketAddr> = None;
    let mut origin: Option<http::Uri> = None;
    let mut redis: Option<String> = None;
    let mut memory: Option<u64> = None;
    let mut stats: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => listen = Some(value.parse().unwrap_or_else(|_| usage())),
            "--origin" => origin = Some(value.parse().unwrap_or_else(|_| usage())),
            "--redis" => redis = Some(value),
            "--memory" => memory = Some(value.parse().unwrap_or_else(|_| usage())),
            "--stats" => stats = Some(value.parse().unwrap_or_else(|_| usage())),
            _ => usage(),
        }
    }
    let (Some(listen), Some(origin)) = (listen, origin) else {
        usage()
    };
    let forward = Forward::new(&origin).unwrap_or_else(|e| {
        eprintln!("bad --origin: {e}");
        std::process::exit(2)
    });
    let cache = match cache_for(redis.as_deref()).await {
        Ok(cache) => cache,
        Err(e) => {
            eprintln!("cannot use the cache: {e}");
            std::process::exit(1)
        }
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1)
        });
    if let Some(every) = stats {
        let cache = cache.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(every)).await;
                eprintln!(
                    "in process: {} entries, {} bytes; far-tier errors {}{}",
                    cache.entry_count(),
                    cache.weighted_size(),
                    cache.stats().total().store_errors,
                    allocator_stats()
                );
            }
        });
    }
    let mut service = cached(forward, cache);
    if let Some(mib) = memory {
        service = service.max_memory(mib << 20);
    }
    eprintln!("caching proxy on http://{listen} -> {origin}");
    serve(listener, service).await;
}
