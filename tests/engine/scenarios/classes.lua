-- Reload with class libraries: the two common designs reproduced in our own
-- fixtures. `klass` keeps its invariants through metamethods as middleclass
-- does (a class's `__newindex` declares a method: it goes into the class's
-- instance dictionary and is propagated to subclasses that do not override
-- it); `object` builds classes from `__index` chains and copies
-- metamethods at `extend` time, as classic does.

-- middleclass's design: declared methods, instance dictionaries copied down
-- to subclasses, a weak list of subclasses.
local KLASS = [[
local K = {}
local function propagate(cls, name, f)
  cls.__instanceDict[name] = f
  for sub in pairs(cls.subclasses) do
    if rawget(sub.__declaredMethods, name) == nil then
      propagate(sub, name, f)
    end
  end
end
local function declare(cls, name, f)
  if rawget(cls, 'sealed') then error('sealed class ' .. cls.name, 2) end
  cls.__declaredMethods[name] = f
  if f == nil and cls.super then
    f = cls.super.__instanceDict[name]
  end
  propagate(cls, name, f)
end
local function create(name, super)
  local dict = {}
  dict.__index = dict
  local cls = { name = name, super = super, static = {}, __instanceDict = dict,
                __declaredMethods = {}, subclasses = setmetatable({}, { __mode = 'k' }) }
  setmetatable(cls.static, { __index = function(_, k)
    local r = rawget(dict, k)
    if r == nil and super then return super.static[k] end
    return r
  end })
  setmetatable(cls, { __index = cls.static, __newindex = declare,
    __call = function(c, ...) return c:new(...) end })
  return cls
end
function K.class(name, super)
  local cls = create(name, super)
  if super then
    for k, f in pairs(super.__instanceDict) do
      if k ~= '__index' then propagate(cls, k, f) end
    end
    super.subclasses[cls] = true
  end
  cls.static.new = function(c, ...)
    local o = setmetatable({ class = c }, c.__instanceDict)
    if o.initialize then o:initialize(...) end
    return o
  end
  return cls
end
return K
]]

-- classic's design: a class is its instances' metatable and `__index`;
-- subclasses chain to their parent through their own metatable.
local OBJECT = [[
local Object = {}
Object.__index = Object
function Object:new() end
function Object:extend()
  local cls = {}
  for k, v in pairs(self) do
    if k:find('__') == 1 then cls[k] = v end
  end
  cls.__index = cls
  cls.super = self
  setmetatable(cls, self)
  return cls
end
function Object:__call(...)
  local obj = setmetatable({}, self)
  obj:new(...)
  return obj
end
return Object
]]

local SHAPES_K = [[
local class = require('klass')
local M = {}
local Rect = class.class('Rect')
function Rect:initialize(w, h) self.w, self.h = w, h end
function Rect:describe() return 'rect ' .. self.w .. 'x' .. self.h end
local Square = class.class('Square', Rect)
function Square:initialize(s) Rect.initialize(self, s, s) end
--SQUARE
M.Rect, M.Square = Rect, Square
return M
]]

local RECT_K = [[
local class = require('klass')
local Rect = class.class('Rect')
function Rect:initialize(w, h) self.w, self.h = w, h end
function Rect:describe() return 'rect ' .. self.w .. 'x' .. self.h end
--RECT
return Rect
]]

local SQUARE_K = [[
local class = require('klass')
local Rect = require('rect')
local Square = class.class('Square', Rect)
function Square:initialize(s) Rect.initialize(self, s, s) end
return Square
]]

local SHAPES_C = [[
local Object = require('object')
local M = {}
local Rect = Object:extend()
function Rect:new(w, h) self.w, self.h = w, h end
function Rect:describe() return 'rect ' .. self.w .. 'x' .. self.h end
function Rect:__tostring() return 'Rect' end
local Square = Rect:extend()
function Square:new(s) Square.super.new(self, s, s) end
--SQUARE
M.Rect, M.Square = Rect, Square
return M
]]

local BASE_K = [[
local class = require('klass')
local M = {}
M.Rect = class.class('Rect')
function M.Rect:initialize(w, h) self.w, self.h = w, h end
--BASE
return M
]]

local SUB_K = [[
local class = require('klass')
local Square = class.class('Square', require('base').Rect)
function Square:initialize(s) self.w, self.h = s, s end
return Square
]]

local function with(source, marker, code)
  local i, j = source:find(marker, 1, true)
  return source:sub(1, i - 1) .. code .. source:sub(j + 1)
end

return {
  {
    name = 'one function at two paths, split by the new version: the path still sharing it keeps the object',
    files = {
      speak = [[
local M = {}
local function speak() return 'base' end
M.A = { speak = speak }
M.B = { speak = speak }
return M
]],
    },
    run = [[ s = require('speak'); alias = s.A.speak ]],
    steps = {
      {
        'speak',
        [[
local M = {}
local function speak() return 'base' end
M.A = { speak = speak }
M.B = { speak = function() return 'B2' end }
return M
]],
        changed = { 'speak.B.speak' },
        added = {},
        removed = {},
        check = [[
          assert(s.A.speak() == 'base', 'A runs the shared code: ' .. s.A.speak())
          assert(s.B.speak() == 'B2', 'B runs its own new code: ' .. s.B.speak())
          assert(alias() == 'base' and alias == s.A.speak, 'the old object stays where it is shared')
          assert(s.A.speak ~= s.B.speak)
        ]],
      },
    },
  },
  {
    name = 'a split where the first path gets its own function: the other path keeps the shared object',
    files = {
      speak = [[
local M = {}
local function speak() return 'base' end
M.A = { speak = speak }
M.B = { speak = speak }
return M
]],
    },
    run = [[ s = require('speak'); alias = s.B.speak ]],
    steps = {
      {
        'speak',
        [[
local M = {}
local function speak() return 'base' end
M.A = { speak = function() return 'A2' end }
M.B = { speak = speak }
return M
]],
        changed = { 'speak.A.speak' },
        check = [[
          assert(s.A.speak() == 'A2', s.A.speak())
          assert(s.B.speak() == 'base', s.B.speak())
          assert(alias == s.B.speak and alias() == 'base')
        ]],
      },
    },
  },
  {
    name = 'a split into changed successors: the old object follows the one at most of its paths',
    files = {
      speak = [[
local M = {}
local function speak() return 'base' end
M.A, M.B, M.C = { speak = speak }, { speak = speak }, { speak = speak }
return M
]],
    },
    run = [[ s = require('speak'); alias = s.B.speak ]],
    steps = {
      {
        'speak',
        [[
local M = {}
local function speak() return 'shared2' end
M.A, M.B, M.C = { speak = function() return 'A2' end }, { speak = speak }, { speak = speak }
return M
]],
        changed = { 'speak.A.speak', 'speak.B.speak' },
        check = [[
          assert(s.A.speak() == 'A2', s.A.speak())
          assert(s.B.speak() == 'shared2' and s.C.speak() == 'shared2', s.B.speak())
          assert(s.B.speak == s.C.speak and alias == s.B.speak and alias() == 'shared2')
        ]],
      },
    },
  },
  {
    name = 'a split found after the merge wrote: the writes are undone and done once after planning',
    files = {
      speak = [[
local M = { n = 1 }
local function speak() return 'base' end
M.A = { speak = speak }
M.B = { speak = speak }
M.Z = { speak = speak }
return M
]],
    },
    run = [[ s = require('speak'); A = s.A; alias = s.A.speak; s.n = 5 ]],
    steps = {
      {
        'speak',
        [[
local M = { n = 'now a string', extra = { 1 } }
local function speak() return 'base' end
M.A = setmetatable({ speak = speak, tag = 'a' }, { __tostring = function() return 'A' end })
M.B = { speak = function() return 'B2' end, tag = 'b' }
M.Z = { speak = speak, tag = 'z' }
return M
]],
        changed = { 'speak.B.speak', 'speak.n' },
        added = { 'speak.A.tag', 'speak.B.tag', 'speak.Z.tag', 'speak.extra' },
        check = [[
          assert(s.A == A and s.n == 'now a string' and s.extra[1] == 1)
          assert(s.A.tag == 'a' and s.B.tag == 'b' and tostring(s.A) == 'A')
          assert(s.A.speak() == 'base' and s.Z.speak() == 'base' and s.B.speak() == 'B2')
          assert(alias == s.A.speak and alias == s.Z.speak)
        ]],
      },
    },
  },
  {
    name = 'a split between a field and an upvalue: the upvalue cell gets its own new function',
    files = {
      speak = [[
local M = {}
local function speak() return 'base' end
local cb = speak
function M.run() return cb() end
M.speak = speak
return M
]],
    },
    run = [[ s = require('speak'); alias = s.speak ]],
    steps = {
      {
        'speak',
        [[
local M = {}
local function speak() return 'base' end
local cb = function() return 'cb2' end
function M.run() return cb() end
M.speak = speak
return M
]],
        changed = { 'cb' },
        check = [[
          assert(s.run() == 'cb2', 'the upvalue has its new function: ' .. s.run())
          assert(s.speak() == 'base' and alias == s.speak and alias() == 'base')
        ]],
      },
    },
  },
  {
    name = 'klass: a method added to a subclass reaches existing and new instances',
    files = { klass = KLASS, shapes = SHAPES_K },
    run = [[ shapes = require('shapes'); sq = shapes.Square:new(3) ]],
    steps = {
      {
        'shapes',
        with(SHAPES_K, '--SQUARE', 'function Square:area() return self.w * self.h end'),
        changed = {},
        added = { 'shapes.Square.area' },
        removed = {},
        check = [[
          assert(sq:area() == 9, 'existing instance')
          assert(shapes.Square:new(2):area() == 4, 'new instance')
          assert(shapes.Rect:new(1, 2).area == nil, 'not on the parent')
          local n = 0
          for _ in pairs(shapes.Rect.subclasses) do n = n + 1 end
          assert(n == 1, 'the parent lists its one subclass, not a fresh copy: ' .. n)
          assert(next(shapes.Rect.subclasses) == shapes.Square)
        ]],
      },
    },
  },
  {
    name = 'klass: a method added to a parent in its own file reaches a subclass of another file',
    files = { klass = KLASS, rect = RECT_K, square = SQUARE_K },
    run = [[ Square = require('square'); sq = Square:new(3) ]],
    steps = {
      {
        'rect',
        with(RECT_K, '--RECT', 'function Rect:perimeter() return 2 * (self.w + self.h) end'),
        added = { 'rect.perimeter' },
        changed = {},
        check = [[
          assert(sq:perimeter() == 12, 'an existing instance of the subclass')
          assert(Square:new(1):perimeter() == 4, 'a new instance of the subclass')
          assert(Square.__declaredMethods.perimeter == nil, 'inherited, not declared by the subclass')
        ]],
      },
      {
        'rect',
        with(RECT_K, '--RECT', 'function Rect:perimeter() return 4 * self.w end'),
        changed = { 'rect.perimeter' },
        check = [[ assert(sq:perimeter() == 12 and Square:new(5):perimeter() == 20) ]],
      },
      {
        'rect',
        RECT_K,
        removed = { 'rect.perimeter' },
        check = [[
          assert(sq.perimeter == nil, 'removed from the subclass too')
          assert(sq:describe() == 'rect 3x3')
        ]],
      },
    },
  },
  {
    name = 'klass: a subclass overriding an inherited method, then dropping the override',
    files = { klass = KLASS, shapes = SHAPES_K },
    run = [[ shapes = require('shapes'); sq = shapes.Square:new(2) ]],
    steps = {
      {
        'shapes',
        with(SHAPES_K, '--SQUARE', "function Square:describe() return 'square ' .. self.w end"),
        added = { 'shapes.Square.describe' },
        check = [[ assert(sq:describe() == 'square 2' and shapes.Rect:new(1, 2):describe() == 'rect 1x2') ]],
      },
      {
        'shapes',
        SHAPES_K,
        removed = { 'shapes.Square.describe' },
        check = [[ assert(sq:describe() == 'rect 2x2', sq:describe()) ]],
      },
    },
  },
  {
    name = 'klass: a changed parent method is named by where the class shows it',
    files = { klass = KLASS, shapes = SHAPES_K },
    run = [[ shapes = require('shapes'); sq = shapes.Square:new(2) ]],
    steps = {
      {
        'shapes',
        SHAPES_K:gsub("'rect '", "'Rect '"),
        changed = { 'shapes.Rect.describe' },
        added = {},
        check = [[ assert(sq:describe() == 'Rect 2x2') ]],
      },
    },
  },
  {
    name = 'klass: what the library wrote through __newindex is undone when __on_reload fails',
    files = { klass = KLASS, base = BASE_K, square = SUB_K },
    run = [[ Square = require('square'); sq = Square:new(3) ]],
    steps = {
      {
        'base',
        with(
          BASE_K,
          '--BASE',
          [=[function M.Rect:perimeter() return 2 * (self.w + self.h) end
M.__on_reload = function() error('refused') end]=]
        ),
        error = { 'runtime' },
        check = [[
          assert(sq.perimeter == nil, 'the subclass instance lost what the library copied')
          assert(rawget(Square.__instanceDict, 'perimeter') == nil)
          assert(rawget(require('base').Rect.__instanceDict, 'perimeter') == nil)
          assert(rawget(require('base').Rect.__declaredMethods, 'perimeter') == nil)
        ]],
      },
      {
        'base',
        with(BASE_K, '--BASE', 'function M.Rect:perimeter() return 2 * (self.w + self.h) end'),
        added = { 'base.Rect.perimeter' },
        check = [[ assert(sq:perimeter() == 12) ]],
      },
    },
  },
  {
    name = 'klass: a class whose __newindex refuses the write keeps the merged fields, with a warning',
    files = { klass = KLASS, base = BASE_K, square = SUB_K },
    run = [[
      Square = require('square'); sq = Square:new(3)
      Rect = require('base').Rect
      rawset(Rect, 'sealed', true) -- the library refuses new methods on it
    ]],
    steps = {
      {
        'base',
        with(BASE_K, '--BASE', 'function M.Rect:perimeter() return 1 end'),
        warnings = { 'writeRefused' },
        check = [[
          assert(Rect:new(1, 1):perimeter() == 1, 'merged into the class fields')
          assert(sq.perimeter == nil, 'the library did not propagate it')
        ]],
      },
    },
  },
  {
    name = 'a read-only proxy module gains a function in its table field; its own __newindex is not written through',
    files = {
      proxy = [[
local impl = {}
function impl.f() return 'f1' end
return setmetatable({ impl = impl }, {
  __index = impl,
  __newindex = function(_, k) error('read-only: ' .. k, 2) end,
})
]],
    },
    run = [[ proxy = require('proxy') ]],
    steps = {
      {
        'proxy',
        [[
local impl = {}
function impl.f() return 'f2' end
function impl.g() return 'g2' end
return setmetatable({ impl = impl }, {
  __index = impl,
  __newindex = function(_, k) error('read-only: ' .. k, 2) end,
})
]],
        changed = { 'proxy.f' },
        added = { 'proxy.g' },
        check = [[ assert(proxy.f() == 'f2' and proxy.g() == 'g2') ]],
      },
    },
  },
  {
    name = 'object: methods added to a subclass and a parent reach existing instances',
    files = { object = OBJECT, shapes = SHAPES_C },
    run = [[ shapes = require('shapes'); sq = shapes.Square(3); r = shapes.Rect(1, 2) ]],
    steps = {
      {
        'shapes',
        with(
          SHAPES_C,
          '--SQUARE',
          [[
function Square:area() return self.w * self.h end
function Rect:perimeter() return 2 * (self.w + self.h) end]]
        ),
        added = { 'shapes.Rect.perimeter', 'shapes.Square.area' },
        changed = {},
        check = [[
          assert(sq:area() == 9 and sq:perimeter() == 12 and r:perimeter() == 6)
          assert(r.area == nil)
          assert(tostring(sq) == 'Rect', 'metamethods copied at extend time stay')
        ]],
      },
      {
        'shapes',
        SHAPES_C:gsub("'rect '", "'Rect '"),
        changed = { 'shapes.Rect.describe' },
        removed = { 'shapes.Rect.perimeter', 'shapes.Square.area' },
        check = [[ assert(sq:describe() == 'Rect 3x3' and sq.area == nil) ]],
      },
    },
  },
}
