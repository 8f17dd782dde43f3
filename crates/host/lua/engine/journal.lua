-- The undo journal of one reload: every write the reload makes to the live
-- program is recorded first, and `rollback` replays the records backwards,
-- so that any failure (even in `__on_reload`) leaves the program exactly as
-- it was. Records are the engine's own tables (INTERNAL), so that reference
-- passes do not rewrite what the undo needs.
local debug, parts = ...
local common = parts.common

local next, type, rawget, rawset, setmetatable = next, type, rawget, rawset, setmetatable
local getupvalue, setupvalue, upvalueid = debug.getupvalue, debug.setupvalue, debug.upvalueid
local getmeta, setmeta = debug.getmetatable, debug.setmetatable
local T, INTERNAL = common.T, common.INTERNAL
local registry, loaded_modules, globals = common.registry, common.loaded, common.globals

local J = {}

local Journal = {}
Journal.__index = Journal

--- An empty journal; `backend` undoes swaps and reference passes.
function J.new(backend)
  local self = setmetatable(T(), Journal)
  self.backend = backend
  -- Records, applied in reverse: { kind = "set" | "meta" | "table" |
  -- "upvalue" | "swap" | "walk" | "field", ... }.
  self.entries = T()
  return self
end

function Journal:add(record)
  self.entries[#self.entries + 1] = record
end

--- `t[k] = v` (raw), undoable.
function Journal:set(t, k, v)
  local j = T()
  j.kind, j.t, j.k, j.v = 'set', t, k, rawget(t, k)
  self:add(j)
  rawset(t, k, v)
end

--- Sets the metatable of `t`, undoable.
function Journal:setmeta(t, mt)
  local j = T()
  j.kind, j.t, j.v = 'meta', t, getmeta(t)
  self:add(j)
  setmeta(t, mt)
end

--- Remembers that upvalue `index` of `fn` held `v`, before it is written.
function Journal:upvalue(fn, index, v)
  local u = T()
  u.kind, u.fn, u.index, u.v = 'upvalue', fn, index, v
  self:add(u)
end

--- Remembers `t[k]` (not raw), before it is written.
function Journal:field(t, k)
  local j = T()
  j.kind, j.t, j.k, j.v = 'field', t, k, t[k]
  self:add(j)
end

--- Remembers an in-place swap: `clone` kept the code and cells of `old`.
function Journal:swap(old, clone)
  local j = T()
  j.kind, j.old, j.clone = 'swap', old, clone
  self:add(j)
end

--- Remembers a reference pass; the closures it made for nested functions
--- whose upvalues changed (`stats.fresh`) are replaced back like the others.
function Journal:walk(refmap, rootpairs, skip, boundary, stats)
  if stats and type(stats.fresh) == 'table' then
    for o, n in next, stats.fresh do
      refmap[o] = n
    end
  end
  local j = T()
  j.kind, j.refmap, j.rootpairs, j.skip, j.boundary = 'walk', refmap, rootpairs, skip, boundary
  self:add(j)
end

-- Remembers every entry and the metatable of `t`, so that a rollback puts it
-- back exactly (writes the engine cannot see one by one: a module newly
-- required by the new top level, `__on_reload`).
function Journal:snapshot_table(t)
  local copy = T()
  for k, v in next, t do
    copy[k] = v
  end
  local j = T()
  j.kind, j.t, j.copy, j.v = 'table', t, copy, getmeta(t)
  self:add(j)
end

-- Snapshots what `__on_reload` can reach that belongs to the module `name`:
-- the tables reachable from `roots` (not other modules' tables, nor the
-- globals) and the upvalue cells of this file's functions among them
-- (`defined_here(f)`).
function Journal:snapshot_reachable(roots, name, defined_here)
  local seen, cells = T(), T()
  seen[registry], seen[globals()], seen[loaded_modules] = true, true, true
  for other, v in next, loaded_modules do
    if other ~= name then
      seen[v] = true
    end
  end
  local stack, n = T(), 0
  local function push(v)
    local tv = type(v)
    if (tv == 'table' or tv == 'function') and not seen[v] then
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
    if type(v) == 'table' then
      if getmeta(v) ~= INTERNAL then
        self:snapshot_table(v)
        for k, x in next, v do
          push(k)
          push(x)
        end
        push(getmeta(v))
      end
    elseif defined_here(v) then
      for i = 1, 255 do
        local upname, x = getupvalue(v, i)
        if upname == nil then
          break
        end
        local id = upvalueid(v, i)
        if not cells[id] then
          cells[id] = true
          self:upvalue(v, i, x)
          push(x)
        end
      end
    end
  end
end

--- Snapshots every table reachable from `root` through tables (keys,
--- values, metatables; not functions, nor the shared namespaces): what a
--- library's `__newindex` may write when the merge writes through it.
function Journal:snapshot_graph(root)
  local seen = T()
  seen[registry], seen[globals()], seen[loaded_modules] = true, true, true
  local stack, n = T(), 0
  local function push(v)
    if type(v) == 'table' and not seen[v] and getmeta(v) ~= INTERNAL then
      seen[v] = true
      n = n + 1
      stack[n] = v
    end
  end
  push(root)
  while n > 0 do
    local t = stack[n]
    stack[n] = nil
    n = n - 1
    self:snapshot_table(t)
    for k, v in next, t do
      push(k)
      push(v)
    end
    push(getmeta(t))
  end
end

--- Replays the records backwards down to record `mark` (exclusive; all of
--- them when nil); the journal keeps the records up to `mark`.
function Journal:rollback(mark)
  mark = mark or 0
  local backend = self.backend
  local journal = self.entries
  for i = #journal, mark + 1, -1 do
    local j = journal[i]
    journal[i] = nil
    if j.kind == 'set' then
      rawset(j.t, j.k, j.v)
    elseif j.kind == 'meta' then
      setmeta(j.t, j.v)
    elseif j.kind == 'table' then
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
    elseif j.kind == 'swap' then
      backend.restore(j.old, j.clone)
    elseif j.kind == 'walk' then
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
    elseif j.kind == 'upvalue' then
      setupvalue(j.fn, j.index, j.v)
    elseif j.kind == 'field' then
      j.t[j.k] = j.v
    end
  end
end

return J
