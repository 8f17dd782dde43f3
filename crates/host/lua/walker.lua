-- The pure-Lua reference pass: replaces every reference to a function found
-- in `map` (old -> new) in everything reachable from the registry: table keys,
-- values and metatables, Lua functions' upvalues, and the locals of threads
-- other than the running one. C functions and userdata are only read, never
-- written. Tables whose metatable is `internal` belong to the engine and are
-- left alone. This is the portable backend (LuaJIT, 5.1-5.3 later) and the
-- baseline the benchmark measures the native pass against.

local debug = ... or debug
local next, type, rawset, rawget = next, type, rawset, rawget
local getmetatable = debug.getmetatable
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local getlocal, setlocal, getinfo = debug.getlocal, debug.setlocal, debug.getinfo
local getuservalue = debug.getuservalue

return function(map, internal)
  local running = coroutine.running()
  local seen, stack, n = {}, {}, 0
  local moves = {}

  local function push(v)
    local tv = type(v)
    if (tv == "table" or tv == "function" or tv == "thread" or tv == "userdata") and not seen[v] then
      seen[v] = true
      n = n + 1
      stack[n] = v
    end
  end

  local replaced = 0
  push(debug.getregistry())
  while n > 0 do
    local v = stack[n]
    stack[n] = nil
    n = n - 1
    local tv = type(v)
    if tv == "table" then
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
    elseif tv == "function" then
      for i = 1, 255 do
        local name, x = getupvalue(v, i)
        if name == nil then
          break
        end
        local nx = map[x]
        -- C upvalues have empty names: read, never written.
        if nx ~= nil and name ~= "" then
          setupvalue(v, i, nx)
          replaced = replaced + 1
          x = nx
        end
        push(x)
      end
    elseif tv == "thread" then
      if v ~= running then
        local level = 0
        while true do
          local info = getinfo(v, level, "f")
          if info == nil then
            break
          end
          push(info.func)
          local i = 1
          while true do
            local name, x = getlocal(v, level, i)
            if name == nil then
              break
            end
            local nx = map[x]
            if nx ~= nil then
              setlocal(v, level, i, nx)
              replaced = replaced + 1
              x = nx
            end
            push(x)
            i = i + 1
          end
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
