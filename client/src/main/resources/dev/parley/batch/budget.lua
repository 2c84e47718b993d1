-- A batch budget shared through Redis: the request and token buckets of dev.parley.batch.Bucket, line for
-- line (continuous refill that never adds above one burst's capacity, half full when new, a cost above the
-- capacity let through from a full bucket into debt, a level lifted above the capacity by following the
-- server up), and the pause after a 429. Redis runs each call atomically, so every process sharing the keys
-- spends one budget. Time is Redis's own clock, the one clock all machines share, unless the caller gives
-- one (tests step time by hand). (Writing after reading TIME needs Redis 5 or newer, which replicates a
-- script by its effects.)
--
-- Following the server up: how far and when to lift is Bucket.lift, decided in Java from what 'observe'
-- answers; 'lift' applies it, only if no other process lifted since (the lifted time is unchanged). This
-- script only keeps the state: per bucket the next step (s1, s2; 0 once a 429 ended following; absent: one
-- burst) and when the last lift happened (f1, f2; absent: never), in the follow hash.
--
-- KEYS: the request bucket and the token bucket (hashes: l = level, t = time in microseconds, r = the lowest
--       limit a caller gave), the pause (a string: microseconds until which every request waits), the
--       follow hash.
-- ARGV: op (acquire | observe | lift | pause | settle), requests per minute, tokens per minute (0 =
--       unlimited), burst (microseconds), tokens to give back first (an estimate minus its usage, settled
--       late while Redis was away; negative charges), now (microseconds; empty: Redis's TIME), then per op:
--         acquire: tokens;  observe: remaining requests, remaining tokens (-1 = not said), latency (us);
--         lift: per bucket the lift, the lifted time it was decided on (empty: never), the next step;
--         pause: microseconds;  settle: nothing more.
-- Returns {taken, wait}: acquire answers {1, 0} when it took its request and tokens, else {0, the microseconds
-- until they may fit} and takes nothing; observe answers {1, 0, now, then per bucket level, capacity, step,
-- lifted} as strings (empty: none); lift answers {1, 0, then per bucket 1 if lifted}; the others {1, 0}.
local op = ARGV[1]
local limit = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local burst = tonumber(ARGV[4])
local give_back = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local minute = 60000000
local follow = KEYS[4]
if now == nil then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local function text(x)
  return string.format('%.17g', x)
end

local level, capacity, fresh, lowest = {}, {}, {}, {}

for i = 1, 2 do
  if limit[i] > 0 then
    capacity[i] = math.max(limit[i] * burst / minute, 1e-9)
    local s = redis.call('HMGET', KEYS[i], 'l', 't', 'r')
    local l, t, r = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
    fresh[i] = l == nil or t == nil
    if fresh[i] then l = capacity[i] / 2; t = now end
    -- The refill never adds above the capacity; a level lifted above it stays until spent.
    if l < capacity[i] then l = math.min(capacity[i], l + math.max(0, now - t) * limit[i] / minute) end
    lowest[i] = limit[i]
    if r ~= nil and r <= limit[i] then lowest[i] = r end
    -- A limit lowered (a server said so): the level and the step are cut to the new capacity, as lowerLimit.
    if r ~= nil and limit[i] < r then
      l = math.min(l, capacity[i])
      local step = tonumber(redis.call('HGET', follow, 's' .. i))
      if step ~= nil and step > capacity[i] then redis.call('HSET', follow, 's' .. i, text(capacity[i])) end
    end
    level[i] = l
  end
end

local function until_level(i, wanted)
  if limit[i] == 0 or level[i] >= wanted then return 0 end
  return math.ceil((wanted - level[i]) * minute / limit[i])
end

local function save()
  for i = 1, 2 do
    if limit[i] > 0 then
      redis.call('HSET', KEYS[i], 'l', text(level[i]), 't', text(now), 'r', text(lowest[i]))
      -- An idle bucket is full again after this long; then it may as well not exist. A lifted one is kept a
      -- minute, long enough for slow answers, not so long that what a server said is left has gone stale.
      local idle = level[i] > capacity[i] and 60000 or math.ceil(until_level(i, capacity[i]) / 1000) + 1000
      redis.call('PEXPIRE', KEYS[i], idle)
    end
  end
end

-- Following is remembered an hour after its last change: long enough that a 429 ends it for the whole run.
local function touch_follow()
  redis.call('PEXPIRE', follow, 3600000)
end

if limit[2] > 0 then level[2] = math.min(math.max(capacity[2], level[2]), level[2] + give_back) end

if op == 'acquire' then
  local n = tonumber(ARGV[7])
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
  local remaining = {tonumber(ARGV[7]), tonumber(ARGV[8])}
  local latency = tonumber(ARGV[9])
  local answer = {1, 0, text(now)}
  for i = 1, 2 do
    -- The server counted what is left at some moment while the request was out; since then at most the
    -- latency's refill came back.
    if limit[i] > 0 and remaining[i] >= 0 then
      level[i] = math.min(level[i], remaining[i] + limit[i] * latency / minute)
    end
    -- A bucket new again after an idle spell follows from one step again, unless a 429 ended following.
    if limit[i] > 0 and fresh[i] and redis.call('HGET', follow, 's' .. i) ~= '0' then
      redis.call('HDEL', follow, 's' .. i, 'f' .. i)
    end
    if limit[i] > 0 then
      table.insert(answer, text(level[i]))
      table.insert(answer, text(capacity[i]))
      table.insert(answer, redis.call('HGET', follow, 's' .. i) or '')
      table.insert(answer, redis.call('HGET', follow, 'f' .. i) or '')
    else
      for _ = 1, 4 do table.insert(answer, '') end
    end
  end
  save()
  return answer
elseif op == 'lift' then
  local answer = {1, 0}
  for i = 1, 2 do
    local lift, decided_on, step = tonumber(ARGV[4 + 3 * i]), ARGV[5 + 3 * i], ARGV[6 + 3 * i]
    local applied = 0
    if limit[i] > 0 and lift > 0 and (redis.call('HGET', follow, 'f' .. i) or '') == decided_on
        and redis.call('HGET', follow, 's' .. i) ~= '0' then
      level[i] = level[i] + lift
      redis.call('HSET', follow, 's' .. i, step, 'f' .. i, text(now))
      touch_follow()
      applied = 1
    end
    table.insert(answer, applied)
  end
  save()
  return answer
elseif op == 'pause' then
  local wanted = now + math.ceil(tonumber(ARGV[7]))
  if wanted > (tonumber(redis.call('GET', KEYS[3])) or 0) then
    redis.call('SET', KEYS[3], text(wanted), 'PX', math.ceil(tonumber(ARGV[7]) / 1000) + 1)
  end
  -- A 429: what the server says is left no longer lifts the level, and what was lifted is dropped.
  for i = 1, 2 do
    if limit[i] > 0 then
      level[i] = math.min(level[i], capacity[i])
      redis.call('HSET', follow, 's' .. i, '0')
    end
  end
  touch_follow()
end
save()
return {1, 0}
