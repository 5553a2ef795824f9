//! Runs identity-verification states in Redis hashes shared field by field with a Python service, on the Redis given by `--redis URL` or `REDIS_URL`; the code is in
//! [`examples::verification_states`].
//!
//! `cargo run -p examples --example verification_states -- --redis redis://127.0.0.1:6379`

#[tokio::main]
async fn main() -> examples::Outcome {
    let url = examples::redis_url()?;
    examples::verification_states::run(&url, &mut examples::Narration::default()).await
}
