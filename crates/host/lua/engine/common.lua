-- What every part of the engine shares: the marker of the engine's own
-- tables, the VM's shared namespaces, and small helpers over functions,
-- paths and error values.
--
-- Everything the engine uses is captured when it is installed: the program
-- may replace or remove globals before a reload happens.
local debug = ...

local type, rawget, pcall, tostring, setmetatable = type, rawget, pcall, tostring, setmetatable
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

--- The function's code without debug information (nil for C functions):
--- equal strings mean the code did not change.
function C.stripped(f)
  local ok, s = pcall(dump, f, true)
  return ok and s or nil
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
