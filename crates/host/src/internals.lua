-- The host's Lua side, loaded as "=[hotreload]" before the program runs:
-- frames from this chunk are hidden from stack traces and never stepped into.
-- It routes Lua-level output to the protocol in program order, tracks which
-- coroutine runs (and numbers coroutines for the debugger's thread list),
-- and builds environments for evaluating in a frame.
local emit, enter, leave = ...

local select, tostring, type, error, pcall, load = select, tostring, type, error, pcall, load
local setmetatable, getmetatable, rawequal = setmetatable, getmetatable, rawequal
local concat, mtype, format = table.concat, math.type, string.format
local io_output, stdout, stderr = io.output, io.stdout, io.stderr
local co_create, co_resume, co_close = coroutine.create, coroutine.resume, coroutine.close

-- What file:write would write, or its error (level 3: the caller of write).
local function pieces(...)
  local t = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    local tv = type(v)
    if tv == 'string' then
      t[i] = v
    elseif tv == 'number' then
      t[i] = mtype(v) == 'integer' and format('%d', v) or format('%.14g', v)
    else
      error(format("bad argument #%d to 'write' (string expected, got %s)", i, tv), 3)
    end
  end
  return concat(t)
end

print = function(...)
  local t = {}
  for i = 1, select('#', ...) do
    t[i] = tostring((select(i, ...)))
  end
  emit('stdout', concat(t, '\t') .. '\n')
end

local methods = getmetatable(stdout).__index
local file_write = methods.write
methods.write = function(f, ...)
  if rawequal(f, stdout) then
    emit('stdout', pieces(...))
    return f
  elseif rawequal(f, stderr) then
    emit('stderr', pieces(...))
    return f
  end
  return file_write(f, ...)
end

io.write = function(...)
  local f = io_output()
  if rawequal(f, stdout) then
    emit('stdout', pieces(...))
    return f
  end
  return f:write(...)
end

-- Thread ids for the debugger (1 is the main thread), weak so that
-- finished coroutines go away.
local thread_ids = setmetatable({}, { __mode = 'k' })
local last_id = 1

coroutine.resume = function(co, ...)
  if thread_ids[co] == nil and type(co) == 'thread' then
    last_id = last_id + 1
    thread_ids[co] = last_id
  end
  enter(co)
  return leave(co_resume(co, ...))
end

-- As the C coroutine.wrap: results, or the error with the caller's position.
local function wrap_result(co, ok, ...)
  if ok then
    return ...
  end
  local err = ...
  pcall(co_close, co)
  if type(err) == 'string' then
    error(err, 2)
  end
  error(err, 0)
end

coroutine.wrap = function(f)
  local co = co_create(f)
  return function(...)
    enter(co)
    return wrap_result(co, leave(co_resume(co, ...)))
  end
end

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
