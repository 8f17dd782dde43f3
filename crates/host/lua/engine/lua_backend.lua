-- The pure-Lua backend, built from the walker module (walker.lua):
-- references are replaced by a walk; nothing is swapped in place, nested
-- closures keep their code. What runtimes without the native code get; a
-- VM folder's in-place swap may replace `swap`/`restore` and add `nested`.
local debug = ...

local next, ipairs = next, ipairs
local floor = math.floor
local upvaluejoin = debug.upvaluejoin
-- LuaJIT compiles the read of an upvalue nothing assigns as a constant, so a
-- trace compiled before the walk keeps calling the function the walk replaced
-- there (debug.setupvalue does not reach it): traces go after every walk.
local jit = rawget(_G, 'jit')
local flush = type(jit) == 'table' and type(jit.flush) == 'function' and jit.flush or nil

local LuaBackend = {}

function LuaBackend.new(walker)
  ---@type EngineBackend
  local b = {}
  -- The frames under the reload (the caller of mark), for the walker.
  function b.mark()
    local frames = walker.depth() -- mark, the reload, and under them
    return frames - 2
  end
  function b.swap(entries)
    local results = {}
    for i, e in ipairs(entries) do
      local new, src = e[2], e[3]
      for s = 1, #src, 2 do
        local f, idx = src[s], src[s + 1]
        if f ~= new then
          upvaluejoin(new, floor((s + 1) / 2), f, idx)
        end
      end
      results[i] = false
    end
    return results
  end
  function b.restore() end
  function b.walk(refmap, rootpairs, skip, active, boundary, internal, handled)
    local stats = { replaced = 0 }
    if next(refmap) ~= nil then
      stats.replaced = walker.walk(refmap, internal, boundary)
      if flush then
        flush()
      end
    end
    -- A VM's nested pass (set beside an in-place swap: vm/luajit_stock)
    -- gives closures of changed nested functions their new code.
    if b.nested then
      local n = b.nested(rootpairs, skip, active, handled)
      stats.replaced = stats.replaced + n.replaced
      for _, k in ipairs({ 'running', 'layout', 'unmatched' }) do
        if n[k] > 0 then
          stats[k], stats[k .. '_lines'] = n[k], n[k .. '_lines']
        end
      end
    end
    return stats
  end
  return b
end

return LuaBackend
