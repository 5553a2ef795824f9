//! The Lua scripts the Redis store runs: each is one atomic step on the server.

/// `INCRBY` that sets the TTL in the same step when the counter has none (it was just created,
/// or an older writer left it without one). KEYS[1] counter; ARGV[1] increment; ARGV[2] TTL in
/// milliseconds, or 0 for none.
pub(super) const INCREMENT: &str = r"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return value
";

/// Any write command on KEYS[1] that may create it, then its TTL when it has none, in one step:
/// a structure is never left without the expiry its key type declares. ARGV[1] TTL in
/// milliseconds, or 0 for none; ARGV[2] the command; ARGV[3..] its arguments after the key.
pub(super) const WITH_TTL: &str = r"
local reply = redis.call(ARGV[2], KEYS[1], unpack(ARGV, 3))
local ttl = tonumber(ARGV[1])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return reply
";

/// `HSET` of some fields of an existing hash only, so that a partial value is never created.
/// KEYS[1] hash; ARGV field, value, field, value...
pub(super) const HSET_EXISTING: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
  return 1
end
return 0
";

/// Compare-and-delete: releases a lease only for the token that holds it. KEYS[1] lease;
/// ARGV[1] token.
pub(super) const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The Lua that records `member`, written with TTL `ttl` (milliseconds, 0 for none), in the
/// tag indexes KEYS[first..]: a sorted set of keys scored by their expiry (Unix milliseconds,
/// `+inf` for none). Expired members are pruned on every write, and the index itself expires
/// with its last member, so an index never outgrows its live keys.
macro_rules! index_tags {
    () => {
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = first, #KEYS do
  local score = '+inf'
  if ttl > 0 then score = now + ttl end
  redis.call('ZADD', KEYS[i], score, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. now)
  local top = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if top[2] == 'inf' then
    redis.call('PERSIST', KEYS[i])
  else
    redis.call('PEXPIREAT', KEYS[i], math.floor(tonumber(top[2])))
  end
end
return 1
"
    };
}

/// `SET` with a TTL, recorded in each tag's index (see `index_tags!`). KEYS[1] key, KEYS[2..]
/// tag indexes; ARGV[1] value; ARGV[2] TTL in milliseconds, 0 for none.
pub(super) const SET_TAGGED: &str = concat!(
    r"
local member, first = KEYS[1], 2
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
",
    index_tags!()
);

/// A hash replacing whatever is under the key, with a TTL, recorded in each tag's index (see
/// `index_tags!`). KEYS[1] key, KEYS[2..] tag indexes; ARGV[1] TTL in milliseconds, 0 for
/// none; ARGV[2..] field, value, field, value...
pub(super) const SET_HASH_TAGGED: &str = concat!(
    r"
local member, first = KEYS[1], 2
local ttl = tonumber(ARGV[1])
redis.call('DEL', KEYS[1])
if #ARGV > 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
",
    index_tags!()
);

/// Records a key written elsewhere (in another slot of a cluster) in the tag indexes KEYS
/// (see `index_tags!`). ARGV[1] the key; ARGV[2] its TTL in milliseconds, 0 for none.
pub(super) const INDEX_KEY: &str = concat!(
    r"
local member, first = ARGV[1], 1
local ttl = tonumber(ARGV[2])
",
    index_tags!()
);

/// Drops the members of a tag index whose entries have expired (scores are expiry times on the
/// server's clock), and returns how many are left. KEYS[1] the index.
pub(super) const PRUNE_TAG: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
return redis.call('ZCARD', KEYS[1])
";

/// A count in the current fixed window, the window told by the server's clock. The key holds a
/// hash: `w`, the window's number, and `n`, its count; a count of an earlier window is dropped,
/// and the key expires when the window ends. KEYS[1] the key; ARGV[1] the window (ms);
/// ARGV[2] the increment. Returns {count, milliseconds until the window ends}.
pub(super) const COUNT_IN_WINDOW: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local index = math.floor(now / window)
local ends = (index + 1) * window
if tonumber(redis.call('HGET', KEYS[1], 'w')) ~= index then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'w', index)
end
local count = redis.call('HINCRBY', KEYS[1], 'n', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ends)
return {count, ends - now}
";

/// One request against a GCRA limit (`crate::throttle`), on the server's clock. KEYS[1] the
/// key holding the theoretical arrival time (ms); ARGV[1] interval (ms); ARGV[2] burst
/// tolerance (ms). Returns {allowed, remaining, retry_after_ms, reset_after_ms}.
pub(super) const THROTTLE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
if tat - now > tolerance then
  return {0, 0, tat - now - tolerance, tat - now}
end
local nxt = tat + interval
redis.call('SET', KEYS[1], nxt, 'PX', nxt - now)
return {1, math.floor((tolerance - (nxt - now - interval)) / interval), 0, nxt - now}
";
