//! Runs verification results handed over a Redis stream to a consumer group, with dead letters and invalidations, on the Redis given by `--redis URL` or `REDIS_URL`; the code is in
//! [`examples::verification_stream`].
//!
//! `cargo run -p examples --example verification_stream -- --redis redis://127.0.0.1:6379`

#[tokio::main]
async fn main() -> examples::Outcome {
    let url = examples::redis_url()?;
    examples::verification_stream::run(&url, &mut examples::Narration::default()).await
}
