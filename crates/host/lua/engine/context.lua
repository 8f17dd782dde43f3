-- One reload's state: what is being reloaded (`rec`), what the matching has
-- found so far, its journal and its report; and the two questions the rules
-- ask about it: is a function defined in this file, may a new table be
-- merged into an old one.
local debug, parts = ...
local common, journal, report = parts.common, parts.journal, parts.report

local next, type, setmetatable = next, type, setmetatable
local getinfo = debug.getinfo
local T, is_lua, loaded_modules, globals = common.T, common.is_lua, common.loaded, common.globals

local X = {}

local Ctx = {}
Ctx.__index = Ctx

--- The state of reloading `rec` ({ name?, path, chunkname, chunk?, env? }).
function X.new(engine, rec)
  local ctx = setmetatable(T(), Ctx)
  ctx.engine = engine
  ctx.rec = rec
  ctx.journal = journal.new(engine.backend)
  ctx.here = T() -- function -> defined in this file (getinfo is not cheap)
  ctx.dry = false -- true in match.plan's shadow of the context
  ctx.same_code = engine.backend.same_code or common.same_code
  ctx:reset_matches()
  -- ctx.created: tables the new top level made (native backend), set later
  return ctx
end

--- Forgets what the matching found and reported (before it runs again).
function Ctx:reset_matches()
  local ctx = self
  ctx.report = report.new()
  ctx.pairs = T() -- { old, new, path } per matched Lua function
  ctx.by_old = T() -- old function -> pair
  ctx.by_new = T() -- new function -> pair
  ctx.tables = T() -- old tables already merged
  ctx.tmap = T() -- new table -> the old table it was merged into
  ctx.cellmap = T() -- new upvalue cell id -> { fn, index } of the old cell
  ctx.adopt = T() -- new values placed into the live program
  ctx.removed_fns = T() -- old functions removed from the module
  ctx.successor = T() -- old function split by the new version -> the new one it keeps
  ctx.declared = T() -- keys to write through a library's __newindex (match.plan)
  ctx.object_keys = T() -- new objects used as keys, decided after the matching
  ctx.needs_plan = false -- the matching met a split or a class library (match.run)
  ctx.later = T() -- upvalue matches queued after the paths from the module
  ctx.visits = T() -- object -> the first path the matching reached it by
  ctx.needs_names = false -- some object has several paths, or a class shows keys
end

function Ctx:defined_here(f)
  local here = self.here[f]
  if here == nil then
    here = is_lua(f) and getinfo(f, 'S').source == self.rec.chunkname
    self.here[f] = here
  end
  return here
end

-- May the new table `nv` be merged into the old table `ov`? Not when `nv`
-- existed before the reload (another module's table, the globals): then the
-- new version just refers to it. With the native backend we know exactly
-- which tables the new top level created; else module tables and the
-- globals stand for "existed before".
function Ctx:mergeable(ov, nv)
  if self.created then
    return self.created[nv] == true
  end
  local shared = self.shared_set
  if shared == nil then
    shared = T()
    for name, v in next, loaded_modules do
      if type(v) == 'table' and name ~= self.rec.name then
        shared[v] = true
      end
    end
    shared[globals()] = true
    self.shared_set = shared
  end
  return not shared[ov] and not shared[nv]
end

return X
