-- State across a reload: upvalues keep their values and stay shared, local
-- helpers match by name, tables keep their identity, scalars keep the running
-- value, a failed reload changes nothing.
return {
  {
    name = 'upvalues keep their values and a shared cell stays shared',
    files = {
      c = [[
local M = {}
local count = 0
function M.inc() count = count + 1 return count end
function M.get() return count end
return M
]],
    },
    run = [[ c = require('c'); inc, get = c.inc, c.get; inc(); inc(); inc() ]],
    steps = {
      {
        'c',
        [[
local M = {}
local count = 0
local step = 10
function M.inc() count = count + step return count end
function M.get() return count end
function M.reset() count = 0 end
return M
]],
        changed = { 'c.inc' },
        added = { 'c.reset' },
        removed = {},
        check = [[
          assert(get() == 3, 'value kept: ' .. get())
          assert(inc() == 13, 'new code with the new upvalue initial value')
          assert(c.get() == 13, 'one shared cell')
          c.reset()
          assert(get() == 0 and inc() == 10, 'a new function shares the same cell')
        ]],
      },
    },
  },
  {
    name = 'local helpers are matched by the name of the upvalue',
    files = {
      h = [[
local M = {}
local function helper(x) return x + 1 end
function M.f(x) return helper(x) end
return M
]],
    },
    run = [[ h = require('h'); f = h.f; assert(f(1) == 2) ]],
    steps = {
      {
        'h',
        [[
local M = {}
local function helper(x) return x + 2 end
local function other(x) return x * 3 end
function M.f(x) return other(helper(x)) end
return M
]],
        changed = { 'h.f', 'helper' },
        check = [[ assert(f(1) == 9 and h.f(1) == 9, f(1)) ]],
      },
    },
  },
  {
    name = 'tables keep identity and gain keys, scalars keep running values, nil does not wipe',
    files = {
      s = [[
local M = { config = { speed = 1 }, score = 0 }
function M.f() return 1 end
function M.gone() return 'gone' end
return M
]],
    },
    run = [[ s = require('s'); config = s.config; s.score = 7 ]],
    steps = {
      {
        's',
        [[
local M = { config = { speed = 5, color = 'red' }, score = 100 }
function M.f() return 2 end
M.score = nil
return M
]],
        changed = { 's.f' },
        added = { 's.config.color' },
        removed = { 's.gone' },
        check = [[
          assert(s.config == config and config.speed == 1 and config.color == 'red')
          assert(s.score == 7 and s.f() == 2 and s.gone == nil)
        ]],
      },
    },
  },
  {
    name = 'a reload whose top level fails changes nothing',
    files = { p = "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return 'v1', n end\nreturn M\n" },
    run = [[ p = require('p'); alias = p.f; alias() ]],
    steps = {
      { 'p', "local M = {}\nfunction M.f() return 'v2' end\nerror('x')\n", error = { 'runtime', 3 } },
      {
        'p',
        "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return 'v2', n end\nreturn M\n",
        changed = { 'p.f' },
        check = [[
          local v, n = alias()
          assert(v == 'v2' and n == 2 and p.f == alias, tostring(v) .. ' ' .. tostring(n))
        ]],
      },
    },
  },
}
