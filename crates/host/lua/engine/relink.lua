-- Ties what the new version made into the live program. Before the new code
-- is applied (`cells`): new closures that become part of the live program
-- share the old upvalue cells (so state stays one cell), and every place
-- where a new object points at a new version of an old one is remembered.
-- After (`canonicalize`): those places point at the old object, which now
-- stands for its new version.
local debug, parts = ...
local common = parts.common

local next, type, rawget, rawset = next, type, rawget, rawset
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local upvalueid, upvaluejoin = debug.upvalueid, debug.upvaluejoin
local getmeta = debug.getmetatable
local T, INTERNAL, is_lua = common.T, common.INTERNAL, common.is_lua
local registry, loaded_modules, globals = common.registry, common.loaded, common.globals

local Relink = {}

--- Joins new closures to the old cells and records the fixups (ctx.fixups).
function Relink.cells(ctx)
  local seen = T()
  local fixups = T()
  ctx.fixups = fixups
  local cellmap, by_old, by_new, tables, tmap = ctx.cellmap, ctx.by_old, ctx.by_new, ctx.tables, ctx.tmap
  local created = ctx.created -- tables the new top level made (native backend)
  -- Shared namespaces are old by definition: never walked from here.
  local stop = T()
  stop[registry], stop[globals()], stop[loaded_modules] = true, true, true
  local stack, n = T(), 0
  local function push(v)
    if v ~= nil and not seen[v] and (type(v) == 'table' or type(v) == 'function') then
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
          fix('up', f, i, v)
        end
        push(v)
      end
    end
  end
  for _, v in next, ctx.adopt do
    push(v)
  end
  for _, p in next, ctx.pairs do
    seen[p.old], seen[p.new] = true, true
    visit_cells(p.new, false)
  end
  while n > 0 do
    local v = stack[n]
    stack[n] = nil
    n = n - 1
    if type(v) == 'function' then
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
          fix('val', v, k, x)
        end
        if by_new[k] or tmap[k] then
          fix('key', v, k, k)
        end
        push(k)
        push(x)
      end
      push(getmeta(v))
    end
  end
end

--- The old object that stands for the new object `v` after the swap: the
--- old table it was merged into, or the old closure when it now runs the
--- new code or the code did not change at all. Nil when none.
function Relink.canonical(ctx, v)
  local t = ctx.tmap[v]
  if t ~= nil then
    return t
  end
  local p = ctx.by_new[v]
  if p and (p.inplace or not (p.differs or p.moved)) then
    return p.old
  end
  return nil
end

local canonical = Relink.canonical

--- After the swap: wherever a new object still points at a new table that
--- was merged into an old one, or at a new function that was swapped into
--- its old closure, point at the old object.
function Relink.canonicalize(ctx)
  for _, f in next, ctx.fixups do
    local target = canonical(ctx, f.v)
    if target ~= nil then
      if f.kind == 'up' then
        setupvalue(f.a, f.b, target)
      elseif f.kind == 'val' then
        rawset(f.a, f.b, target)
      else
        local x = rawget(f.a, f.b)
        rawset(f.a, f.b, nil)
        rawset(f.a, target, x)
      end
    end
  end
  -- Values the merge placed into live tables.
  for _, j in next, ctx.journal.entries do
    if j.kind == 'set' then
      local target = canonical(ctx, rawget(j.t, j.k))
      if target ~= nil and type(target) == 'function' then
        rawset(j.t, j.k, target)
      end
    end
  end
end

return Relink
