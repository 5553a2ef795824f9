//! Runs an API backend's token and captcha keys with their TTLs, prefix listing and prefix deletes, on the Redis given by `--redis URL` or `REDIS_URL`; the code is in
//! [`examples::token_store`].
//!
//! `cargo run -p examples --example token_store -- --redis redis://127.0.0.1:6379`

#[tokio::main]
async fn main() -> examples::Outcome {
    let url = examples::redis_url()?;
    examples::token_store::run(&url, &mut examples::Narration::default()).await
}
