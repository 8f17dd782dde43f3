-- How the report names what a reload touched: the shortest path from the
-- module table (fewest keys, then the first in sort order), so that the same
-- function has the same name in every run whatever order `next` visits a
-- table in (`Rect.describe`, not `Square.super.describe`).
local debug, parts = ...
local common = parts.common

local next, type, rawget, sort = next, type, rawget, table.sort
local getmeta = debug.getmetatable
local T, key_path, INTERNAL = common.T, common.key_path, common.INTERNAL
local visible, has_newindex = common.visible, common.has_newindex

local Names = {}

--- Object -> its shortest path, breadth first from `roots` (array of
--- { value, path }) through the old tables the reload merged (`ctx.tables`:
--- the module's own, not the data or other modules they refer to). Keys
--- that are not strings or numbers have no stable name and are not
--- followed. Functions are named only when `wanted` (a set) holds them:
--- the report names few of them.
function Names.build(ctx, roots, wanted)
  local names = T()
  local level = T()
  local is_root = T()
  sort(roots, function(a, b)
    return a[2] < b[2]
  end)
  for _, r in next, roots do
    if r[1] ~= nil and names[r[1]] == nil then
      names[r[1]] = r[2]
      level[#level + 1] = r[1]
      is_root[r[1]] = true
    end
  end
  local tables = ctx.tables
  while level[1] ~= nil do
    -- The best path per object found at this level: the first in sort
    -- order, whatever order `next` visits the tables in.
    local best = T()
    local function see(base, k, v)
      local tv = type(v)
      if (tv == 'table' or (tv == 'function' and wanted[v])) and names[v] == nil then
        local path = key_path(base, k)
        local had = best[v]
        if had == nil or path < had then
          best[v] = path
        end
      end
    end
    for i = 1, #level do
      local t = level[i]
      if type(t) == 'table' and (tables[t] or is_root[t]) and getmeta(t) ~= INTERNAL then
        local base = names[t]
        for k, v in next, t do
          local tk = type(k)
          if tk == 'string' or tk == 'number' then
            see(base, k, v)
          end
        end
        if has_newindex(t) then
          -- A class: the methods it shows through its metatable and keeps in
          -- a table field (`Rect.describe`, not `Rect.__instanceDict.describe`).
          for _, field in next, t do
            if type(field) == 'table' and getmeta(field) ~= INTERNAL then
              for k, v in next, field do
                if type(k) == 'string' and type(v) == 'function' and rawget(t, k) == nil and visible(t, k) == v then
                  see(base, k, v)
                end
              end
            end
          end
        end
        local mt = getmeta(t)
        if type(mt) == 'table' and names[mt] == nil then
          local path = base .. '<metatable>'
          local had = best[mt]
          if had == nil or path < had then
            best[mt] = path
          end
        end
      end
    end
    local nxt = T()
    for v, path in next, best do
      names[v] = path
      nxt[#nxt + 1] = v
    end
    level = nxt
  end
  return names
end

return Names
