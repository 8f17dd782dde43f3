-- What a reload reports: only functions whose code changed (a function moved
-- by an inserted line is not a change), each named by its shortest path from
-- the module table, whatever path the matching took.

-- lume's design: module functions, and a chain metatable whose `__index`
-- holds wrappers made by one nested function around each of them.
local LUME = [[
local lume = {}
local function iscallable(x) return type(x) == 'function' end
function lume.clamp(x, min, max) return x < min and min or (x > max and max or x) end
function lume.round(x) return math.floor(x + .5) end
function lume.map(t, fn) local r = {} for k, v in pairs(t) do r[k] = fn(v) end return r end
local chain_mt = {}
chain_mt.__index = {}
for name, fn in pairs(lume) do
  if iscallable(fn) then
    chain_mt.__index[name] = function(self, ...)
      self._value = fn(self._value, ...)
      return self
    end
  end
end
function lume.chain(value) return setmetatable({ _value = value }, chain_mt) end
return lume
]]

return {
  {
    name = 'a line inserted at the top moves every function: nothing is reported changed',
    files = { lume = LUME },
    run = [[ lume = require('lume'); clamp = lume.clamp ]],
    steps = {
      {
        'lume',
        '-- a comment\n' .. LUME,
        changed = {},
        added = {},
        removed = {},
        check = [[ assert(clamp(5, 1, 3) == 3 and lume.chain(7):clamp(1, 3)._value == 3) ]],
      },
      {
        'lume',
        '-- a comment\n\n' .. LUME:gsub('x < min and min', 'x <= min and min'),
        changed = { 'lume.clamp' },
        added = {},
        removed = {},
        check = [[ assert(clamp(5, 1, 3) == 3 and lume.chain(0):clamp(1, 3)._value == 1) ]],
      },
    },
  },
  {
    name = 'a function reached through another table first is named by its path from the module',
    files = {
      shapes = [[
local M = {}
local registry = { handlers = {} }
function M.describe() return 'v1' end
registry.handlers.describe = M.describe
M.zz = registry
return M
]],
    },
    run = [[ shapes = require('shapes') ]],
    steps = {
      {
        'shapes',
        [[
local M = {}
local registry = { handlers = {} }
function M.describe() return 'v2' end
registry.handlers.describe = M.describe
M.zz = registry
return M
]],
        changed = { 'shapes.describe' },
        check = [[ assert(shapes.zz.handlers.describe() == 'v2') ]],
      },
    },
  },
  {
    name = 'a table a function captures is named by its path from the module, not by the upvalue',
    files = {
      m = [[
local M = {}
local Class = {}
Class.__index = Class
function M.a_new(v) return setmetatable({ v = v }, Class) end
function M.b_new(v) return setmetatable({ v = v }, Class) end
function Class:get() return self.v end
M.Class = Class
return M
]],
    },
    run = [[ m = require('m'); obj = m.a_new(3) ]],
    steps = {
      {
        'm',
        [[
local M = {}
local Class = {}
Class.__index = Class
function M.a_new(v) return setmetatable({ v = v }, Class) end
function M.b_new(v) return setmetatable({ v = v }, Class) end
function Class:get() return self.v * 10 end
function Class:twice() return self.v * 2 end
M.Class = Class
return M
]],
        changed = { 'm.Class.get' },
        added = { 'm.Class.twice' },
        check = [[ assert(obj:get() == 30 and obj:twice() == 6) ]],
      },
    },
  },
  {
    name = 'a key whose value changes between a C function and a Lua function takes the new value',
    files = {
      conv = [[
local M = {}
M.up = string.upper
local function trim(s) return (s:gsub('^%s+', '')) end
M.trim = trim
return M
]],
    },
    run = [[ conv = require('conv'); old_trim = conv.trim ]],
    steps = {
      {
        'conv',
        [[
local M = {}
function M.up(s) return 'UP:' .. s end
M.trim = string.lower
return M
]],
        changed = { 'conv.trim', 'conv.up' },
        check = [[
          assert(conv.up('a') == 'UP:a', 'a Lua function replaces the C function')
          assert(conv.trim == string.lower, 'a C function replaces the Lua function')
          assert(string.upper('a') == 'A' and old_trim('  x') == 'x', 'neither old value was modified')
        ]],
      },
      {
        'conv',
        [[
local M = {}
M.up = string.upper
M.trim = string.lower
return M
]],
        changed = { 'conv.up' },
        check = [[ assert(conv.up == string.upper and conv.up('a') == 'A') ]],
      },
    },
  },
}
