-- What every part of the engine shares: the marker of the engine's own
-- tables, the VM's shared namespaces, and small helpers over functions,
-- paths and error values.
--
-- Everything the engine uses is captured when it is installed: the program
-- may replace or remove globals before a reload happens.
local debug = ...

local type, rawget, pcall, tostring, setmetatable, load, tonumber =
  type, rawget, pcall, tostring, setmetatable, load, tonumber
local getinfo, getmeta = debug.getinfo, debug.getmetatable
local dump = string.dump

local C = {}

-- Metatable that marks the engine's own tables, so that reference passes do
-- not rewrite the journal they will need for an undo.
local INTERNAL = { __name = 'hotreload.internal' }
C.INTERNAL = INTERNAL

--- A new table of the engine's own (marked INTERNAL).
function C.T()
  return setmetatable({}, INTERNAL)
end

C.registry = debug.getregistry()
C.loaded = package.loaded

-- Which closure replaced a running one in a reload (running closures keep
-- their old code, rule 4), for restartFrame to run the new code
-- (vm/*/restart.c reads it): weak keys, written by the native backend
-- (hr_restart_note) and by Apply.functions; a failed reload restores it.
local RESTART_MAP = 'hotreload.restart_to'

--- The map of running closures to their replacements (created on first use).
function C.restart_map()
  local map = rawget(C.registry, RESTART_MAP)
  if map == nil then
    map = setmetatable({}, { __mode = 'k' })
    C.registry[RESTART_MAP] = map
  end
  return map
end

-- The globals table: LUA_RIDX_GLOBALS on 5.2+, where LuaJIT keeps other
-- things; there, the table this chunk was loaded with.
local GLOBALS = C.registry[2]
if type(GLOBALS) ~= 'table' or rawget(GLOBALS, '_G') ~= GLOBALS then
  GLOBALS = _G
end

function C.globals()
  return GLOBALS
end

function C.is_lua(f)
  return type(f) == 'function' and getinfo(f, 'S').what ~= 'C'
end

--- `path.k`, or `path[k]` for a key that is not a string.
function C.key_path(path, k)
  if type(k) == 'string' then
    if path == nil or path == '' then
      return k
    end
    return path .. '.' .. k
  end
  return (path or '') .. '[' .. tostring(k) .. ']'
end

local byte, sub, concat = string.byte, string.sub, table.concat

-- `load(text, chunkname, mode, env)` as Lua 5.2+ and LuaJIT have it. Lua
-- 5.1's `load` reads from a function only: there the text is compiled with
-- `loadstring` and the chunk gets `env` as its environment.
local load = load
if not pcall(load, '') then
  local loadstring, setfenv = loadstring, setfenv
  load = function(text, chunkname, mode, env)
    if mode == 't' and byte(text, 1) == 27 then
      return nil, "attempt to load a binary chunk (mode is 't')"
    end
    local f, err = loadstring(text, chunkname)
    if f and env ~= nil then
      setfenv(f, env)
    end
    return f, err
  end
end
C.load = load

-- Lua 5.4's binary chunks keep `linedefined`/`lastlinedefined` even when
-- stripped, so a function moved by an inserted line would differ. This
-- rewrites a stripped 5.4 dump without them (and without the source name
-- and the empty debug lists); nil when `s` is not a 5.4 dump it can read.
local function dump54_without_lines(s)
  if sub(s, 1, 5) ~= '\27Lua\84' then
    return nil
  end
  local isize, nsize = byte(s, 14), byte(s, 15) -- Instruction is byte 13
  local at = 16 + isize + nsize + 1 -- after LUAC_INT, LUAC_NUM, nupvalues
  local out, n = {}, 0
  local function size()
    local x = 0
    repeat
      local b = byte(s, at)
      if b == nil then
        error('truncated dump')
      end
      at = at + 1
      x = x * 128 + b % 128
    until b >= 128
    return x
  end
  local function skip_string()
    local len = size()
    if len > 0 then -- the size counts a terminating byte that is not dumped
      at = at + len - 1
    end
  end
  local function copy(from, to)
    n = n + 1
    out[n] = sub(s, from, to - 1)
  end
  local function fn()
    skip_string() -- source
    size() -- linedefined
    size() -- lastlinedefined
    local start = at
    at = at + 3 -- numparams, is_vararg, maxstacksize
    local ncode = size() -- code (`at + size()` would read `at` first)
    at = at + ncode * byte(s, 13)
    for _ = 1, size() do -- constants
      local t = byte(s, at)
      at = at + 1
      if t == 3 then
        at = at + isize
      elseif t == 19 then
        at = at + nsize
      elseif t == 4 or t == 20 then
        skip_string()
      end
    end
    local nup = size() -- upvalue descriptions
    at = at + 3 * nup
    copy(start, at)
    local nprotos = size()
    n = n + 1
    out[n] = '#' .. nprotos
    for _ = 1, nprotos do
      fn()
    end
    -- debug lists: empty in a stripped dump, still read to stay in step
    local nlines = size() -- lineinfo
    at = at + nlines
    for _ = 1, size() do -- abslineinfo
      size()
      size()
    end
    for _ = 1, size() do -- locvars
      skip_string()
      size()
      size()
    end
    for _ = 1, size() do -- upvalue names
      skip_string()
    end
  end
  local ok = pcall(fn)
  if not ok then
    return nil
  end
  return concat(out)
end

--- The function's code without debug information and line numbers (nil for
--- C functions): equal strings mean the code did not change, wherever in
--- the file it moved. (LuaJIT's stripped dumps have no line numbers.)
function C.stripped(f)
  local ok, s = pcall(dump, f, true)
  if not ok then
    return nil
  end
  return dump54_without_lines(s) or s
end

--- True when the Lua functions `a` and `b` have the same code, line
--- numbers aside (a cheap comparison first: most unchanged functions did
--- not move either).
function C.same_code(a, b)
  local oka, da = pcall(dump, a, true)
  local okb, db = pcall(dump, b, true)
  if not (oka and okb) then
    return false
  end
  if da == db then
    return true
  end
  return (dump54_without_lines(da) or da) == (dump54_without_lines(db) or db)
end

--- `t[k]` through metamethods, or nil when reading it fails.
function C.visible(t, k)
  local ok, v = pcall(function()
    return t[k]
  end)
  if ok then
    return v
  end
  return nil
end

--- True when `t` has a metatable with a function `__newindex` (a class of a
--- class library keeps its invariants there).
function C.has_newindex(t)
  local mt = getmeta(t)
  return type(mt) == 'table' and type(rawget(mt, '__newindex')) == 'function'
end

--- The line an error message names in the chunk `chunkname`, and the rest
--- of the message (the reason), read after the exact name Lua writes for
--- that chunk (its `short_src`, which Lua shortens for long paths), so a
--- message about another file names none.
---@param message any
---@param chunkname string
---@return integer|nil line
---@return string|nil reason
function C.error_line(message, chunkname)
  if type(message) ~= 'string' then
    return nil
  end
  local probe = load('return', chunkname)
  if not probe then
    return nil
  end
  local prefix = getinfo(probe, 'S').short_src .. ':'
  if message:sub(1, #prefix) == prefix then
    local line, reason = message:match('^(%d+):%s*(.*)$', #prefix + 1)
    return tonumber(line), reason
  end
  -- Lua 5.1's lexer shortens the chunk name to another length (80) than
  -- short_src (60): the whole name, or a '...' tail of it, is this chunk.
  local src, line, reason = message:match('^(.-):(%d+):%s*(.*)$')
  local name = type(chunkname) == 'string' and chunkname:gsub('^[@=]', '') or ''
  if src == name or (src and sub(src, 1, 3) == '...' and #src > 3 and sub(name, -(#src - 3)) == sub(src, 4)) then
    return tonumber(line), reason
  end
  return nil
end

--- The text of an error value, as the user sees it.
function C.error_text(err, path)
  if type(err) == 'string' then
    return err
  end
  local mt = getmeta(err)
  if mt and mt.__tostring then
    local ok, s = pcall(tostring, err)
    if ok and type(s) == 'string' then
      return s
    end
  end
  return path .. ': (error object is a ' .. type(err) .. ' value)'
end

return C
