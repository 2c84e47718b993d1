-- One key's four budgets (RPM, TPM, RPD, TPD), mirroring dev.parley.server.limits.Rules line for line.
-- KEYS: the four bucket hashes (fields l = level, t = time in microseconds).
-- ARGV: op (admit | settle | peek), now (microseconds), the four limits (0 = no such budget), n
--       (admit: the estimate; settle: reserved minus used).
-- Returns {outcome (0 admitted, 1 limited, 2 too large), budget (1..4, 0 if none), wait (us), used,
--          remaining requests, remaining tokens, reset requests (us), reset tokens (us)}.
local op = ARGV[1]
local now = tonumber(ARGV[2])
local limit = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
local n = tonumber(ARGV[7])
local window = {60000000, 60000000, 86400000000, 86400000000}
local level, at = {}, {}

local function until_level(i, wanted)
  if level[i] >= wanted then return 0 end
  return math.ceil((wanted - level[i]) * window[i] / limit[i])
end

for i = 1, 4 do
  if limit[i] > 0 then
    local s = redis.call('HMGET', KEYS[i], 'l', 't')
    local l, t = tonumber(s[1]), tonumber(s[2])
    if l == nil or t == nil then l = limit[i]; t = now end
    level[i] = math.min(limit[i], l + math.max(0, now - t) * limit[i] / window[i])
    at[i] = math.max(t, now)
  end
end

local outcome, budget, wait, used = 0, 0, 0, 0
local function shortest(budgets, wanted)
  for _, i in ipairs(budgets) do
    if limit[i] > 0 and level[i] < wanted then
      local w = until_level(i, wanted)
      if budget == 0 or w > wait then budget = i; wait = w end
    end
  end
  if budget ~= 0 then
    outcome = 1
    used = math.ceil(limit[budget] - level[budget])
  end
end

if op == 'admit' then
  shortest({1, 3}, 1)
  if outcome == 0 then
    for _, i in ipairs({1, 3}) do if limit[i] > 0 then level[i] = level[i] - 1 end end
    for _, i in ipairs({2, 4}) do
      if outcome == 0 and limit[i] > 0 and n > limit[i] then outcome = 2; budget = i end
    end
    if outcome == 0 then shortest({2, 4}, n) end
    if outcome == 0 then
      for _, i in ipairs({2, 4}) do if limit[i] > 0 then level[i] = level[i] - n end end
    end
  end
elseif op == 'settle' then
  for _, i in ipairs({2, 4}) do if limit[i] > 0 then level[i] = math.min(limit[i], level[i] + n) end end
end

if op ~= 'peek' then
  for i = 1, 4 do
    if limit[i] > 0 then
      redis.call('HSET', KEYS[i], 'l', string.format('%.17g', level[i]), 't', string.format('%.17g', at[i]))
      -- An idle bucket is full again after this long; then it may as well not exist.
      redis.call('PEXPIRE', KEYS[i], math.ceil(until_level(i, limit[i]) / 1000) + 1000)
    end
  end
end

return {outcome, budget, wait, used,
        math.floor(math.max(0, level[1])), math.floor(math.max(0, level[2])),
        until_level(1, limit[1]), until_level(2, limit[2])}
