//! Runs cache-aside, write-through, invalidation, batch reads, warming and fleet hit rates of a video platform, on the Redis given by `--redis URL` or `REDIS_URL`; the code is in
//! [`examples::video_platform`].
//!
//! `cargo run -p examples --example video_platform -- --redis redis://127.0.0.1:6379`

#[tokio::main]
async fn main() -> examples::Outcome {
    let url = examples::redis_url()?;
    examples::video_platform::run(&url, &mut examples::Narration::default()).await
}
