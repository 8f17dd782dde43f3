-- What one reload tells the user: the paths of the values it changed, added
-- and removed, and its warnings (also those a reference pass reports).
local _, parts = ...
local common = parts.common

local type, ipairs, setmetatable = type, ipairs, setmetatable
local concat, sort = table.concat, table.sort
local T = common.T

local R = {}

local Report = {}
Report.__index = Report

function R.new()
  local self = setmetatable(T(), Report)
  self.changed, self.added, self.removed, self.warnings = T(), T(), T(), T()
  return self
end

---@class EngineReportEntry
---@field name? string a name given as is
---@field holder? table the table holding the value ...
---@field key? any ... under this key
---@field value? any the value (functions and tables are named by where they are)
---@field old? function for a changed function: the old closure
---@field path? string the path the matching took, when nothing better is known

--- Adds `name` (when not nil) to the list `list` ("changed", "added",
--- "removed").
function Report:note(list, name)
  if name ~= nil then
    local l = self[list]
    local e = T()
    e.name = name
    l[#l + 1] = e
  end
end

--- Adds the value at `holder[key]` (`value`: the new one, or the removed
--- one) to `list`; `path` is how the matching reached it.
function Report:note_slot(list, holder, key, path, value)
  local l = self[list]
  local e = T()
  e.holder, e.key, e.path, e.value = holder, key, path, value
  l[#l + 1] = e
end

--- Adds a changed function (`old` and its new version `new`) to `list`.
function Report:note_fn(list, old, new, path)
  local l = self[list]
  local e = T()
  e.old, e.value, e.path = old, new, path
  l[#l + 1] = e
end

--- Adds a warning: what kind of thing was left undone (`kind`, a name
--- programs can test), the user's words, and the file and line it concerns.
---@param kind string
---@param message string
---@param path? string
---@param line? integer
function Report:warn(kind, message, path, line)
  local w = T()
  w.kind, w.message, w.path, w.line = kind, message, path, line
  self.warnings[#self.warnings + 1] = w
end

local function lines_text(path, lines)
  if type(lines) ~= 'table' or #lines == 0 then
    return ''
  end
  local at = {}
  for i, line in ipairs(lines) do
    at[i] = path .. ':' .. line
  end
  return ' (defined at ' .. concat(at, ', ') .. ')'
end

-- What a reference pass can leave with its old code: the count and lines
-- fields of `stats`, and how to say it.
local leftovers = {
  {
    'running',
    'running_lines',
    ' running closure(s) of changed functions keep their old code until they return',
    'runningClosures',
  },
  {
    'layout',
    'layout_lines',
    ' closure(s) keep their old code: their upvalues differ in the new version',
    'upvalueLayout',
  },
  {
    'unmatched',
    'unmatched_lines',
    ' closure(s) keep their old code: no function of the new version could be matched to theirs by name',
    'unmatchedClosures',
  },
}

--- Warnings for what a reference pass (`stats` of backend.walk) left with
--- its old code; `path` is the reloaded file.
function Report:walk_warnings(stats, path)
  if not stats then
    return
  end
  for _, l in ipairs(leftovers) do
    local count = stats[l[1]]
    if count and count > 0 then
      local lines = stats[l[2]]
      local first = type(lines) == 'table' and lines[1] or nil
      self:warn(l[4], count .. l[3] .. lines_text(path, lines), path, first)
    end
  end
  if stats.unsupported then
    self:warn('unsupported', stats.unsupported, path)
  end
end

--- The objects the entries name: what `Report:result` looks up.
function Report:objects()
  local set = T()
  for _, list in ipairs({ 'changed', 'added', 'removed' }) do
    for _, e in ipairs(self[list]) do
      if e.value ~= nil then
        set[e.value] = true
      end
      if e.old ~= nil then
        set[e.old] = true
      end
    end
  end
  return set
end

local function is_object(v)
  local tv = type(v)
  return tv == 'table' or tv == 'function'
end

--- The name of one entry: a function or table by its shortest path from the
--- module (`names`, see names.lua), else its holder's path and key, else
--- the path the matching took. `preferred` names values a library's
--- `__newindex` shows at a shorter path.
local function entry_name(list, e, names, preferred, key_path)
  if e.name ~= nil then
    return e.name
  end
  local v = e.value
  if preferred and v ~= nil and preferred[v] then
    return preferred[v]
  end
  if names then
    if list ~= 'removed' and is_object(v) then
      local n = (e.old and names[e.old]) or names[v]
      if n then
        return n
      end
    elseif e.old and names[e.old] then
      return names[e.old]
    end
    if e.holder and names[e.holder] then
      return key_path(names[e.holder], e.key)
    end
  end
  return e.path
end

--- The report table: sorted lists of names, each once. `names` and
--- `preferred` (optional) map objects to their paths; `key_path` builds a
--- path.
function Report:result(names, preferred, key_path)
  local r = T()
  for _, list in ipairs({ 'changed', 'added', 'removed' }) do
    local out, seen = T(), T()
    for _, e in ipairs(self[list]) do
      local name = entry_name(list, e, names, preferred, key_path)
      if name ~= nil and not seen[name] then
        seen[name] = true
        out[#out + 1] = name
      end
    end
    sort(out)
    r[list] = out
  end
  r.warnings = self.warnings
  return r
end

return R
