-- Random sequences of module versions under the checked build: functions
-- appear, disappear and change their upvalues, factories change their
-- closures, the program holds aliases, instances and closures (also in
-- coroutines, weak tables and objects with finalizers), and the collector
-- runs in small steps between reloads, in both collector modes.
local rounds = tonumber(arg[1]) or 300
local seed = tonumber(arg[2]) or 1
local mode = arg[3] or 'incremental'

-- The engine's parts, compiled from disk here (the host embeds them).
local chunks = setmetatable({}, {
  __index = function(_, part)
    return assert(loadfile(ENGINE_DIR .. '/engine/' .. part .. '.lua'))
  end,
})
local engine_mod = assert(loadfile(ENGINE_DIR .. '/engine/init.lua'))(debug, chunks)
local engine = engine_mod.new(native_backend())

local state = seed
local function rand(n)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % n
end

local function version(tag)
  local src = { 'local M = {}\nlocal a, b, c = 1, 2, 3\nlocal shared = { hits = 0 }\n' }
  local present = {}
  for i = 0, 14 do
    if rand(4) ~= 0 then
      present['f' .. i] = true
      local uses = ({ 'a', 'a + b', 'c + a + b', '0' })[rand(4) + 1]
      if i % 3 == 0 then
        local inner = rand(2) == 0 and 'n + 1' or 'n + b - 1'
        src[#src + 1] = ('function M.f%d()\n  local n = 0\n  return function() n = %s shared.hits = shared.hits + 1 return %d, n end\nend\n'):format(
          i,
          inner,
          tag
        )
      elseif i % 5 == 0 then
        src[#src + 1] = ('M.C%d = {}\nM.C%d.__index = M.C%d\nM.C%d.__gc = function(o) shared.hits = shared.hits + 1 end\nfunction M.C%d:get() local _ = %s return %d end\nfunction M.f%d(v) return setmetatable({ v = v }, M.C%d) end\n'):format(
          i,
          i,
          i,
          i,
          i,
          uses,
          tag,
          i,
          i
        )
      else
        src[#src + 1] = ('function M.f%d() shared.hits = shared.hits + 1 local _ = %s return %d end\n'):format(
          i,
          uses,
          tag
        )
      end
    end
  end
  src[#src + 1] = ('function M.loop() local i = 0 while true do i = i + 1 coroutine.yield(%d, i) end end\n'):format(tag)
  src[#src + 1] = 'function M.hits() return shared.hits end\nreturn M\n'
  return table.concat(src), present
end

collectgarbage(mode)
local dir = os.tmpname()
os.remove(dir)
local path = dir .. '.lua'
local f = assert(io.open(path, 'w'))
local src0 = version(0)
f:write(src0)
f:close()
package.path = dir:match('(.*/)') .. '?.lua;' .. package.path
local name = dir:match('.*/(.*)')
local mod = require(name)

local held, made, objs = {}, {}, {}
local weak = setmetatable({}, { __mode = 'k' })
local cos = {}
local function grab()
  for k, fn in pairs(mod) do
    if type(fn) == 'function' and k ~= 'hits' and k ~= 'loop' then
      held[#held + 1] = { name = k, f = fn }
      local i = tonumber(k:sub(2))
      if i % 3 == 0 then
        made[#made + 1] = fn()
      elseif i % 5 == 0 then
        objs[#objs + 1] = fn(i)
      end
      weak[{}] = fn
      local co = coroutine.create(function(g)
        while true do
          g = coroutine.yield(pcall(g))
        end
      end)
      coroutine.resume(co, fn)
      cos[#cos + 1] = co
    end
  end
end
grab()
local loops = {}

-- Reloads happen inside a count hook, in the middle of the program's work,
-- as the host does for a reload while the program runs.
local pending, report, err
debug.sethook(function()
  if pending then
    local src = pending
    pending = nil
    report, err = engine:reload({ module = name, source = src })
  end
end, '', 97)

local function work()
  local total = 0
  for _, h in ipairs(held) do
    local ok, v = pcall(h.f, 2)
    if ok and type(v) == 'number' then
      total = total + v
    end
  end
  return total
end

for tag = 1, rounds do
  local src, present = version(tag)
  pending = src
  while pending do
    work()
  end
  assert(report, err)
  local co = coroutine.create(mod.loop)
  assert(coroutine.resume(co))
  loops[#loops + 1] = { co = co, tag = tag }
  for _, l in ipairs(loops) do
    -- a frame that was running keeps the code it started with
    local ok, v, i = coroutine.resume(l.co)
    assert(ok and v == l.tag and type(i) == 'number', tostring(v))
  end
  for _, h in ipairs(held) do
    if not present[h.name] then
      h.detached = true
    end
    local ok, v = pcall(h.f, 1)
    assert(ok, 'held ' .. h.name .. ': ' .. tostring(v))
    local i = tonumber(h.name:sub(2))
    if not h.detached and i % 3 ~= 0 and i % 5 ~= 0 then
      assert(v == tag, ('round %d: held %s runs version %s'):format(tag, h.name, tostring(v)))
    end
  end
  for _, c in ipairs(made) do
    local ok, v, n = pcall(c)
    assert(ok and type(n) == 'number', tostring(v))
  end
  for _, o in ipairs(objs) do
    if o then
      local ok, v = pcall(o.get, o)
      assert(ok, tostring(v))
    end
  end
  for _, co in ipairs(cos) do
    assert(coroutine.resume(co, mod.hits))
  end
  for k, fn in pairs(weak) do
    pcall(fn, 1)
  end
  if tag % 9 == 0 then
    grab()
  end
  if tag % 13 == 0 then
    for i = 1, #objs // 2 do
      objs[i] = false
    end
  end
  local junk = {}
  for i = 1, 300 do
    junk[i] = { i, tostring(i) }
  end
  collectgarbage('step', rand(20))
end
debug.sethook()
held, made, objs, weak, cos, loops = nil, nil, nil, nil, nil, nil
collectgarbage()
collectgarbage()
os.remove(path)
print(('stress: %d rounds, seed %d, %s collector: ok'):format(rounds, seed, mode))
