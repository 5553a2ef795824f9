//! What a Redis Cluster changes for a [`RedisStore`](super::RedisStore): seed nodes from a
//! `redis+cluster://` URL, batches cut per hash slot, and key walks over every master.
//!
//! redis-rs's cluster client routes a single command by its key and splits `MGET`, `UNLINK`
//! and `EXISTS` by slot itself, but it refuses a pipeline whose keys are in several slots, so
//! batches are cut into one pipeline per slot here, sent together (those of one master share
//! its connection, which writes them out together), and their replies put back in the
//! caller's order. `SCAN` walks one node's keys only, so a walk visits each master in turn.

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{RedisError, Value};

/// How many pipelines of one batch are under way at once. redis-rs 1.8's cluster connection
/// stalls when too many requests meet `MOVED` at the same time (seen here after moving 2000
/// slots: 300 requests at once, and 128, all timed out, and every request after them until
/// the connection was replaced; 64 at once never did), so a batch keeps well under that.
pub(super) const PIPELINES_IN_FLIGHT: usize = 32;

/// The number of hash slots of a Redis Cluster.
const SLOTS: usize = 16384;

/// The hash slot of `key`: CRC16 of its hash tag (the text between the first `{` and the next
/// `}`, when not empty) or of the whole key, modulo 16384, as Redis computes it.
pub(super) fn slot_of(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.iter()
                .position(|&b| b == b'}')
                .map(|close| &rest[..close])
        })
        .filter(|tag| !tag.is_empty())
        .unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS as u16
}

/// The schemes of a cluster URL, and the single-node scheme each stands for.
const CLUSTER_SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

/// The seed nodes of a cluster URL, each as a single-node URL with the credentials and the
/// query of the cluster URL; `None` when `url` is not a cluster URL.
///
/// `redis+cluster://[user:password@]host:port[,host:port...][/db][?query]` (or
/// `rediss+cluster://` for TLS) names the seeds; the client finds the other nodes from them.
pub(crate) fn seed_urls(url: &str) -> Option<Result<Vec<String>, String>> {
    let (scheme, rest) = CLUSTER_SCHEMES
        .iter()
        .find_map(|(cluster, node)| url.strip_prefix(cluster).map(|rest| (*node, rest)))?;
    let (credentials, rest) = match rest.rfind('@') {
        Some(at) => (&rest[..=at], &rest[at + 1..]),
        None => ("", rest),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (hosts, tail) = rest.split_at(end);
    let seeds: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("{scheme}{credentials}{host}{tail}"))
        .collect();
    Some(if seeds.is_empty() {
        Err("a cluster URL names no node".to_owned())
    } else {
        Ok(seeds)
    })
}

/// Whether every key of `keys` hashes to one slot (so that one script or transaction may
/// touch them all on a cluster).
pub(super) fn same_slot<'a>(mut keys: impl Iterator<Item = &'a [u8]>) -> bool {
    let Some(first) = keys.next().map(slot_of) else {
        return true;
    };
    keys.all(|key| slot_of(key) == first)
}

/// `positions` grouped by `group_of` each position: each group in the order given, the groups
/// in the order of their first position; with the group's value.
pub(super) fn grouped(
    positions: impl Iterator<Item = usize>,
    mut group_of: impl FnMut(usize) -> u16,
) -> Vec<(u16, Vec<usize>)> {
    let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
    for position in positions {
        let value = group_of(position);
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, group)) => group.push(position),
            None => groups.push((value, vec![position])),
        }
    }
    groups
}

/// The low bits of a walk's cursor hold the current master's own `SCAN` cursor; the bits
/// above, which master of the slot-ordered list the walk is on.
const NODE_CURSOR_BITS: u32 = 48;
const NODE_CURSOR_MASK: u64 = (1 << NODE_CURSOR_BITS) - 1;

/// One step of a walk over the keys of every master matching `pattern`: `SCAN` on the master
/// the cursor names, moving to the next master when that one's walk ends. The cursor of the
/// last step of the last master is 0, as for one server.
///
/// Masters are ordered by the lowest slot they serve, so a cursor names the same shard from
/// step to step; a failover or a resharding during a walk may make it miss or repeat keys, as
/// a single server's `SCAN` may during a rehash.
pub(super) async fn scan_step(
    conn: &mut ClusterConnection,
    pattern: &str,
    cursor: u64,
    count: usize,
) -> Result<(u64, Vec<String>), RedisError> {
    let masters = master_routes(conn).await?;
    let shard = usize::try_from(cursor >> NODE_CURSOR_BITS).unwrap_or(usize::MAX);
    let Some(route) = masters.get(shard) else {
        // The cluster has fewer masters than when the walk began: nothing is left to visit.
        return Ok((0, Vec::new()));
    };
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor & NODE_CURSOR_MASK)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(count);
    let reply = conn
        .route_command(
            cmd,
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(*route)),
        )
        .await?;
    let (next, keys): (u64, Vec<String>) = redis::from_redis_value(reply)?;
    if next > NODE_CURSOR_MASK {
        return Err(unexpected(format!(
            "a cluster node's SCAN cursor {next} is wider than 48 bits"
        )));
    }
    let next = if next != 0 {
        ((shard as u64) << NODE_CURSOR_BITS) | next
    } else if shard + 1 < masters.len() {
        ((shard + 1) as u64) << NODE_CURSOR_BITS
    } else {
        0
    };
    Ok((next, keys))
}

/// An error for a reply that is not what the command answers.
fn unexpected(detail: String) -> RedisError {
    RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply",
        detail,
    ))
}

/// A route to each master, by the lowest slot it serves, in slot order (`CLUSTER SLOTS`).
async fn master_routes(conn: &mut ClusterConnection) -> Result<Vec<Route>, RedisError> {
    let reply: Vec<Vec<Value>> = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
    let malformed = || unexpected("CLUSTER SLOTS".to_owned());
    // The lowest slot of each master, by its address.
    let mut masters: Vec<((String, u16), u16)> = Vec::new();
    for range in reply {
        let [start, _end, master, ..] = range.as_slice() else {
            return Err(malformed());
        };
        let start: u16 = redis::from_redis_value_ref(start)?;
        let node: Vec<Value> = redis::from_redis_value_ref(master)?;
        let [host, port, ..] = node.as_slice() else {
            return Err(malformed());
        };
        let address = (
            redis::from_redis_value_ref::<String>(host)?,
            redis::from_redis_value_ref::<u16>(port)?,
        );
        match masters.iter_mut().find(|(known, _)| *known == address) {
            Some((_, lowest)) => *lowest = (*lowest).min(start),
            None => masters.push((address, start)),
        }
    }
    let mut lowest: Vec<u16> = masters.into_iter().map(|(_, lowest)| lowest).collect();
    lowest.sort_unstable();
    Ok(lowest
        .into_iter()
        .map(|slot| Route::new(slot, SlotAddr::Master))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{grouped, same_slot, seed_urls, slot_of};

    #[test]
    fn a_cluster_url_names_each_seed_with_the_shared_parts() {
        assert_eq!(
            seed_urls("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001/0?protocol=2"),
            Some(Ok(vec![
                "redis://:pw@10.0.0.1:7000/0?protocol=2".to_owned(),
                "redis://:pw@10.0.0.2:7001/0?protocol=2".to_owned(),
            ]))
        );
        assert_eq!(
            seed_urls("rediss+cluster://h1:1,h2:2"),
            Some(Ok(vec![
                "rediss://h1:1".to_owned(),
                "rediss://h2:2".to_owned()
            ]))
        );
        // A password may hold '@' and ','; the hosts start after the last '@'.
        assert_eq!(
            seed_urls("redis+cluster://u:a@b,c@h:1"),
            Some(Ok(vec!["redis://u:a@b,c@h:1".to_owned()]))
        );
        assert_eq!(
            seed_urls("redis+cluster:///0"),
            Some(Err("a cluster URL names no node".to_owned()))
        );
        assert_eq!(seed_urls("redis://h:1"), None);
    }

    #[test]
    fn slots_are_computed_as_redis_computes_them() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot_of(b"123456789"), 12739);
        assert_eq!(slot_of(b"foo"), 12182);
        // A hash tag decides the slot; an empty one does not count.
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
        assert_eq!(slot_of(b"foo{}{bar}"), slot_of(b"foo{}{bar}".as_slice()));
        assert_ne!(slot_of(b"foo{}{bar}"), slot_of(b"bar"));
        assert_eq!(slot_of(b"foo{{bar}}zap"), slot_of(b"{bar"));
    }

    #[test]
    fn positions_group_in_their_order() {
        let keys = ["{user:1}:a", "b", "{user:1}:c", "b"];
        let groups = grouped(0..keys.len(), |i| slot_of(keys[i].as_bytes()));
        let positions: Vec<Vec<usize>> = groups.into_iter().map(|(_, g)| g).collect();
        assert_eq!(positions, vec![vec![0, 2], vec![1, 3]]);
        assert!(same_slot(["{t}x", "{t}y"].iter().map(|k| k.as_bytes())));
        assert!(!same_slot(["x", "y"].iter().map(|k| k.as_bytes())));
    }
}
