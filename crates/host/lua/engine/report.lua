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

--- Adds `name` (when not nil) to the list `list` ("changed", "added",
--- "removed").
function Report:note(list, name)
  if name ~= nil then
    local l = self[list]
    l[#l + 1] = name
  end
end

function Report:warn(message)
  self.warnings[#self.warnings + 1] = message
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
  },
  { 'layout', 'layout_lines', ' closure(s) keep their old code: their upvalues differ in the new version' },
  {
    'unmatched',
    'unmatched_lines',
    ' closure(s) keep their old code: no function of the new version could be matched to theirs by name',
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
      self:warn(count .. l[3] .. lines_text(path, stats[l[2]]))
    end
  end
  if stats.unsupported then
    self:warn(stats.unsupported)
  end
end

--- The report table: sorted lists.
function Report:result()
  sort(self.changed)
  sort(self.added)
  sort(self.removed)
  local r = T()
  r.changed, r.added, r.removed, r.warnings = self.changed, self.added, self.removed, self.warnings
  return r
end

return R
