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
