-- The semantic layer of a hot reload, in plain Lua.
--
-- It knows which file each module came from, runs a new version's top level
-- as a transaction, matches old and new values by their path from the module
-- table, keeps a journal so that any failure (even in `__on_reload`) leaves
-- the program exactly as it was, and reports what changed. Work that needs the
-- VM's insides goes through a backend:
--
--   backend.swap(entries) -> results      give old closures new code in place
--   backend.restore(old, clone)           undo one swap
--   backend.walk(refmap, rootpairs, skip, active, boundary) -> stats
--                                         replace references, retarget
--                                         closures of changed nested functions
--   backend.find_chunk(chunkname) -> fn   the main chunk closure of a file
--   backend.mark() -> boundary            where the engine's own frames start
--
-- The native backend (reload.c) does all of that; a pure-Lua backend built
-- from walker.lua does what plain Lua can (no in-place swap, no nested
-- closures), which is what LuaJIT and Neovim get later.

local M = {}

-- The debug library comes from the host, so the engine works even when the
-- program's VM does not expose `debug`.
local debug = ... or debug

-- Everything the engine uses is captured now: the program may replace or
-- remove globals before a reload happens.
local next, type, rawget, rawset, pcall, tostring = next, type, rawget, rawset, pcall, tostring
local setmetatable, load, ipairs, error = setmetatable, load, ipairs, error
local collectgarbage, floor = collectgarbage, math.floor
local concat, sort = table.concat, table.sort
local co_running, co_status = coroutine.running, coroutine.status
local package = package
local loaded_modules = package.loaded
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local upvalueid, upvaluejoin = debug.upvalueid, debug.upvaluejoin
local getinfo, getmeta, setmeta = debug.getinfo, debug.getmetatable, debug.setmetatable
local registry = debug.getregistry()
local dump = string.dump

-- Metatable that marks the engine's own tables, so that reference passes do
-- not rewrite the journal they will need for an undo.
local INTERNAL = { __name = "hotreload.internal" }
M.INTERNAL = INTERNAL

local function T()
  return setmetatable({}, INTERNAL)
end

-- Stands for "the new top level assigned nil to this global".
local NIL = T()

local function is_lua(f)
  return type(f) == "function" and getinfo(f, "S").what ~= "C"
end

-- The globals table: LUA_RIDX_GLOBALS on 5.2+, where LuaJIT keeps other
-- things; there, the table this chunk was loaded with.
local GLOBALS = registry[2]
if type(GLOBALS) ~= "table" or rawget(GLOBALS, "_G") ~= GLOBALS then
  GLOBALS = _G
end

local function globals()
  return GLOBALS
end

local function key_path(path, k)
  if type(k) == "string" then
    if path == nil or path == "" then
      return k
    end
    return path .. "." .. k
  end
  return (path or "") .. "[" .. tostring(k) .. "]"
end

local function stripped(f)
  local ok, s = pcall(dump, f, true)
  return ok and s or nil
end

local function error_text(err, path)
  if type(err) == "string" then
    return err
  end
  local mt = getmeta(err)
  if mt and mt.__tostring then
    local ok, s = pcall(tostring, err)
    if ok and type(s) == "string" then
      return s
    end
  end
  return path .. ": (error object is a " .. type(err) .. " value)"
end

---------------------------------------------------------------------------
-- One reload's plan and journal.

local Ctx = {}
Ctx.__index = Ctx

local function new_ctx(engine, rec)
  local ctx = setmetatable(T(), Ctx)
  ctx.engine = engine
  ctx.rec = rec
  ctx.journal = T() -- undo records, applied in reverse
  ctx.pairs = T() -- { old, new, path } per matched Lua function
  ctx.by_old = T() -- old function -> pair
  ctx.by_new = T() -- new function -> pair
  ctx.tables = T() -- old tables already merged
  ctx.tmap = T() -- new table -> the old table it was merged into
  ctx.cellmap = T() -- new upvalue cell id -> { fn, index } of the old cell
  ctx.adopt = T() -- new values placed into the live program
  ctx.changed, ctx.added, ctx.removed, ctx.warnings = T(), T(), T(), T()
  ctx.removed_fns = T() -- old functions removed from the module
  return ctx
end

function Ctx:note(list, name)
  if name ~= nil then
    list[#list + 1] = name
  end
end

function Ctx:warn(message)
  self.warnings[#self.warnings + 1] = message
end

function Ctx:set(t, k, v)
  local j = T()
  j.kind, j.t, j.k, j.v = "set", t, k, rawget(t, k)
  self.journal[#self.journal + 1] = j
  rawset(t, k, v)
end

-- Remembers every entry and the metatable of `t`, so that a rollback puts it
-- back exactly (writes the engine cannot see one by one: a module newly
-- required by the new top level, `__on_reload`).
function Ctx:snapshot_table(t)
  local copy = T()
  for k, v in next, t do
    copy[k] = v
  end
  local j = T()
  j.kind, j.t, j.copy, j.v = "table", t, copy, getmeta(t)
  self.journal[#self.journal + 1] = j
end

-- Snapshots what `__on_reload` can reach that belongs to the module: the
-- tables reachable from `roots` (not other modules' tables, nor the
-- globals) and the upvalue cells of this file's functions among them.
function Ctx:snapshot_reachable(roots)
  local seen, cells = T(), T()
  seen[registry], seen[globals()], seen[loaded_modules] = true, true, true
  for name, v in next, loaded_modules do
    if name ~= self.rec.name then
      seen[v] = true
    end
  end
  local stack, n = T(), 0
  local function push(v)
    local tv = type(v)
    if (tv == "table" or tv == "function") and not seen[v] then
      seen[v] = true
      n = n + 1
      stack[n] = v
    end
  end
  for _, v in next, roots do
    push(v)
  end
  while n > 0 do
    local v = stack[n]
    stack[n] = nil
    n = n - 1
    if type(v) == "table" then
      if getmeta(v) ~= INTERNAL then
        self:snapshot_table(v)
        for k, x in next, v do
          push(k)
          push(x)
        end
        push(getmeta(v))
      end
    elseif self:defined_here(v) then
      for i = 1, 255 do
        local name, x = getupvalue(v, i)
        if name == nil then
          break
        end
        local id = upvalueid(v, i)
        if not cells[id] then
          cells[id] = true
          local u = T()
          u.kind, u.fn, u.index, u.v = "upvalue", v, i, x
          self.journal[#self.journal + 1] = u
          push(x)
        end
      end
    end
  end
end

function Ctx:setmeta(t, mt)
  local j = T()
  j.kind, j.t, j.v = "meta", t, getmeta(t)
  self.journal[#self.journal + 1] = j
  setmeta(t, mt)
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
      if type(v) == "table" and name ~= self.rec.name then
        shared[v] = true
      end
    end
    shared[globals()] = true
    self.shared_set = shared
  end
  return not shared[ov] and not shared[nv]
end

function Ctx:defined_here(f)
  return is_lua(f) and getinfo(f, "S").source == self.rec.chunkname
end

-- The rules of DESIGN.md "Reload semantics", one value at a time.
function Ctx:merge_value(holder, key, ov, nv, path)
  if ov == nv or nv == nil then
    return -- same value, or nil in the new version: keep
  end
  if ov == nil then
    self:set(holder, key, nv)
    self:note(self.added, path)
    self.adopt[#self.adopt + 1] = nv
    return
  end
  local to, tn = type(ov), type(nv)
  if to ~= tn then
    self:set(holder, key, nv)
    self:note(self.changed, path)
    self.adopt[#self.adopt + 1] = nv
  elseif tn == "function" then
    -- Only this file's functions are versions of each other. C functions
    -- are never touched; a reference to a function from elsewhere is data,
    -- and like a scalar the running value wins.
    if self:defined_here(ov) and self:defined_here(nv) then
      self:pair(ov, nv, path)
    end
  elseif tn == "table" then
    -- A table that existed before the reload (another module's, the
    -- globals) is a reference, never merged: the running value wins.
    if self:mergeable(ov, nv) then
      self:merge_table(ov, nv, path)
    end
  end
  -- scalars and userdata: the running value wins
end

function Ctx:merge_table(ot, nt, path)
  if ot == nt or self.tables[ot] then
    return
  end
  self.tables[ot] = true
  if self.tmap[nt] == nil then
    self.tmap[nt] = ot
  end
  for k, nv in next, nt do
    self:merge_value(ot, k, rawget(ot, k), nv, key_path(path, k))
  end
  for k, ov in next, ot do
    if type(k) == "string" and rawget(nt, k) == nil and type(ov) == "function" and self:defined_here(ov) then
      self:set(ot, k, nil)
      self:note(self.removed, key_path(path, k))
      self.removed_fns[#self.removed_fns + 1] = ov
    end
  end
  local omt, nmt = getmeta(ot), getmeta(nt)
  if nmt ~= nil and omt ~= nmt then
    if omt == nil then
      self:setmeta(ot, nmt)
      self.adopt[#self.adopt + 1] = nmt
    elseif type(omt) == "table" and type(nmt) == "table" then
      if self:mergeable(omt, nmt) then
        self:merge_table(omt, nmt, (path or "") .. "<metatable>")
      end
    end
  end
end

local function upvalue_names(f)
  local names = T()
  for i = 1, 255 do
    local name = getupvalue(f, i)
    if name == nil then
      break
    end
    names[name] = i
  end
  return names
end

-- Pairs an old Lua function with its new version, then follows upvalues of
-- the same name: local helpers and local tables match by name too.
function Ctx:pair(o, n, path)
  if self.by_old[o] or self.by_new[n] then
    return
  end
  local p = T()
  p.old, p.new, p.path = o, n, path
  p.differs = stripped(o) ~= stripped(n)
  self.by_old[o], self.by_new[n] = p, p
  self.pairs[#self.pairs + 1] = p
  if p.differs then
    self:note(self.changed, path)
  end
  local onames = upvalue_names(o)
  for i = 1, 255 do
    local name, nv = getupvalue(n, i)
    if name == nil then
      break
    end
    local j = onames[name]
    if j then
      local id = upvalueid(n, i)
      if self.cellmap[id] == nil then
        local src = T()
        src[1], src[2] = o, j
        self.cellmap[id] = src
      end
      local _, ov = getupvalue(o, j)
      if name ~= "_ENV" and ov ~= nil and nv ~= nil and ov ~= nv then
        if type(ov) ~= type(nv) then
          -- A type change: the new value wins, in the old (shared) cell.
          local u = T()
          u.kind, u.fn, u.index, u.v = "upvalue", o, j, ov
          self.journal[#self.journal + 1] = u
          setupvalue(o, j, nv)
          self:note(self.changed, name)
          self.adopt[#self.adopt + 1] = nv
        elseif type(ov) == "function" and self:defined_here(ov) and self:defined_here(nv) then
          self:pair(ov, nv, name)
        elseif type(ov) == "table" and self:mergeable(ov, nv) then
          self:merge_table(ov, nv, name)
        end
      end
    end
  end
end

-- New closures that become part of the live program share the old upvalue
-- cells (so state stays one cell); values that are new versions of swapped
-- functions are remembered so they can point at the old object afterwards.
function Ctx:relink()
  local seen = T()
  local fixups = T()
  self.fixups = fixups
  local cellmap, by_old, by_new, tables, tmap = self.cellmap, self.by_old, self.by_new, self.tables, self.tmap
  local created = self.created -- tables the new top level made (native backend)
  -- Shared namespaces are old by definition: never walked from here.
  local stop = T()
  stop[registry], stop[globals()], stop[loaded_modules] = true, true, true
  local stack, n = T(), 0
  local function push(v)
    if v ~= nil and not seen[v] and (type(v) == "table" or type(v) == "function") then
      seen[v] = true
      n = n + 1
      stack[n] = v
    end
  end
  local function fix(kind, a, b, v)
    local f = T()
    f.kind, f.a, f.b, f.v = kind, a, b, v
    fixups[#fixups + 1] = f
  end
  local function visit_cells(f, join)
    for i = 1, 255 do
      local name, v = getupvalue(f, i)
      if name == nil then
        break
      end
      local src = cellmap[upvalueid(f, i)]
      if src ~= nil then
        if join then
          upvaluejoin(f, i, src[1], src[2])
        end
      else
        if by_new[v] or tmap[v] then
          fix("up", f, i, v)
        end
        push(v)
      end
    end
  end
  for _, v in next, self.adopt do
    push(v)
  end
  for _, p in next, self.pairs do
    seen[p.old], seen[p.new] = true, true
    visit_cells(p.new, false)
  end
  while n > 0 do
    local v = stack[n]
    stack[n] = nil
    n = n - 1
    if type(v) == "function" then
      if is_lua(v) and not by_old[v] and not by_new[v] then
        visit_cells(v, true)
      end
    elseif
      not tables[v]
      and not tmap[v]
      and not stop[v]
      and (created == nil or created[v])
      and getmeta(v) ~= INTERNAL
    then
      for k, x in next, v do
        if by_new[x] or tmap[x] then
          fix("val", v, k, x)
        end
        if by_new[k] or tmap[k] then
          fix("key", v, k, k)
        end
        push(k)
        push(x)
      end
      push(getmeta(v))
    end
  end
end

-- After the swap: wherever a new object still points at a new table that was
-- merged into an old one, or at a new function that was swapped into its old
-- closure, point at the old object.
function Ctx:canonical(v)
  local t = self.tmap[v]
  if t ~= nil then
    return t
  end
  local p = self.by_new[v]
  -- The old closure stands for its new version when it now runs the new
  -- code, or when the code did not change at all.
  if p and (p.inplace or not p.differs) then
    return p.old
  end
  return nil
end

function Ctx:canonicalize()
  for _, f in next, self.fixups do
    local target = self:canonical(f.v)
    if target ~= nil then
      if f.kind == "up" then
        setupvalue(f.a, f.b, target)
      elseif f.kind == "val" then
        rawset(f.a, f.b, target)
      else
        local x = rawget(f.a, f.b)
        rawset(f.a, f.b, nil)
        rawset(f.a, target, x)
      end
    end
  end
  -- Values the merge placed into live tables.
  for _, j in next, self.journal do
    if j.kind == "set" then
      local target = self:canonical(rawget(j.t, j.k))
      if target ~= nil and type(target) == "function" then
        rawset(j.t, j.k, target)
      end
    end
  end
end

-- Closures on some thread's stack right now: they keep their code.
function Ctx:active_functions()
  local native_active = self.engine.backend.active
  if native_active then
    local set = native_active(self.engine.threads)
    return setmetatable(set, INTERNAL)
  end
  local active = T()
  local function scan(th)
    local level = 0
    while true do
      local info
      if th then
        info = getinfo(th, level, "f")
      else
        info = getinfo(level, "f")
      end
      if info == nil then
        break
      end
      if info.func then
        active[info.func] = true
      end
      level = level + 1
    end
  end
  local current = co_running()
  scan(nil)
  local main = registry[1]
  if type(main) == "thread" and main ~= current then
    scan(main)
  end
  for co in next, self.engine.threads do
    if co ~= current and co ~= main and co_status(co) ~= "dead" then
      scan(co)
    end
  end
  return active
end

-- Gives every changed old function the new code: in place when the backend
-- can, else by replacing references to it.
function Ctx:apply_functions(new_chunk, old_chunk, boundary)
  local backend = self.engine.backend
  local active = self:active_functions()
  local entries = T()
  local todo = T()
  for _, p in next, self.pairs do
    if p.differs then
      local src = T()
      for i = 1, 255 do
        local name = getupvalue(p.new, i)
        if name == nil then
          break
        end
        local m = self.cellmap[upvalueid(p.new, i)]
        local k = 2 * i
        if m then
          src[k - 1], src[k] = m[1], m[2]
        else
          src[k - 1], src[k] = p.new, i
        end
      end
      local e = T()
      e[1], e[2], e[3], e[4] = p.old, p.new, src, active[p.old] and true or false
      entries[#entries + 1] = e
      todo[#todo + 1] = p
      if active[p.old] then
        local info = getinfo(p.old, "S")
        self:warn(
          (p.path or "function") .. " (" .. info.short_src .. ":" .. info.linedefined
            .. ") is running; it keeps its old code until it returns"
        )
      end
    end
  end
  local results = backend.swap(entries)
  local refmap, rootpairs, skip = T(), T(), T()
  for i, p in next, todo do
    local clone = results[i]
    local rp = T()
    if clone then
      p.inplace, p.clone = true, clone
      local j = T()
      j.kind, j.old, j.clone = "swap", p.old, clone
      self.journal[#self.journal + 1] = j
      skip[clone] = true
      rp[1], rp[2] = clone, p.new
    else
      refmap[p.old] = p.new
      rp[1], rp[2] = p.old, p.new
    end
    rootpairs[#rootpairs + 1] = rp
  end
  if old_chunk and new_chunk then
    local rp = T()
    rp[1], rp[2] = old_chunk, new_chunk
    rootpairs[#rootpairs + 1] = rp
    skip[old_chunk] = true
  end
  -- Functions matched by path (or removed) are handled: the structural
  -- pairing of the old and new chunk must not give their code to others.
  local handled = T()
  for o in next, self.by_old do
    handled[o] = true
  end
  for _, o in next, self.removed_fns do
    handled[o] = true
  end
  local stats = backend.walk(refmap, rootpairs, skip, active, boundary, INTERNAL, handled, true)
  self:journal_walk(refmap, rootpairs, skip, boundary, stats)
  self:walk_warnings(stats)
  return stats
end

-- Remembers a walk for the undo; the closures it made for nested functions
-- whose upvalues changed are replaced back like the others.
function Ctx:journal_walk(refmap, rootpairs, skip, boundary, stats)
  if stats and type(stats.fresh) == "table" then
    for o, n in next, stats.fresh do
      refmap[o] = n
    end
  end
  local j = T()
  j.kind, j.refmap, j.rootpairs, j.skip, j.boundary = "walk", refmap, rootpairs, skip, boundary
  self.journal[#self.journal + 1] = j
end

local function lines_text(path, lines)
  if type(lines) ~= "table" or #lines == 0 then
    return ""
  end
  local at = {}
  for i, line in ipairs(lines) do
    at[i] = path .. ":" .. line
  end
  return " (defined at " .. concat(at, ", ") .. ")"
end

function Ctx:walk_warnings(stats)
  if not stats then
    return
  end
  local path = self.rec.path
  if stats.running and stats.running > 0 then
    self:warn(
      stats.running
        .. " running closure(s) of changed functions keep their old code until they return"
        .. lines_text(path, stats.running_lines)
    )
  end
  if stats.layout and stats.layout > 0 then
    self:warn(
      stats.layout
        .. " closure(s) keep their old code: their upvalues differ in the new version"
        .. lines_text(path, stats.layout_lines)
    )
  end
  if stats.unmatched and stats.unmatched > 0 then
    self:warn(
      stats.unmatched
        .. " closure(s) keep their old code: no function of the new version could be matched to theirs by name"
        .. lines_text(path, stats.unmatched_lines)
    )
  end
  if stats.unsupported then
    self:warn(stats.unsupported)
  end
end

function Ctx:rollback()
  local backend = self.engine.backend
  local journal = self.journal
  for i = #journal, 1, -1 do
    local j = journal[i]
    if j.kind == "set" then
      rawset(j.t, j.k, j.v)
    elseif j.kind == "meta" then
      setmeta(j.t, j.v)
    elseif j.kind == "table" then
      local t, copy = j.t, j.copy
      for k in next, t do
        if copy[k] == nil then
          rawset(t, k, nil)
        end
      end
      for k, v in next, copy do
        if rawget(t, k) ~= v then
          rawset(t, k, v)
        end
      end
      if getmeta(t) ~= j.v then
        setmeta(t, j.v)
      end
    elseif j.kind == "swap" then
      backend.restore(j.old, j.clone)
    elseif j.kind == "walk" then
      local back, pairs_back = T(), T()
      for o, n in next, j.refmap do
        back[n] = o
      end
      for k, rp in next, j.rootpairs do
        local r = T()
        r[1], r[2] = rp[2], rp[1]
        pairs_back[k] = r
      end
      local skip = T()
      for k, v in next, j.skip do
        skip[k] = v
      end
      for _, rp in next, j.rootpairs do
        skip[rp[2]] = true
      end
      backend.walk(back, pairs_back, skip, T(), j.boundary, INTERNAL)
    elseif j.kind == "upvalue" then
      setupvalue(j.fn, j.index, j.v)
    elseif j.kind == "field" then
      j.t[j.k] = j.v
    end
  end
  self.journal = T()
end

function Ctx:report()
  sort(self.changed)
  sort(self.added)
  sort(self.removed)
  local r = T()
  r.changed, r.added, r.removed, r.warnings = self.changed, self.added, self.removed, self.warnings
  return r
end

---------------------------------------------------------------------------
-- The engine installed in one VM.

local Engine = {}
Engine.__index = Engine

--- Creates the engine and starts tracking `require` and coroutines. Call it
--- before the program runs.
function M.new(backend)
  local self = setmetatable({}, Engine)
  self.backend = backend
  self.modules = {} -- module name -> { name, path, chunkname, chunk }
  self.files_ran = {} -- path -> { path, chunkname, chunk, env, file = true }
  self.threads = setmetatable({}, { __mode = "k" })
  self:track_require()
  self:track_files()
  self:track_threads()
  return self
end

function Engine:track_require()
  local modules = self.modules
  local searchers = package.searchers or package.loaders
  for i, searcher in ipairs(searchers) do
    searchers[i] = function(name, ...)
      local hiding = self.hiding
      if hiding ~= nil and hiding.name == name then
        -- The module being reloaded, hidden while its new top level runs.
        return function()
          return hiding.value
        end, ":hotreload:"
      end
      local loader, extra = searcher(name, ...)
      if type(extra) == "string" and is_lua(loader) then
        local rec = modules[name] or {}
        rec.name, rec.path, rec.chunkname, rec.chunk = name, extra, "@" .. extra, loader
        modules[name] = rec
      end
      return loader, extra
    end
  end
end

-- Remembers the files the program runs with dofile/loadfile, so that they
-- reload like global-style modules.
function Engine:track_files()
  local files = self.files_ran
  local G = globals()
  local loadfile_c = G.loadfile
  if type(loadfile_c) ~= "function" then
    return
  end
  local function record(path, chunk, env)
    if type(path) == "string" and is_lua(chunk) then
      files[path] = { path = path, chunkname = "@" .. path, chunk = chunk, env = env, file = true }
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
  if type(G.dofile) == "function" then
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

-- Remembers every coroutine the program creates, so that a reload can see
-- which functions are running on any stack without a heap walk.
function Engine:track_threads()
  local threads = self.threads
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
      if type(err) == "string" then
        error(err, 2)
      end
      error(err, 0)
    end
    return function(...)
      return finish(resume(co, ...))
    end
  end
end

--- Remembers the main program file; `chunkname` is what it was loaded with.
function Engine:set_program(path, chunkname)
  self.program = { program = true, path = path, chunkname = chunkname or ("@" .. path) }
end

--- Every file the engine can reload: array of { kind, name, path } where kind
--- is "module" (name set), "file" (run with dofile/loadfile) or "program".
function Engine:files()
  local out = {}
  for name, rec in next, self.modules do
    if loaded_modules[name] ~= nil then
      out[#out + 1] = { kind = "module", name = name, path = rec.path }
    end
  end
  for path in next, self.files_ran do
    out[#out + 1] = { kind = "file", path = path }
  end
  if self.program then
    out[#out + 1] = { kind = "program", path = self.program.path }
  end
  return out
end

function Engine:resolve(req)
  if req.program then
    if not self.program then
      return nil, "no program is running"
    end
    return self.program
  end
  if req.file then
    local rec = self.files_ran[req.file]
    if not rec then
      return nil, req.file .. ": not a file the program ran"
    end
    return rec
  end
  local name = req.module
  if type(name) ~= "string" or name == "" then
    return nil, "hot reload needs a module name or a path"
  end
  local loaded = loaded_modules[name]
  local rec = self.modules[name]
  if loaded == nil then
    return nil, "module '" .. name .. "' is not loaded by the program"
  end
  if rec then
    return rec
  end
  local path = package.searchpath and package.searchpath(name, package.path)
  if not path then
    return nil, "module '" .. name .. "' is loaded but its file is not on package.path"
  end
  rec = { name = name, path = path, chunkname = "@" .. path }
  self.modules[name] = rec
  return rec
end

--- (true) when `req` names something reloadable, else (false, message).
function Engine:resolve_check(req)
  local rec, err = self:resolve(req)
  if rec then
    return true
  end
  return false, err
end

-- A global table seen through a transaction: reads see the live globals and
-- the pending writes, writes stay pending until commit.
local function transaction_env(G)
  local pending = T()
  local env = {}
  setmetatable(env, {
    __index = function(_, k)
      local v = pending[k]
      if v ~= nil then
        if v == NIL then
          return nil
        end
        return v
      end
      v = G[k]
      if v == G then
        return env
      end
      return v
    end,
    __newindex = function(_, k, v)
      if v == nil then
        v = NIL
      end
      pending[k] = v
    end,
    __pairs = function()
      return next, G, nil
    end,
  })
  return env, pending
end

local function shallow_copy(t)
  local c = {}
  for k, v in next, t do
    c[k] = v
  end
  return c
end

--- Reloads a module (`req.module`) or the program (`req.program`) from
--- `req.source`. Returns a report table, or nil and `file:line: reason`.
function Engine:reload(req)
  local rec, err = self:resolve(req)
  if not rec then
    return nil, err
  end
  if type(req.source) ~= "string" then
    return nil, rec.path .. ": no source to reload"
  end
  -- Keep the collector out of the middle of a reload (LuaJIT has no
  -- "isrunning": assume it runs).
  local known, gc_was_running = pcall(collectgarbage, "isrunning")
  if not known then
    gc_was_running = true
  end
  collectgarbage("stop")
  local ctx = new_ctx(self, rec)
  local ok, report, rerr = pcall(function()
    if rec.program then
      return self:reload_program(ctx, req.source)
    end
    return self:reload_module(ctx, req.source)
  end)
  if not ok then
    -- A bug of ours, not of the program: still leave the program as it was.
    pcall(ctx.rollback, ctx)
    report, rerr = nil, rec.path .. ": internal error in hot reload: " .. tostring(report)
  end
  if gc_was_running then
    collectgarbage("restart")
  end
  if report then
    -- A file or the program is named by its file name.
    report.module = rec.name or rec.path:match("[^/\\]+$") or rec.path
    report.path = rec.path
  end
  return report, rerr
end

function Engine:reload_module(ctx, source)
  local rec = ctx.rec
  local G = globals()
  -- A file run with its own environment keeps it; writes to it are held
  -- back the same way.
  local target = rec.env or G
  local env, pending = transaction_env(target)
  local chunk, cerr = load(source, rec.chunkname, "t", env)
  if not chunk then
    return nil, cerr
  end

  -- Whatever the new top level writes outside its transaction (globals and
  -- `package.loaded` entries of modules it requires for the first time) is
  -- undone on any failure, up to the end of `__on_reload`.
  local loaded = loaded_modules
  ctx:snapshot_table(G)
  if target ~= G then
    ctx:snapshot_table(target)
  end
  ctx:snapshot_table(loaded)

  -- Run the new top level with the module hidden from `package.loaded`, so
  -- that `package.loaded[name] or {}` builds a fresh table that the normal
  -- merge then matches by path; `require(name)` still gets the live value.
  local live = rec.name ~= nil and loaded[rec.name] or nil
  if rec.name ~= nil then
    rawset(loaded, rec.name, nil)
    self.hiding = { name = rec.name, value = live }
  end
  local boundary = self.backend.mark()
  local gc_mark = self.backend.gc_mark and self.backend.gc_mark()
  local ok, result
  if rec.name ~= nil then
    ok, result = pcall(chunk, rec.name, rec.path)
  else
    ok, result = pcall(chunk)
  end
  self.hiding = nil
  if rec.name ~= nil then
    -- A top level that publishes itself instead of returning a value.
    local published = rawget(loaded, rec.name)
    if ok and result == nil and published ~= nil and published ~= live then
      result = published
    end
    rawset(loaded, rec.name, live)
  end
  if not ok then
    ctx:rollback()
    return nil, error_text(result, rec.path)
  end
  if gc_mark then
    ctx.created = setmetatable(self.backend.created_since(gc_mark), INTERNAL)
  end
  local name = getupvalue(chunk, 1)
  if name == "_ENV" then
    setupvalue(chunk, 1, target)
  end

  local new = result
  if rec.name == nil then
    new = true -- what a file returns goes to whoever ran it, not to us
  end
  if new == nil then
    new = true
  end
  local old_copy = type(live) == "table" and shallow_copy(live) or live
  if type(live) == "table" and type(new) == "table" then
    ctx:merge_table(live, new, rec.name)
  elseif type(live) == "function" and type(new) == "function" then
    if ctx:defined_here(live) and ctx:defined_here(new) then
      ctx:pair(live, new, rec.name)
    end
  elseif new == true and type(live) == "table" and next(pending) == nil then
    ctx:warn(rec.path .. ": the new version returned nothing: no keys were added or removed")
  elseif new ~= true and type(live) ~= type(new) then
    ctx:set(loaded, rec.name, new)
    ctx:note(ctx.changed, rec.name)
    ctx.adopt[#ctx.adopt + 1] = new
  end

  -- Globals the new top level wrote (global-style modules).
  for k, v in next, pending do
    if v ~= NIL then
      ctx:merge_value(target, k, rawget(target, k), v, k)
    end
  end
  if type(new) ~= "table" and type(new) ~= "function" then
    for k, v in next, target do
      -- Another global holding a function the new version still defines
      -- (an alias) stays.
      if
        type(k) == "string"
        and pending[k] == nil
        and type(v) == "function"
        and not ctx.by_old[v]
        and ctx:defined_here(v)
      then
        ctx:set(target, k, nil)
        ctx:note(ctx.removed, k)
        ctx.removed_fns[#ctx.removed_fns + 1] = v
      end
    end
  end

  ctx:relink()
  ctx:apply_functions(chunk, rec.chunk, boundary)
  ctx:canonicalize()
  local j = T()
  j.kind, j.t, j.k, j.v = "field", rec, "chunk", rec.chunk
  ctx.journal[#ctx.journal + 1] = j
  rec.chunk = chunk

  -- `__on_reload(old)` last; an error in it undoes everything.
  local hook
  if type(new) == "table" and rawget(new, "__on_reload") ~= nil then
    hook = type(live) == "table" and rawget(live, "__on_reload") or rawget(new, "__on_reload")
    hook = ctx:canonical(hook) or hook
  elseif pending.__on_reload ~= nil and pending.__on_reload ~= NIL then
    hook = rawget(target, "__on_reload")
  end
  if type(hook) == "function" then
    -- What the hook may write that belongs to the module is put back if it
    -- fails: the module's tables, its functions' upvalues, the hook's own.
    local roots = T()
    roots[1], roots[2] = live, hook
    for k, v in next, pending do
      if v ~= NIL then
        roots[#roots + 1] = rawget(target, k)
      end
    end
    ctx:snapshot_reachable(roots)
    local hok, herr = pcall(hook, old_copy)
    if not hok then
      ctx:rollback()
      return nil, error_text(herr, rec.path)
    end
  end
  return ctx:report()
end

-- The main program is running, so its top level is not run again: the
-- functions it defined get the new code (matched by their place in the file)
-- and everything else keeps its running value.
function Engine:reload_program(ctx, source)
  local rec = ctx.rec
  local G = globals()
  if not self.backend.native then
    return nil, rec.path .. ": reloading the main program needs the native engine"
  end
  -- Look for the live chunk first: the new one has the same name.
  local old = self:find_main(rec)
  local chunk, cerr = load(source, rec.chunkname, "t", G)
  if not chunk then
    return nil, cerr
  end
  if not old then
    return nil, rec.path .. ": the program's main chunk is gone; nothing to reload"
  end
  local boundary = self.backend.mark()
  local before = T()
  local function each_function(fn)
    for k, v in next, G do
      if type(v) == "function" and ctx:defined_here(v) then
        fn(k, v)
      elseif type(v) == "table" and getmeta(v) ~= INTERNAL and v ~= G then
        -- Names only: a global holding a big data table is not scanned whole.
        local seen = 0
        for k2, v2 in next, v do
          if type(v2) == "function" and ctx:defined_here(v2) then
            fn(key_path(k, k2), v2)
          end
          seen = seen + 1
          if seen >= 256 then
            break
          end
        end
      end
    end
  end
  each_function(function(name, f)
    before[name] = stripped(f)
  end)
  local rootpairs, skip = T(), T()
  local rp = T()
  rp[1], rp[2] = old, chunk
  rootpairs[1] = rp
  skip[old] = true
  local active = ctx:active_functions()
  if active[old] then
    ctx:warn("the main program's top level is running; code it runs itself keeps the old version")
  end
  local stats = self.backend.walk(T(), rootpairs, skip, active, boundary, INTERNAL, nil, true)
  if stats and stats.unsupported then
    return nil, rec.path .. ": " .. stats.unsupported
  end
  ctx:journal_walk(T(), rootpairs, skip, boundary, stats)
  ctx:walk_warnings(stats)
  each_function(function(name, f)
    if before[name] ~= nil and before[name] ~= stripped(f) then
      ctx:note(ctx.changed, name)
    end
  end)
  if stats and stats.added and stats.added > 0 then
    ctx:warn(stats.added .. " new function(s) in the main program take effect when the program restarts")
  end
  sort(ctx.changed)
  return ctx:report()
end

function Engine:find_main(rec)
  local main = registry[1]
  local function scan(th)
    local level = 0
    while true do
      local info
      if th then
        info = getinfo(th, level, "Sf")
      else
        info = getinfo(level, "Sf")
      end
      if info == nil then
        return nil
      end
      if info.what == "main" and info.source == rec.chunkname then
        return info.func
      end
      level = level + 1
    end
  end
  local f = scan(nil)
  if not f and type(main) == "thread" and main ~= co_running() then
    f = scan(main)
  end
  if not f and self.backend.find_chunk then
    f = self.backend.find_chunk(rec.chunkname)
  end
  return f
end

---------------------------------------------------------------------------
-- The pure-Lua backend: references are replaced by a walk; nothing is
-- swapped in place.

-- Builds the portable backend from the walker module (walker.lua).
function M.lua_backend(walker)
  local b = {}
  -- The frames under reload_module (the caller of mark), for the walker.
  function b.mark()
    local frames = walker.depth() -- mark, reload_module, and under them
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
  function b.walk(refmap, _rootpairs, _skip, _active, boundary, internal)
    local stats = { replaced = 0 }
    if next(refmap) ~= nil then
      stats.replaced = walker.walk(refmap, internal, boundary)
    end
    return stats
  end
  return b
end

return M
