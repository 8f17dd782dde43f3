-- Matching old and new values by their path from the module table: the
-- merge rules of the engine's README ("What a reload does"), one value at a
-- time, and the pairing of an old function with its new version, which
-- follows upvalues of the same name (local helpers and local tables match by
-- name too). Merging a table pairs its functions and pairing a function
-- merges the tables in its upvalues, hence one file.
--
-- When the new version splits a function or a class library is involved,
-- matching runs twice over the same paths (`Match.run`). The first pass
-- (`ctx.dry`, see `Match.plan`) writes nothing: it collects, for every old
-- function, the new functions found where it was, so that an old function
-- the new version splits (one object at two paths, two different
-- successors) gets one successor chosen by the whole picture, not by the
-- order of `next`; and it finds the keys the new version declared through a
-- library's `__newindex` (class libraries), judged on the program as it was
-- before any write.
local debug, parts = ...
local common = parts.common

local next, type, rawget, tostring, setmetatable = next, type, rawget, tostring, setmetatable
local sort = table.sort
local getupvalue, setupvalue, upvalueid = debug.getupvalue, debug.setupvalue, debug.upvalueid
local getmeta = debug.getmetatable
local getinfo = debug.getinfo
local T, key_path, is_lua, visible, has_newindex =
  common.T, common.key_path, common.is_lua, common.visible, common.has_newindex

local Match = {}

local merge_table, pair, later

---@class EngineSuccessor
---@field fn function a new function found where the old one was
---@field count integer at how many paths
---@field path string the first of those paths, in sort order

--- Dry pass: `n` was found where the old function `o` was (at `path`).
local function note_successor(ctx, o, n, path)
  local c = ctx.candidates[o]
  if c == nil then
    c = T()
    ctx.candidates[o] = c
  end
  local e = c[n]
  path = tostring(path)
  if e == nil then
    e = T()
    e.fn, e.count, e.path = n, 0, path
    c[n] = e
  end
  e.count = e.count + 1
  if path < e.path then
    e.path = path
  end
end

--- The matching reached the object `v` by `path` (an upvalue's name when
--- `by_upvalue`). An object reached again by a path from the module that is
--- not inside the first one (a table's own `__index = t` is) may have a
--- better name than the matching's: names.lua then names every object the
--- same way in every run. Else the matching's path is its only one (an
--- upvalue's name is a name of last resort).
local function visit(ctx, v, path, by_upvalue)
  local visits = ctx.visits
  local first = visits[v]
  if first == nil then
    local tv = type(v)
    if tv == 'function' or tv == 'table' then
      visits[v] = by_upvalue or tostring(path)
    end
    return
  end
  if ctx.dry or ctx.needs_names then
    return
  elseif by_upvalue then
    return
  elseif first == true then
    ctx.needs_names = true -- an upvalue first, the module's path now
  else
    local p = tostring(path)
    local n = #first
    local c = p:sub(n + 1, n + 1)
    if p:sub(1, n) ~= first or not (c == '.' or c == '[' or c == '<') then
      ctx.needs_names = true
    end
  end
end

--- The new value `nv` takes `holder[key]` as it is (a new object, or a value
--- of another kind than before): journaled, reported, adopted.
local function take_new(ctx, holder, key, ov, nv, path, list)
  ctx.journal:set(holder, key, nv)
  ctx.report:note_slot(list, holder, key, path, nv)
  ctx.adopt[#ctx.adopt + 1] = nv
  if type(ov) == 'function' and ctx:defined_here(ov) then
    ctx.removed_fns[#ctx.removed_fns + 1] = ov
  end
end

--- Merges the new value `nv` at `holder[key]` (the old value `ov`), `path`
--- naming it in the report.
local function merge_value(ctx, holder, key, ov, nv, path)
  visit(ctx, nv, path)
  if ov == nv or nv == nil then
    return -- same value, or nil in the new version: keep
  end
  local dry = ctx.dry
  if ov == nil then
    if not dry then
      ctx.journal:set(holder, key, nv)
      ctx.report:note_slot('added', holder, key, path, nv)
      ctx.adopt[#ctx.adopt + 1] = nv
    end
    return
  end
  local to, tn = type(ov), type(nv)
  if to ~= tn then
    if not dry then
      take_new(ctx, holder, key, ov, nv, path, 'changed')
    end
  elseif tn == 'function' then
    local old_here, new_here = ctx:defined_here(ov), ctx:defined_here(nv)
    if old_here and new_here then
      if dry then
        note_successor(ctx, ov, nv, path)
        pair(ctx, ov, nv, path)
        return
      end
      local successor = ctx.successor[ov]
      local p = ctx.by_old[ov]
      if p and p.new ~= nv then
        ctx.needs_plan = true -- a split: match.run plans and matches again
      end
      if successor ~= nil and successor ~= nv then
        -- The new version split this old function: the old object went to
        -- another path; this one gets its new function as a new object.
        take_new(ctx, holder, key, nil, nv, path, 'changed')
      else
        pair(ctx, ov, nv, path)
      end
    elseif is_lua(ov) ~= is_lua(nv) and not dry then
      -- A C function and a Lua function: the new source decides what is at
      -- this key. (A reference to a function from elsewhere is otherwise
      -- data: the running value wins.) C functions are never modified.
      take_new(ctx, holder, key, ov, nv, path, 'changed')
    end
  elseif tn == 'table' then
    -- A table that existed before the reload (another module's, the
    -- globals) is a reference, never merged: the running value wins.
    if ctx:mergeable(ov, nv) then
      merge_table(ctx, ov, nv, path)
    end
  end
  -- scalars and userdata: the running value wins
end

--- True when the old table `ot` and the new table `nt` share a library's
--- function `__newindex` (not this file's own, as a read-only proxy module
--- has): the new top level wrote through it.
local function library_newindex(ctx, ot, nt)
  local omt, nmt = getmeta(ot), getmeta(nt)
  if type(omt) ~= 'table' or type(nmt) ~= 'table' then
    return false
  end
  local ni = rawget(omt, '__newindex')
  return type(ni) == 'function' and ni == rawget(nmt, '__newindex') and not ctx:defined_here(ni)
end

--- Dry pass, on the program as it was: keys the new table `nt` shows through
--- its metatable (not raw) whose write the library's `__newindex` must see
--- on the old table `ot` too, because it keeps invariants there (class
--- libraries copy declared methods into instance dictionaries and
--- subclasses). Only a library's `__newindex`, shared by both versions. A
--- key is one when a table field of `nt` holds this file's function under
--- it, `nt[k]` shows that function, and the old table's field of the same
--- name lacks the key (added) - or the reverse (removed).
local function find_declared(ctx, ot, nt, path)
  if not library_newindex(ctx, ot, nt) then
    return
  end
  -- `from` shows `k` through a field of its own that `other` has as a
  -- table without `k`.
  local function scan(from, other, adding)
    for fk, field in next, from do
      local counterpart = rawget(other, fk)
      if type(field) == 'table' and type(counterpart) == 'table' and getmeta(field) ~= common.INTERNAL then
        for k, f in next, field do
          if
            type(k) == 'string'
            and type(f) == 'function'
            and rawget(counterpart, k) == nil
            and rawget(from, k) == nil
            and rawget(other, k) == nil
            and ctx:defined_here(f)
            and visible(from, k) == f
          then
            local d = T()
            d.t, d.nt, d.k, d.path = ot, nt, k, key_path(path, k)
            d.v = adding and f or nil
            d.old = not adding and f or nil
            ctx.declared[#ctx.declared + 1] = d
          end
        end
      end
    end
  end
  scan(nt, ot, true)
  scan(ot, nt, false)
end

--- Merges the new table `nt` into the old table `ot`: keys, removed
--- functions of this file, the metatable.
function merge_table(ctx, ot, nt, path)
  if ot == nt or ctx.tables[ot] then
    return
  end
  ctx.tables[ot] = true
  if ctx.tmap[nt] == nil then
    ctx.tmap[nt] = ot
  end
  local dry = ctx.dry
  if dry then
    find_declared(ctx, ot, nt, path)
  else
    if library_newindex(ctx, ot, nt) then
      ctx.needs_plan = true
    end
    if has_newindex(ot) then
      ctx.needs_names = true -- names.lua names what a class shows
    end
  end
  for k, nv in next, nt do
    local tk = type(k)
    local ov = rawget(ot, k)
    if ov == nil and (tk == 'table' or tk == 'function') then
      -- A new object as a key may stand for an old one (a class the new
      -- version registered in its parent's `subclasses`): decided once
      -- every table and function is matched (Match.object_keys).
      if not dry then
        local d = T()
        d.t, d.k, d.v, d.path = ot, k, nv, path
        ctx.object_keys[#ctx.object_keys + 1] = d
      end
    else
      merge_value(ctx, ot, k, ov, nv, key_path(path, k))
    end
  end
  if not dry then
    for k, ov in next, ot do
      if type(k) == 'string' and rawget(nt, k) == nil and type(ov) == 'function' and ctx:defined_here(ov) then
        ctx.journal:set(ot, k, nil)
        ctx.report:note_slot('removed', ot, k, key_path(path, k), ov)
        ctx.removed_fns[#ctx.removed_fns + 1] = ov
      end
    end
  end
  local omt, nmt = getmeta(ot), getmeta(nt)
  if nmt ~= nil and omt ~= nmt then
    if omt == nil then
      if not dry then
        ctx.journal:setmeta(ot, nmt)
        ctx.adopt[#ctx.adopt + 1] = nmt
      end
    elseif type(omt) == 'table' and type(nmt) == 'table' then
      if ctx:mergeable(omt, nmt) then
        merge_table(ctx, omt, nmt, (path or '') .. '<metatable>')
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

--- Queues the pairing (`kind` "pair") or the merge ("table") of an old
--- value `o` found in an upvalue named `name` with its new version `n`:
--- done after the paths from the module (`drain`), so that what the module
--- holds is matched by its path from the module, not by an upvalue's name.
function later(ctx, kind, o, n, name)
  local e = T()
  e.kind, e.o, e.n, e.name = kind, o, n, name
  local q = ctx.later
  q[#q + 1] = e
end

--- Runs the queued upvalue matches, and those they queue, in order.
local function drain(ctx)
  local q = ctx.later
  local i = 1
  while q[i] ~= nil do
    local e = q[i]
    visit(ctx, e.n, e.name, true)
    if e.kind == 'pair' then
      local p = not ctx.dry and ctx.by_old[e.o]
      if p and p.new ~= e.n then
        ctx.needs_plan = true -- a split: match.run plans and matches again
      end
      pair(ctx, e.o, e.n, e.name)
    else
      merge_table(ctx, e.o, e.n, e.name)
    end
    i = i + 1
  end
  ctx.later = T()
end

--- Pairs the old Lua function `o` with its new version `n`, then follows
--- upvalues of the same name.
function pair(ctx, o, n, path)
  local dry = ctx.dry
  if dry then
    local seen = ctx.dry_pairs[o]
    if seen == nil then
      seen = T()
      ctx.dry_pairs[o] = seen
    end
    if seen[n] then
      return
    end
    seen[n] = true
  else
    if ctx.by_old[o] or ctx.by_new[n] then
      return
    end
    local p = T()
    p.old, p.new, p.path = o, n, path
    p.differs = not ctx.same_code(o, n)
    -- For the debugger: same code at other lines still takes the new
    -- prototype (apply.lua), so breakpoints at the new lines are hit.
    if not p.differs then
      local oi, ni = getinfo(o, 'S'), getinfo(n, 'S')
      p.moved = oi.linedefined ~= ni.linedefined or oi.lastlinedefined ~= ni.lastlinedefined
    end
    ctx.by_old[o], ctx.by_new[n] = p, p
    ctx.pairs[#ctx.pairs + 1] = p
    if p.differs then
      ctx.report:note_fn('changed', o, n, path)
    end
  end
  local onames = upvalue_names(o)
  for i = 1, 255 do
    local name, nv = getupvalue(n, i)
    if name == nil then
      break
    end
    local j = onames[name]
    if j then
      if not dry then
        local id = upvalueid(n, i)
        if ctx.cellmap[id] == nil then
          local src = T()
          src[1], src[2] = o, j
          ctx.cellmap[id] = src
        end
      end
      local _, ov = getupvalue(o, j)
      if name ~= '_ENV' and ov ~= nil and nv ~= nil and ov ~= nv then
        local split = false
        if type(ov) == 'function' and ctx:defined_here(ov) and ctx:defined_here(nv) then
          if dry then
            note_successor(ctx, ov, nv, name)
          else
            local successor = ctx.successor[ov]
            split = successor ~= nil and successor ~= nv
          end
        end
        if type(ov) ~= type(nv) or split then
          -- A type change, or a split function: the new value wins, in the
          -- old (shared) cell.
          if not dry then
            ctx.journal:upvalue(o, j, ov)
            setupvalue(o, j, nv)
            ctx.report:note('changed', name)
            ctx.adopt[#ctx.adopt + 1] = nv
          end
        elseif type(ov) == 'function' and ctx:defined_here(ov) and ctx:defined_here(nv) then
          later(ctx, 'pair', ov, nv, name)
        elseif type(ov) == 'table' and ctx:mergeable(ov, nv) then
          later(ctx, 'table', ov, nv, name)
        end
      end
    end
  end
end

--- Which successor an old function split by the new version keeps: the one
--- found at the most of its paths; then one whose code did not change (the
--- paths that did not change still share the old object); then the first
--- path in sort order.
local function choose(ctx, old, candidates)
  local same = ctx.same_code
  local list = T()
  for _, e in next, candidates do
    e.same = same(old, e.fn)
    list[#list + 1] = e
  end
  sort(list, function(a, b)
    if a.count ~= b.count then
      return a.count > b.count
    end
    if a.same ~= b.same then
      return a.same
    end
    return a.path < b.path
  end)
  return list[1].fn
end

--- Runs `match` (a function of a context) once without writing, on a
--- shadow of `ctx`, and keeps what the real pass needs: the successor of
--- each old function the new version splits, and the keys declared through
--- `__newindex`. Then the caller runs `match` on `ctx` itself.
function Match.plan(ctx, match)
  local shadow = setmetatable(T(), { __index = ctx })
  shadow.dry = true
  shadow.tables, shadow.tmap = T(), T()
  shadow.candidates, shadow.dry_pairs = T(), T()
  shadow.declared = T()
  shadow.later, shadow.visits = T(), T()
  match(shadow)
  drain(shadow)
  for old, candidates in next, shadow.candidates do
    local first = next(candidates)
    if next(candidates, first) ~= nil then
      ctx.successor[old] = choose(ctx, old, candidates)
    end
  end
  -- A key declared on a table and on another table it refers to (a
  -- subclass and its parent) was declared on the one it refers to: the
  -- library's own propagation carries it to the other.
  local by_key = T()
  for _, d in next, shadow.declared do
    local group = by_key[d.k]
    if group == nil then
      group = T()
      by_key[d.k] = group
    end
    group[#group + 1] = d
  end
  local once = T() -- table -> key -> true: one entry per key of a table
  for _, d in next, shadow.declared do
    local keys = once[d.t]
    if keys == nil then
      keys = T()
      once[d.t] = keys
    end
    local inherited = keys[d.k] == true
    keys[d.k] = true
    for _, other in next, by_key[d.k] do
      if other ~= d and other.v == d.v and other.old == d.old then
        for _, field in next, d.nt do
          if field == other.nt then
            inherited = true
          end
        end
      end
    end
    if not inherited then
      ctx.declared[#ctx.declared + 1] = d
    end
  end
end

--- Matches with `match` (a function of a context). When the matching met
--- an old function the new version splits, or a class library's
--- `__newindex`, what it did is undone and it runs again after a planning
--- pass (`Match.plan`): the common reload pays for one pass only.
function Match.run(ctx, match)
  local mark = #ctx.journal.entries
  match(ctx)
  drain(ctx)
  if not ctx.needs_plan then
    return
  end
  ctx.journal:rollback(mark)
  ctx:reset_matches()
  Match.plan(ctx, match)
  match(ctx)
  drain(ctx)
end

--- After the matching: a new object used as a key stands for the old one it
--- was matched to (a new class registered in its old parent's weak
--- `subclasses` is the old class, already there); a really new one is added.
function Match.object_keys(ctx)
  for _, d in next, ctx.object_keys do
    local k = d.k
    local ck = ctx.tmap[k]
    if ck == nil then
      local p = ctx.by_new[k]
      ck = p and p.old or nil
    end
    if ck ~= nil then
      merge_value(ctx, d.t, ck, rawget(d.t, ck), d.v, key_path(d.path, ck))
    else
      merge_value(ctx, d.t, k, nil, d.v, key_path(d.path, k))
    end
  end
end

Match.value, Match.table, Match.pair = merge_value, merge_table, pair
return Match
