-- Matching old and new values by their path from the module table: the
-- merge rules of DESIGN.md "Reload semantics", one value at a time, and the
-- pairing of an old function with its new version, which follows upvalues of
-- the same name (local helpers and local tables match by name too). Merging
-- a table pairs its functions and pairing a function merges the tables in
-- its upvalues, hence one file.
local debug, parts = ...
local common = parts.common

local next, type, rawget = next, type, rawget
local getupvalue, setupvalue, upvalueid = debug.getupvalue, debug.setupvalue, debug.upvalueid
local getmeta = debug.getmetatable
local T, key_path, stripped = common.T, common.key_path, common.stripped

local Match = {}

local merge_table, pair

--- Merges the new value `nv` at `holder[key]` (the old value `ov`), `path`
--- naming it in the report.
local function merge_value(ctx, holder, key, ov, nv, path)
  if ov == nv or nv == nil then
    return -- same value, or nil in the new version: keep
  end
  if ov == nil then
    ctx.journal:set(holder, key, nv)
    ctx.report:note('added', path)
    ctx.adopt[#ctx.adopt + 1] = nv
    return
  end
  local to, tn = type(ov), type(nv)
  if to ~= tn then
    ctx.journal:set(holder, key, nv)
    ctx.report:note('changed', path)
    ctx.adopt[#ctx.adopt + 1] = nv
  elseif tn == 'function' then
    -- Only this file's functions are versions of each other. C functions
    -- are never touched; a reference to a function from elsewhere is data,
    -- and like a scalar the running value wins.
    if ctx:defined_here(ov) and ctx:defined_here(nv) then
      pair(ctx, ov, nv, path)
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
  for k, nv in next, nt do
    merge_value(ctx, ot, k, rawget(ot, k), nv, key_path(path, k))
  end
  for k, ov in next, ot do
    if type(k) == 'string' and rawget(nt, k) == nil and type(ov) == 'function' and ctx:defined_here(ov) then
      ctx.journal:set(ot, k, nil)
      ctx.report:note('removed', key_path(path, k))
      ctx.removed_fns[#ctx.removed_fns + 1] = ov
    end
  end
  local omt, nmt = getmeta(ot), getmeta(nt)
  if nmt ~= nil and omt ~= nmt then
    if omt == nil then
      ctx.journal:setmeta(ot, nmt)
      ctx.adopt[#ctx.adopt + 1] = nmt
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

--- Pairs the old Lua function `o` with its new version `n`, then follows
--- upvalues of the same name.
function pair(ctx, o, n, path)
  if ctx.by_old[o] or ctx.by_new[n] then
    return
  end
  local p = T()
  p.old, p.new, p.path = o, n, path
  p.differs = stripped(o) ~= stripped(n)
  ctx.by_old[o], ctx.by_new[n] = p, p
  ctx.pairs[#ctx.pairs + 1] = p
  if p.differs then
    ctx.report:note('changed', path)
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
      if ctx.cellmap[id] == nil then
        local src = T()
        src[1], src[2] = o, j
        ctx.cellmap[id] = src
      end
      local _, ov = getupvalue(o, j)
      if name ~= '_ENV' and ov ~= nil and nv ~= nil and ov ~= nv then
        if type(ov) ~= type(nv) then
          -- A type change: the new value wins, in the old (shared) cell.
          ctx.journal:upvalue(o, j, ov)
          setupvalue(o, j, nv)
          ctx.report:note('changed', name)
          ctx.adopt[#ctx.adopt + 1] = nv
        elseif type(ov) == 'function' and ctx:defined_here(ov) and ctx:defined_here(nv) then
          pair(ctx, ov, nv, name)
        elseif type(ov) == 'table' and ctx:mergeable(ov, nv) then
          merge_table(ctx, ov, nv, name)
        end
      end
    end
  end
end

Match.value, Match.table, Match.pair = merge_value, merge_table, pair
return Match
