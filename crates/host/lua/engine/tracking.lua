-- What the program loads and runs: which file each `require`d module came
-- from, the files run with dofile/loadfile, and every coroutine (so that a
-- reload can see which functions are running on any stack).
--
-- In the host, the VM reports these itself and nothing the program can see
-- is wrapped: the host puts a table in the registry field
-- "hotreload.tracking" before the engine installs, and vm/shared/tracking.c
-- records into the engine's tables through it (the layout is documented
-- there). Elsewhere (Neovim, LuaJIT), the loaders are wrapped at install.
local debug, parts = ...
local common = parts.common

local type, ipairs, error, pcall, rawget = type, ipairs, error, pcall, rawget
local select, unpack = select, table.unpack or unpack
local insert, remove = table.insert, table.remove
local package = package
local getupvalue, getregistry, getinfo = debug.getupvalue, debug.getregistry, debug.getinfo
local sub = string.sub
local is_lua, globals = common.is_lua, common.globals

local Tracking = {}

--- The host's tracking table, when the VM reports loads itself.
local function host_tracking()
  if type(getregistry) ~= 'function' then
    return nil
  end
  local ok, registry = pcall(getregistry)
  local t = ok and type(registry) == 'table' and rawget(registry, 'hotreload.tracking') or nil
  return type(t) == 'table' and t or nil
end

local function pack(...)
  return { n = select('#', ...), ... }
end

--- While a reload runs (and only then), a first searcher finds the module
--- being reloaded (`engine.hiding`) as its live value, so that its new top
--- level can `require` itself.
local function hide_during_reload(engine)
  local reload = engine.reload
  engine.reload = function(self, ...)
    local searchers = package.searchers or package.loaders -- 5.1, LuaJIT: loaders
    local function hidden(name)
      local hiding = self.hiding
      if hiding ~= nil and hiding.name == name then
        return function()
          return hiding.value
        end, ':hotreload:'
      end
      return nil
    end
    if type(searchers) == 'table' then
      insert(searchers, 1, hidden)
    end
    local results = pack(pcall(reload, self, ...))
    if type(searchers) == 'table' then
      for i = #searchers, 1, -1 do
        if searchers[i] == hidden then
          remove(searchers, i)
        end
      end
    end
    if not results[1] then
      error(results[2], 0)
    end
    return unpack(results, 2, results.n)
  end
end

--- Wraps the searchers: a module found in a Lua file is recorded in
--- `engine.modules`; the module being reloaded (`engine.hiding`) is found
--- as its live value while its new top level runs.
function Tracking.require(engine)
  local modules = engine.modules
  local host = host_tracking()
  if host then
    local searchers = package.searchers or package.loaders -- 5.1, LuaJIT: loaders
    host[1] = type(searchers) == 'table' and searchers[2] or nil -- the Lua-file searcher
    host[4] = modules
    hide_during_reload(engine)
    return
  end
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
      local path = extra
      if path == nil and is_lua(loader) then
        -- Lua 5.1's searchers do not return the file: its chunk names it.
        local source = getinfo(loader, 'S').source
        path = sub(source, 1, 1) == '@' and sub(source, 2) or nil
      end
      if type(path) == 'string' and is_lua(loader) then
        local rec = modules[name] or {}
        rec.name, rec.path, rec.chunkname, rec.chunk = name, path, '@' .. path, loader
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
  local host = host_tracking()
  if host then
    host[2], host[3], host[5] = loadfile_c, G.dofile, files
    -- A file's environment is what loadfile gave its chunk (set after the
    -- load, so read when asked): the chunk's `_ENV` unless it is the globals.
    host[6] = {
      __index = function(rec, key)
        if key ~= 'env' or not is_lua(rawget(rec, 'chunk')) then
          return nil
        end
        local name, env = getupvalue(rawget(rec, 'chunk'), 1)
        if name == '_ENV' and env ~= globals() then
          return env
        end
        return nil
      end,
    }
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
  local host = host_tracking()
  if host then
    host[7] = threads -- filled by the host before each reload
    return
  end
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
