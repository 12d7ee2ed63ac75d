-- Admits one request of a tenant, atomically: a concurrency lease, then one
-- unit of its rate (GCRA). Times come from the Redis server's clock, so the
-- replicas' clocks do not matter.
--
-- KEYS[1]  the tenant's rate key: its theoretical arrival time (TAT), in us
-- KEYS[2]  the tenant's lease set: lease id -> expiry, in ms
-- ARGV[1]  emission interval in us (60e6 / requests_per_minute); 0: no rate limit
-- ARGV[2]  burst: requests admitted at once (requests_per_minute)
-- ARGV[3]  max concurrent requests; 0: no concurrency limit
-- ARGV[4]  the new lease's id
-- ARGV[5]  lease ttl in ms
-- Returns {0, 0} admitted, {1, us to wait} rate limited, {2, 0} too many
-- concurrent (checked first, so such a refusal spends no rate).
local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now_ms = math.floor(now_us / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_leases = tonumber(ARGV[3])
local ttl = tonumber(ARGV[5])

if max_leases > 0 then
  -- Leases whose holder stopped renewing them (a crashed replica) lapse here.
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
  if redis.call('ZCARD', KEYS[2]) >= max_leases then
    return {2, 0}
  end
end

if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1])) or now_us
  if tat < now_us then
    tat = now_us
  end
  local new_tat = tat + interval
  local allowed_at = new_tat - interval * burst
  if allowed_at > now_us then
    return {1, math.ceil(allowed_at - now_us)}
  end
  -- %.0f: Lua's default number format would round 16 digits to 14.
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
    'PX', string.format('%.0f', math.ceil((new_tat - now_us) / 1000) + 1000))
end

if max_leases > 0 then
  redis.call('ZADD', KEYS[2], string.format('%.0f', now_ms + ttl), ARGV[4])
  -- The set lives as long as its longest lease.
  if redis.call('PTTL', KEYS[2]) < ttl then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
return {0, 0}
