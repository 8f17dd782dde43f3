-- The engine installed in one VM: it tracks what the program loads, resolves
-- a request to a module, file or the program, and runs one reload with the
-- collector stopped. Work that needs the VM's insides goes through a
-- backend (`EngineBackend` in contract.lua): the native backend
-- (vm/lua54/reload_*.c) does all of it; a pure-Lua backend built from
-- walker.lua (lua_backend.lua) does what plain Lua can (no in-place swap,
-- no nested closures), which is what LuaJIT and Neovim get.
local _, parts = ...
local common, context, tracking = parts.common, parts.context, parts.tracking
local module_reload, program_reload = parts.module.reload, parts.program.reload

local next, type, pcall, tostring, setmetatable = next, type, pcall, tostring, setmetatable
local collectgarbage = collectgarbage
local package = package
local loaded_modules = common.loaded

local M = {}
M.INTERNAL = common.INTERNAL
-- Builds the portable backend from the walker module (walker.lua).
M.lua_backend = parts.lua_backend.new

local Engine = {}
Engine.__index = Engine

--- Creates the engine and starts tracking `require` and coroutines. Call it
--- before the program runs. `opts.track` picks the trackers to install
--- (`{ require = true, files = true, threads = true }`, all when absent): an
--- engine installed late into a live VM (Neovim) may skip the wrappers of
--- globals others rely on, and `register` what was loaded before it.
function M.new(backend, opts)
  local self = setmetatable({}, Engine)
  self.backend = backend
  self.modules = {} -- module name -> { name, path, chunkname, chunk }
  self.files_ran = {} -- path -> { path, chunkname, chunk, env, file = true }
  self.threads = setmetatable({}, { __mode = 'k' })
  local track = type(opts) == 'table' and opts.track or nil
  if track == nil or track.require then
    tracking.require(self)
  end
  if track == nil or track.files then
    tracking.files(self)
  end
  if track == nil or track.threads then
    tracking.threads(self)
  end
  return self
end

--- Records that module `name` (already in `package.loaded`) came from the
--- file `path`, loaded with the chunk name `chunkname` (default `@path`):
--- for modules loaded before the engine was installed, or by a loader it
--- does not see. Its functions are those whose source is that chunk name.
function Engine:register(name, path, chunkname)
  chunkname = chunkname or ('@' .. path)
  local rec = self.modules[name]
  if rec == nil or rec.path ~= path or rec.chunkname ~= chunkname then
    self.modules[name] = { name = name, path = path, chunkname = chunkname }
  end
  return self.modules[name]
end

--- Remembers the main program file; `chunkname` is what it was loaded with.
function Engine:set_program(path, chunkname)
  self.program = { program = true, path = path, chunkname = chunkname or ('@' .. path) }
end

--- Every file the engine can reload: array of { kind, name, path } where kind
--- is "module" (name set), "file" (run with dofile/loadfile) or "program".
function Engine:files()
  local out = {}
  for name, rec in next, self.modules do
    if loaded_modules[name] ~= nil then
      out[#out + 1] = { kind = 'module', name = name, path = rec.path }
    end
  end
  for path in next, self.files_ran do
    out[#out + 1] = { kind = 'file', path = path }
  end
  if self.program then
    out[#out + 1] = { kind = 'program', path = self.program.path }
  end
  return out
end

function Engine:resolve(req)
  if req.program then
    if not self.program then
      return nil, 'no program is running', 'notFound'
    end
    return self.program
  end
  if req.file then
    local rec = self.files_ran[req.file]
    if not rec then
      return nil, req.file .. ': not a file the program ran', 'notFound'
    end
    return rec
  end
  local name = req.module
  if type(name) ~= 'string' or name == '' then
    return nil, 'hot reload needs a module name or a path', 'invalidArguments'
  end
  local loaded = loaded_modules[name]
  local rec = self.modules[name]
  if loaded == nil then
    return nil, "module '" .. name .. "' is not loaded by the program", 'notFound'
  end
  if rec then
    return rec
  end
  local path = package.searchpath and package.searchpath(name, package.path)
  if not path then
    return nil, "module '" .. name .. "' is loaded but its file is not on package.path", 'notFound'
  end
  rec = { name = name, path = path, chunkname = '@' .. path }
  self.modules[name] = rec
  return rec
end

--- (true) when `req` names something reloadable, else (false, message, kind).
function Engine:resolve_check(req)
  local rec, err, kind = self:resolve(req)
  if rec then
    return true
  end
  return false, err, kind
end

--- Reloads a module (`req.module`), a file (`req.file`) or the program
--- (`req.program`) from `req.source`. Returns a report table, or nil,
--- `file:line: reason`, its kind (`EngineErrorKind`), and the line of the
--- reloaded file it names and its reason (nil when it names none).
function Engine:reload(req)
  local rec, err, kind = self:resolve(req)
  if not rec then
    return nil, err, kind
  end
  if type(req.source) ~= 'string' then
    return nil, rec.path .. ': no source to reload', 'invalidArguments'
  end
  -- Keep the collector out of the middle of a reload (LuaJIT has no
  -- "isrunning": assume it runs).
  local known, gc_was_running = pcall(collectgarbage, 'isrunning')
  if not known then
    gc_was_running = true
  end
  collectgarbage('stop')
  local ctx = context.new(self, rec)
  -- The map from running closures to the code a restartFrame runs is
  -- filled during the reload: a failed reload must leave it as it was.
  ctx.journal:snapshot_table(common.restart_map())
  local ok, report, rerr, rkind = pcall(function()
    -- Tail calls: the backend's mark counts the frames under the reload.
    if rec.program then
      return program_reload(self, ctx, req.source)
    end
    return module_reload(self, ctx, req.source)
  end)
  if not ok then
    -- A bug of ours, not of the program: still leave the program as it was.
    pcall(ctx.journal.rollback, ctx.journal)
    report, rerr, rkind = nil, rec.path .. ': internal error in hot reload: ' .. tostring(report), 'internal'
  end
  if gc_was_running then
    collectgarbage('restart')
  end
  if report then
    -- A file or the program is named by its file name.
    report.module = rec.name or rec.path:match('[^/\\]+$') or rec.path
    report.path = rec.path
    return report
  end
  return nil, rerr, rkind, common.error_line(rerr, rec.chunkname)
end

return M
