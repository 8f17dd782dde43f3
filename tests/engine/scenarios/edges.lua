-- Less common shapes of modules: a function key whose function cannot be
-- swapped in place, a module that returns a function, cycles and type
-- changes, a new version that returns nothing, a read-only module table.
return {
  {
    name = 'a function key moves when the function cannot be swapped in place',
    files = { k = 'local M = {}\nlocal a = 1\nfunction M.f() return a end\nreturn M\n' },
    run = [[ k = require('k'); reg = { [k.f] = 'entry' }; list = { k.f }; f = k.f ]],
    steps = {
      {
        'k',
        'local M = {}\nlocal a = 1\nlocal b = 10\nfunction M.f() return a + b end\nreturn M\n',
        changed = { 'k.f' },
        check = [[
          assert(k.f() == 11 and f() == 11 and list[1]() == 11)
          assert(reg[k.f] == "entry", "the key follows the function")
          assert(f == k.f)
        ]],
      },
    },
  },
  {
    name = 'a module that returns a function',
    files = { fnmod = "local n = 0\nreturn function() n = n + 1 return 'v1', n end\n" },
    run = [[ local f = require('fnmod'); g = f; f() ]],
    steps = {
      {
        'fnmod',
        "local n = 0\nreturn function() n = n + 1 return 'v2', n end\n",
        changed = { 'fnmod' },
        check = [[ local v, n = g(); assert(v == 'v2' and n == 2); assert(require('fnmod') == g) ]],
      },
    },
  },
  {
    name = 'cycles, metatables on the module and type changes of tables',
    files = {
      cy = [[
local defaults = { color = "red" }
local M = setmetatable({ opts = { a = 1 }, n = 5 }, { __index = defaults })
M.self = M
function M.color() return M.color_name or M.color end
return M
]],
    },
    run = [[ cy = require('cy'); assert(cy.self == cy and cy.size == nil) ]],
    steps = {
      {
        'cy',
        [[
local defaults = { color = "blue", size = 3 }
local M = setmetatable({ opts = 42, n = { boxed = true } }, { __index = defaults })
M.self = M
return M
]],
        changed = { 'cy.n', 'cy.opts' },
        added = { 'cy<metatable>.__index.size' },
        removed = { 'cy.color' },
        check = [[
          assert(cy.self == cy, "cycle kept")
          assert(cy.opts == 42 and cy.n.boxed == true, "type changes: the new value wins")
          assert(cy.size == 3, "the metatable's __index table gained a key")
        ]],
      },
    },
  },
  {
    name = 'a new version that returns nothing keeps the module table and warns',
    native_only = 'its functions are matched by their place in the file, which takes the native pass',
    files = { nr = 'local M = {}\nfunction M.f() return 1 end\nreturn M\n' },
    run = [[ nr = require('nr') ]],
    steps = {
      {
        'nr',
        'local M = {}\nfunction M.f() return 2 end\n',
        warnings = { 'returnedNothing' },
        check = [[ assert(require('nr') == nr and nr.f() == 2) ]],
      },
    },
  },
  {
    name = 'a read-only module table is merged without its metamethods',
    files = {
      ro = [[
local M = {}
function M.f() return 1 end
return setmetatable(M, {
  __newindex = function() error("read-only") end,
  __metatable = "locked",
})
]],
    },
    run = [[ ro = require('ro'); f = ro.f ]],
    steps = {
      {
        'ro',
        [[
local M = { extra = true }
function M.f() return 2 end
return setmetatable(M, {
  __newindex = function() error("read-only") end,
  __metatable = "locked",
})
]],
        changed = { 'ro.f' },
        added = { 'ro.extra' },
        check = [[ assert(f() == 2 and ro.extra == true and getmetatable(ro) == 'locked') ]],
      },
    },
  },
}
