-- The entry of the hot reload engine: runs its parts in dependency order and
-- returns the engine module (`new`, `lua_backend`, `INTERNAL`).
--
-- The parts are embedded in the host, never read from disk: the host passes
-- the debug library and `chunks`, each part compiled but not run yet
-- (`chunks[name](debug, parts) -> the part's module`). A part sees only the
-- parts listed before it.
local debug = (...) or debug
local chunks = select(2, ...)

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
