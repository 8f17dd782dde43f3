-- Failure is atomic: after a reload fails the program is exactly as before
-- (the probe below reads everything a failed reload could have touched),
-- the error says `file:line: reason`, and a good reload still works after.
local V1 = [[
local M = { data = { n = 1 } }
local hidden = 10
function M.f() hidden = hidden + 1 return "v1", hidden end
function M.g() return "g1" end
return M
]]

local RUN = [[
  m = require('m'); alias = m.f; data = m.data; leaked_global = 'before'
  local v, n = m.f(); assert(v == 'v1' and n == 11)
  function probe()
    local seen = {
      m.f == alias, m.data.n, m.data == data, rawget(m, 'extra'), rawget(m.data, 'extra'),
      leaked_global, type(rawget(_G, 'helper_global')), package.loaded.m == m,
      package.loaded.sneaky, getmetatable(m), rawget(_G, 'EXTRA_LOADED'), package.loaded.extra,
    }
    local out = {}
    for i = 1, 12 do out[i] = tostring(seen[i]) end
    return table.concat(out, ' ')
  end
  before = probe()
]]

local UNCHANGED = [[
  assert(probe() == before, 'state changed: ' .. probe() .. ' | before: ' .. before)
  local v, n = m.f()
  assert(v == 'v1', 'old code still runs: ' .. tostring(v))
  assert(n == 12, 'upvalue kept its value and cell: ' .. tostring(n))
  local v2, n2 = alias()
  assert(v2 == 'v1' and n2 == 13, 'alias: old code, same cell')
  assert(m.g() == 'g1')
]]

local GOOD = { 'm', (V1:gsub('"v1"', '"v2"')), check = [[ assert(m.f() == 'v2' and alias() == 'v2') ]] }

local function failure(name, source, expected)
  return {
    name = name,
    files = { m = V1, extra = "EXTRA_LOADED = true\nleaked_global = 'by extra'\nreturn { tag = 'extra' }\n" },
    run = RUN,
    steps = { { 'm', source, error = expected, check = UNCHANGED }, GOOD },
  }
end

return {
  failure(
    'a syntax error changes nothing',
    "local M = {}\nfunction M.f() return 'v2' end\nfunction M.g( return end\nreturn M\n",
    { 'compile', 3 }
  ),
  failure(
    'an error in the new top level changes nothing',
    [[local M = { data = { n = 2, extra = true } }
leaked_global = "after"
helper_global = function() end
package.loaded.sneaky = true
function M.f() return "v2" end
M.extra = 1
error("boom in top level")
return M
]],
    { 'runtime', 7 }
  ),
  failure(
    'an error in __on_reload undoes the whole reload',
    [[local M = { data = { n = 2, extra = true } }
leaked_global = "after"
local hidden = 0
function M.f() hidden = hidden + 1 return "v2", hidden end
function M.g() return "g2" end
M.extra = 1
setmetatable(M, { __index = function() return "meta" end })
function M.__on_reload(old)
  M.data.extra = "set by hook"
  error("hook failed")
end
return M
]],
    { 'runtime', 10 }
  ),
  failure(
    'calling nil in the new top level reports the line',
    "local M = {}\nfunction M.f() return 'v2' end\nlocal x = nil\nx()\nreturn M\n",
    { 'runtime', 4 }
  ),
  failure(
    'a module required only by a failed new version leaves no trace',
    "local extra = require('extra')\nlocal M = {}\nfunction M.f() return extra.tag end\nerror('late')\nreturn M\n",
    { 'runtime', 4 }
  ),
  failure(
    'what __on_reload writes to module tables, upvalues and globals is undone when it fails',
    [[local M = { data = { n = 5 } }
local hidden = 0
function M.f() hidden = hidden + 100 return "v2", hidden end
function M.g() return "g2" end
function M.__on_reload(old)
  M.data.n = 42
  M.data.extra = "hook"
  old.data.extra = "through old"
  rawset(M, "extra", 1)
  leaked_global = "hook"
  helper_global = function() end
  M.f()
  error("migration failed")
end
return M
]],
    { 'runtime', 13 }
  ),
  {
    name = 'global writes are held back until the new top level succeeds',
    files = { m = V1 },
    run = RUN,
    steps = {
      {
        'm',
        "COUNTER = (COUNTER or 0) + 1\nlocal seen = COUNTER\nlocal M = {}\nfunction M.f() return 'v2', seen end\nreturn M\n",
        added = { 'COUNTER' },
        warnings = false,
        check = [[ assert(COUNTER == 1 and select(2, m.f()) == 1) ]],
      },
      {
        'm',
        "COUNTER = 99\nNEWGLOBAL = 1\nerror('no')\n",
        error = { 'runtime', 3 },
        check = [[ assert(COUNTER == 1 and NEWGLOBAL == nil) ]],
      },
    },
  },
}
