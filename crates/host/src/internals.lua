-- The host's Lua side, loaded as "=[hotreload]" before the program runs:
-- frames from this chunk are hidden from stack traces and never stepped into.
-- It numbers coroutines for the debugger's thread list and builds
-- environments for evaluating in a frame. It changes nothing the program
-- can see: output, coroutines and loaders are followed below Lua (io.rs,
-- vm/shared/vm_hooks.c).
local setmetatable, rawequal, type, pcall, load, tostring = setmetatable, rawequal, type, pcall, load, tostring

-- Lua 5.1's `load` reads from a function only: compile text with
-- `loadstring` and set the chunk's environment (as engine/common.lua does).
if not pcall(load, '') then
  local loadstring, setfenv = loadstring, setfenv
  load = function(text, chunkname, _, env)
    local f, err = loadstring(text, chunkname)
    if f and env ~= nil then
      setfenv(f, env)
    end
    return f, err
  end
end

-- Thread ids for the debugger (1 is the main thread), given when the
-- debugger first lists a coroutine; weak so that finished coroutines go away.
local thread_ids = setmetatable({}, { __mode = 'k' })

-- Evaluation: an environment whose names resolve to the frame's locals, then
-- its upvalues, then its globals; assignments to locals and upvalues are
-- recorded so the host writes them back into the frame.
local NIL = setmetatable({}, { __name = 'nil' })

local function make_env(locals, upvalues, globals)
  local dirty_locals, dirty_upvalues = {}, {}
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = locals[k]
      if v == nil then
        v = upvalues[k]
      end
      if v == nil then
        return globals[k]
      end
      if rawequal(v, NIL) then
        return nil
      end
      return v
    end,
    __newindex = function(_, k, v)
      if locals[k] ~= nil then
        locals[k] = v == nil and NIL or v
        dirty_locals[k] = true
      elseif upvalues[k] ~= nil then
        upvalues[k] = v == nil and NIL or v
        dirty_upvalues[k] = true
      else
        globals[k] = v
      end
    end,
  })
  return env, dirty_locals, dirty_upvalues
end

-- An expression first (its values are the result), else a statement.
local function compile(code, env)
  local f = load('return ' .. code, '=(eval)', 't', env)
  if f then
    return f
  end
  local g, err = load(code, '=(eval)', 't', env)
  if g then
    return g
  end
  return nil, err
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == 'string' then
    return s
  end
  return '<' .. type(v) .. '>'
end

return {
  thread_ids = thread_ids,
  NIL = NIL,
  make_env = make_env,
  compile = compile,
  safe_tostring = safe_tostring,
}
