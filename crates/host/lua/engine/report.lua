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

--- Warnings for what a reference pass (`stats` of backend.walk) left with
--- its old code; `path` is the reloaded file.
function Report:walk_warnings(stats, path)
  if not stats then
    return
  end
  if stats.running and stats.running > 0 then
    self:warn(
      stats.running
        .. ' running closure(s) of changed functions keep their old code until they return'
        .. lines_text(path, stats.running_lines)
    )
  end
  if stats.layout and stats.layout > 0 then
    self:warn(
      stats.layout
        .. ' closure(s) keep their old code: their upvalues differ in the new version'
        .. lines_text(path, stats.layout_lines)
    )
  end
  if stats.unmatched and stats.unmatched > 0 then
    self:warn(
      stats.unmatched
        .. ' closure(s) keep their old code: no function of the new version could be matched to theirs by name'
        .. lines_text(path, stats.unmatched_lines)
    )
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
