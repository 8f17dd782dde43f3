-- The pure-Lua reference pass: replaces every reference to a function found
-- in `map` (old -> new) in everything reachable from the registry: table keys,
-- values and metatables, Lua functions' upvalues, the locals of other threads
-- and, on the running thread, the locals of the frames below the engine's
-- (`below`: how many frames the caller's mark counted under it; see depth).
-- C functions and userdata are only read, never written. Tables whose
-- metatable is `internal` belong to the engine and are left alone. This is
-- the portable backend (LuaJIT, 5.1-5.3 later) and the baseline the benchmark
-- measures the native pass against.

local debug = ... or debug
local next, type, rawset, rawget = next, type, rawset, rawget
local getmetatable = debug.getmetatable
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local getlocal, setlocal, getinfo = debug.getlocal, debug.setlocal, debug.getinfo
local getuservalue = debug.getuservalue

local W = {}

--- How many frames the running thread has from the caller of `depth` down,
--- that caller included.
function W.depth()
  local level = 2
  while getinfo(level + 1, 'l') do
    level = level + 1
  end
  return level - 1
end

function W.walk(map, internal, below)
  local running = coroutine.running()
  local seen, stack, n = {}, {}, 0
  local moves = {}

  local function push(v)
    local tv = type(v)
    if (tv == 'table' or tv == 'function' or tv == 'thread' or tv == 'userdata') and not seen[v] then
      seen[v] = true
      n = n + 1
      stack[n] = v
    end
  end

  local replaced = 0

  local function frame_locals(th, level)
    local i = 1
    while true do
      local name, x
      if th then
        name, x = getlocal(th, level, i)
      else
        name, x = getlocal(level + 1, i)
      end
      if name == nil then
        break
      end
      local nx = map[x]
      if nx ~= nil then
        if th then
          setlocal(th, level, i, nx)
        else
          setlocal(level + 1, i, nx)
        end
        replaced = replaced + 1
        x = nx
      end
      push(x)
      i = i + 1
    end
  end

  -- The program's frames under the engine on this thread.
  if below and below > 0 then
    local total = W.depth() -- this function and the frames under it
    for level = total - below + 1, total do
      local info = getinfo(level, 'f')
      if info then
        push(info.func)
        frame_locals(nil, level)
      end
    end
  end

  push(debug.getregistry())
  while n > 0 do
    local v = stack[n]
    stack[n] = nil
    n = n - 1
    local tv = type(v)
    if tv == 'table' then
      local mt = getmetatable(v)
      if mt ~= internal or internal == nil then
        for k, x in next, v do
          local nx = map[x]
          if nx ~= nil then
            -- Assigning an existing field during traversal is allowed.
            rawset(v, k, nx)
            replaced = replaced + 1
            x = nx
          end
          if map[k] ~= nil then
            moves[#moves + 1] = v
            moves[#moves + 1] = k
          end
          push(k)
          push(x)
        end
        push(mt)
      end
    elseif tv == 'function' then
      for i = 1, 255 do
        local name, x = getupvalue(v, i)
        if name == nil then
          break
        end
        local nx = map[x]
        -- C upvalues have empty names: read, never written.
        if nx ~= nil and name ~= '' then
          setupvalue(v, i, nx)
          replaced = replaced + 1
          x = nx
        end
        push(x)
      end
    elseif tv == 'thread' then
      if v ~= running then
        local level = 0
        while true do
          local info = getinfo(v, level, 'f')
          if info == nil then
            break
          end
          push(info.func)
          frame_locals(v, level)
          level = level + 1
        end
      end
    else -- userdata: read only
      push(getmetatable(v))
      if getuservalue then
        for i = 1, 16 do
          local x, ok = getuservalue(v, i)
          if ok == false then
            break
          end
          push(x)
        end
      end
    end
  end

  for i = 1, #moves, 2 do
    local t, k = moves[i], moves[i + 1]
    local x = rawget(t, k)
    rawset(t, k, nil)
    rawset(t, map[k], x)
    replaced = replaced + 1
  end
  return replaced
end

return W
