//! Helpers shared by the Redis test files.

/// The keepalive timer (`/proc/net/tcp`'s `timer` field: `02` armed, `00` none) of each of this
/// machine's established loopback connections to `port`.
#[cfg(target_os = "linux")]
pub(crate) fn timers_of_connections_to(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let remote = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl, local, remote, state, tx:rx queues, timer:when, ...
            (fields.get(2) == Some(&remote.as_str()) && fields.get(3) == Some(&"01"))
                .then(|| fields[5].split(':').next().unwrap_or("").to_owned())
        })
        .collect()
}

/// Connects to the TLS Redis (server or cluster) at `url` without trusting its private CA, and
/// checks that the certificate is refused: nothing is sent in the clear.
#[cfg(feature = "tls")]
pub(crate) async fn assert_untrusted_certificate_refused(url: &str) {
    use cache_core::ErrorKind;
    use cache_core::store::redis::{RedisOptions, RedisStore};
    let untrusted = RedisStore::connect_with(url, RedisOptions::default().reconnect_retries(0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            untrusted.kind(),
            ErrorKind::Connection | ErrorKind::Protocol | ErrorKind::Config
        ),
        "{untrusted}"
    );
}
