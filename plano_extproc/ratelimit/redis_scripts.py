"""The Lua scripts of the Redis bucket store: gcra.py's arithmetic, run atomically over all the
buckets of one call. Keep them in step with gcra.py and store.verdict_of.

Common arguments: KEYS are the buckets; ARGV[1] is the time in seconds, or "" for Redis's own
clock (so replicas with skewed clocks agree); the limits come last, as (tokens, unit_seconds)
pairs in KEYS order. TATs are stored as "%.17g" strings (Lua's tostring keeps 14 digits, which
would round epoch seconds to 0.1 ms).
"""

from __future__ import annotations

_PRELUDE = """
local function clock()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function limit(first, i)
  local tokens = tonumber(ARGV[first + 2 * (i - 1)])
  local unit = tonumber(ARGV[first + 2 * (i - 1) + 1])
  return tokens, unit, unit / tokens
end
local function tat_of(key, now)
  return tonumber(redis.call('GET', key)) or now
end
-- A TAT in the past is a fresh bucket: no key. Otherwise the key lives until its TAT, plus a
-- margin so that clock steps between calls never drop a live bucket.
local function store(key, tat, now, margin_ms)
  if tat <= now then
    redis.call('DEL', key)
  else
    local ttl = math.ceil((tat - now) * 1000) + margin_ms
    redis.call('SET', key, string.format('%.17g', tat), 'PX', ttl)
  end
end
"""

# ARGV: now, cost (> 0), edge slack, margin ms, limits. Returns {1} when every bucket allows the
# charge (all charged), else {0, index (1-based), 'never' | retry-after seconds} and no change.
TAKE = (
    _PRELUDE
    + """
local now = clock()
local cost = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local margin_ms = tonumber(ARGV[4])
local new_tats = {}
local refused, wait, never = 0, -1, false
for i, key in ipairs(KEYS) do
  local tokens, unit, interval = limit(5, i)
  if cost > tokens then
    if not never then
      never = true
      refused = i
    end
  else
    local new_tat = math.max(tat_of(key, now), now) + cost * interval
    local earliest = new_tat - unit
    if earliest <= now + slack then
      new_tats[i] = new_tat
    elseif not never and earliest - now > wait then
      refused = i
      wait = earliest - now
    end
  end
end
if never then return {0, refused, 'never'} end
if refused > 0 then return {0, refused, string.format('%.17g', wait)} end
for i, key in ipairs(KEYS) do store(key, new_tats[i], now, margin_ms) end
return {1}
"""
)

# ARGV: now, delta (tokens, may be negative), margin ms, limits. Returns the number of buckets.
ADJUST = (
    _PRELUDE
    + """
local now = clock()
local delta = tonumber(ARGV[2])
local margin_ms = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  local _, _, interval = limit(4, i)
  local tat = math.max(tat_of(key, now), now) + delta * interval
  store(key, math.max(tat, now), now, margin_ms)
end
return #KEYS
"""
)

# ARGV: now, limits. Returns the tokens available now in each bucket, as strings.
AVAILABLE = (
    _PRELUDE
    + """
local now = clock()
local result = {}
for i, key in ipairs(KEYS) do
  local tokens, unit, interval = limit(2, i)
  local ahead = math.max(tat_of(key, now) - now, 0)
  local left = math.min(math.max((unit - ahead) / interval, 0), tokens)
  result[i] = string.format('%.17g', left)
end
return result
"""
)
