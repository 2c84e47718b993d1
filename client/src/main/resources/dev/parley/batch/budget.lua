-- A batch budget shared through Redis: the request and token buckets of dev.parley.batch.Bucket, line for
-- line (continuous refill, one burst's capacity, half full when new, a cost above the capacity let through
-- from a full bucket into debt), and the pause after a 429. Redis runs each call atomically, so every
-- process sharing the keys spends one budget. Time is Redis's own clock, the one clock all machines share.
-- (Writing after reading TIME needs Redis 5 or newer, which replicates a script by its effects.)
-- KEYS: the request bucket and the token bucket (hashes: l = level, t = time in microseconds), the pause
--       (a string: microseconds until which every request waits).
-- ARGV: op (acquire | observe | pause | settle), requests per minute, tokens per minute (0 = unlimited),
--       burst (microseconds), tokens to give back first (an estimate minus its usage, settled late while
--       Redis was away; negative charges), then per op:
--         acquire: tokens;  observe: remaining requests, remaining tokens (-1 = not said), latency (us);
--         pause: microseconds;  settle: nothing more.
-- Returns {taken, wait}: acquire answers {1, 0} when it took its request and tokens, else {0, the microseconds
-- until they may fit} and takes nothing; other ops answer {1, 0}.
local op = ARGV[1]
local limit = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local burst = tonumber(ARGV[4])
local give_back = tonumber(ARGV[5])
local minute = 60000000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local level, capacity = {}, {}

for i = 1, 2 do
  if limit[i] > 0 then
    capacity[i] = math.max(limit[i] * burst / minute, 1e-9)
    local s = redis.call('HMGET', KEYS[i], 'l', 't')
    local l, t = tonumber(s[1]), tonumber(s[2])
    if l == nil or t == nil then l = capacity[i] / 2; t = now end
    level[i] = math.min(capacity[i], l + math.max(0, now - t) * limit[i] / minute)
  end
end

local function until_level(i, wanted)
  if limit[i] == 0 or level[i] >= wanted then return 0 end
  return math.ceil((wanted - level[i]) * minute / limit[i])
end

local function save()
  for i = 1, 2 do
    if limit[i] > 0 then
      redis.call('HSET', KEYS[i], 'l', string.format('%.17g', level[i]), 't', string.format('%.17g', now))
      -- An idle bucket is full again after this long; then it may as well not exist.
      redis.call('PEXPIRE', KEYS[i], math.ceil(until_level(i, capacity[i]) / 1000) + 1000)
    end
  end
end

if limit[2] > 0 then level[2] = math.min(capacity[2], level[2] + give_back) end

if op == 'acquire' then
  local n = tonumber(ARGV[6])
  local wait = math.max(0, (tonumber(redis.call('GET', KEYS[3])) or 0) - now)
  if limit[1] > 0 then wait = math.max(wait, until_level(1, math.min(1, capacity[1]))) end
  if limit[2] > 0 then wait = math.max(wait, until_level(2, math.min(n, capacity[2]))) end
  if wait > 0 then
    save()
    return {0, math.ceil(wait)}
  end
  if limit[1] > 0 then level[1] = level[1] - 1 end
  if limit[2] > 0 then level[2] = level[2] - n end
elseif op == 'observe' then
  local remaining = {tonumber(ARGV[6]), tonumber(ARGV[7])}
  local latency = tonumber(ARGV[8])
  for i = 1, 2 do
    -- The server counted what is left at some moment while the request was out; since then at most the
    -- latency's refill came back.
    if limit[i] > 0 and remaining[i] >= 0 then
      level[i] = math.min(level[i], remaining[i] + limit[i] * latency / minute)
    end
  end
elseif op == 'pause' then
  local wanted = now + math.ceil(tonumber(ARGV[6]))
  if wanted > (tonumber(redis.call('GET', KEYS[3])) or 0) then
    redis.call('SET', KEYS[3], string.format('%.17g', wanted), 'PX', math.ceil(tonumber(ARGV[6]) / 1000) + 1)
  end
end
save()
return {1, 0}
