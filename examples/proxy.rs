//! A caching reverse proxy in front of any HTTP origin, on the in-memory store by default and on
//! Redis (memory in front of Redis) with `--redis`:
//!
//! ```text
//! cargo run --release -p examples --example proxy -- --listen 127.0.0.1:8080 --origin http://127.0.0.1:8000
//! cargo run --release -p examples --example proxy -- --listen 127.0.0.1:8080 --origin http://127.0.0.1:8000 --redis redis://127.0.0.1:6379
//! ```
//!
//! Every method, path, query, header and body is forwarded; responses carry `Cache-Status`.

use std::net::SocketAddr;

use examples::proxy::{Forward, cache_for, serve};

fn usage() -> ! {
    eprintln!("usage: proxy --listen ADDR:PORT --origin http://HOST:PORT [--redis redis://...]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut listen: Option<SocketAddr> = None;
    let mut origin: Option<http::Uri> = None;
    let mut redis: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => listen = Some(value.parse().unwrap_or_else(|_| usage())),
            "--origin" => origin = Some(value.parse().unwrap_or_else(|_| usage())),
            "--redis" => redis = Some(value),
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
    eprintln!("caching proxy on http://{listen} -> {origin}");
    serve(listener, forward, cache).await;
}
