-- Extends a held lease by its ttl, unless it has already lapsed (its holder
-- could not renew it in time and another request may have its slot).
--
-- KEYS[1]  the tenant's lease set: lease id -> expiry, in ms
-- ARGV[1]  the lease's id
-- ARGV[2]  lease ttl in ms
-- Returns 1 renewed, 0 lapsed.
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if not expiry then
  return 0
end
if expiry <= now_ms then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now_ms + ttl), ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
