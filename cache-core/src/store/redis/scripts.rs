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

/// Compare-and-delete: releases a lease only for the token that holds it. KEYS[1] lease;
/// ARGV[1] token.
pub(super) const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";
