-- The entry of the hot reload engine: runs its parts in dependency order and
-- returns the engine module (`new`, `lua_backend`, `INTERNAL`).
--
-- The parts are embedded in the host, never read from disk: the host passes
-- the debug library and `chunks`, each part compiled but not run yet
-- (`chunks[name](debug, parts) -> the part's module`). A part sees only the
-- parts listed before it.
local debug = (...) or debug
local chunks = select(2, ...)

-- What the engine needs from the VM; a VM without it (Lua 5.1 has no
-- upvalue identity) is refused here, before anything is installed.
local NEEDS = {
  'getinfo',
  'getlocal',
  'setlocal',
  'getupvalue',
  'setupvalue',
  'upvalueid',
  'upvaluejoin',
  'getmetatable',
  'setmetatable',
  'getregistry',
}
local missing = {}
for _, name in ipairs(NEEDS) do
  if type(debug) ~= 'table' or type(debug[name]) ~= 'function' then
    missing[#missing + 1] = 'debug.' .. name
  end
end
if type(string.dump) ~= 'function' then
  missing[#missing + 1] = 'string.dump'
end
if #missing > 0 then
  local vm = rawget(_G, 'jit') and jit.version or _VERSION
  error(
    ('hot reload engine: cannot serve %s: it has no %s (the engine needs Lua 5.2, 5.3, 5.4, LuaJIT 2.1, or Lua 5.1 as the host builds it)'):format(
      vm,
      table.concat(missing, ', ')
    ),
    0
  )
end

local ORDER = {
  'common', -- the marker of the engine's tables, small shared helpers
  'journal', -- every write of a reload, and its undo
  'report', -- what changed, was added or removed; warnings
  'context', -- one reload's state: the record, the matches so far
  'names', -- the report's names: shortest paths from the module table
  'match', -- merge rules and pairing by path and upvalue name
  'relink', -- new closures share old cells; references point at old objects
  'stacks', -- what is running on the program's stacks
  'apply', -- new code for changed functions: in place or by a reference pass
  'transaction', -- the global table whose writes are held back
  'tracking', -- require, dofile/loadfile and coroutines of the program
  'module', -- reloading a module or a file
  'program', -- reloading the main program
  'lua_backend', -- the pure-Lua backend built from walker.lua
  'engine', -- the engine installed in one VM
}

local parts = {}
for _, name in ipairs(ORDER) do
  parts[name] = chunks[name](debug, parts)
end
return parts.engine
