-- What the program loads and runs, seen by wrapping the loaders at install
-- time: which file each `require`d module came from, the files run with
-- dofile/loadfile, and every coroutine (so that a reload can see which
-- functions are running on any stack without a heap walk).
local _, parts = ...
local common = parts.common

local type, ipairs, error = type, ipairs, error
local package = package
local is_lua, globals = common.is_lua, common.globals

local Tracking = {}

--- Wraps the searchers: a module found in a Lua file is recorded in
--- `engine.modules`; the module being reloaded (`engine.hiding`) is found
--- as its live value while its new top level runs.
function Tracking.require(engine)
  local modules = engine.modules
  local searchers = package.searchers or package.loaders
  for i, searcher in ipairs(searchers) do
    searchers[i] = function(name, ...)
      local hiding = engine.hiding
      if hiding ~= nil and hiding.name == name then
        -- The module being reloaded, hidden while its new top level runs.
        return function()
          return hiding.value
        end, ':hotreload:'
      end
      local loader, extra = searcher(name, ...)
      if type(extra) == 'string' and is_lua(loader) then
        local rec = modules[name] or {}
        rec.name, rec.path, rec.chunkname, rec.chunk = name, extra, '@' .. extra, loader
        modules[name] = rec
      end
      return loader, extra
    end
  end
end

--- Wraps loadfile and dofile: the files the program runs are recorded in
--- `engine.files_ran`, so that they reload like global-style modules.
function Tracking.files(engine)
  local files = engine.files_ran
  local G = globals()
  local loadfile_c = G.loadfile
  if type(loadfile_c) ~= 'function' then
    return
  end
  local function record(path, chunk, env)
    if type(path) == 'string' and is_lua(chunk) then
      files[path] = { path = path, chunkname = '@' .. path, chunk = chunk, env = env, file = true }
    end
  end
  -- Arguments are passed on exactly as given: an explicit nil env differs
  -- from no env for loadfile.
  G.loadfile = function(...)
    local f, err = loadfile_c(...)
    if f then
      local path, _, env = ...
      record(path, f, env)
    end
    return f, err
  end
  if type(G.dofile) == 'function' then
    G.dofile = function(path)
      local f, err = loadfile_c(path)
      if not f then
        error(err, 0)
      end
      record(path, f)
      return f()
    end
  end
end

--- Wraps coroutine.create and coroutine.wrap: every coroutine becomes a
--- key of `engine.threads` (weak).
function Tracking.threads(engine)
  local threads = engine.threads
  local create, resume, close = coroutine.create, coroutine.resume, coroutine.close
  coroutine.create = function(f)
    local co = create(f)
    threads[co] = true
    return co
  end
  coroutine.wrap = function(f)
    local co = create(f)
    threads[co] = true
    local function finish(ok, ...)
      if ok then
        return ...
      end
      local err = ...
      if close then
        close(co)
      end
      if type(err) == 'string' then
        error(err, 2)
      end
      error(err, 0)
    end
    return function(...)
      return finish(resume(co, ...))
    end
  end
end

return Tracking
