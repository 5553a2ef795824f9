//! Runs sessions, OTP codes, rate limits, merchant caching, queues, clicks and leaderboards of a coupon platform, on the Redis given by `--redis URL` or `REDIS_URL`; the code is in
//! [`examples::coupon_platform`].
//!
//! `cargo run -p examples --example coupon_platform -- --redis redis://127.0.0.1:6379`

#[tokio::main]
async fn main() -> examples::Outcome {
    let url = examples::redis_url()?;
    examples::coupon_platform::run(&url, &mut examples::Narration::default()).await
}
