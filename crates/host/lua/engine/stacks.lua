-- What is running on the program's stacks: this thread, the main thread and
-- every coroutine the engine tracks (the native backend also sees threads
-- made from C that hold open upvalues).
local debug, parts = ...
local common = parts.common

local next, type, setmetatable = next, type, setmetatable
local co_running, co_status = coroutine.running, coroutine.status
local getinfo, getlocal = debug.getinfo, debug.getlocal
local T, INTERNAL, registry = common.T, common.INTERNAL, common.registry

local Stacks = {}

--- The set of closures on some thread's stack right now: they keep their
--- code.
function Stacks.active(engine)
  local native_active = engine.backend.active
  if native_active then
    local set = native_active(engine.threads)
    return setmetatable(set, INTERNAL)
  end
  local active = T()
  local function scan(th)
    local level = 0
    while true do
      local info
      if th then
        info = getinfo(th, level, 'f')
      else
        info = getinfo(level, 'f')
      end
      if info == nil then
        break
      end
      if info.func then
        active[info.func] = true
      end
      level = level + 1
    end
  end
  local current = co_running()
  scan(nil)
  local main = registry[1]
  if type(main) == 'thread' and main ~= current then
    scan(main)
  end
  for co in next, engine.threads do
    if co ~= current and co ~= main and co_status(co) ~= 'dead' then
      scan(co)
    end
  end
  return active
end

-- Finds the running frame of the main chunk loaded as `chunkname` (this
-- thread first, then the main thread) and returns `at(info, th, level)` for
-- it, or nil. `th` is nil for this thread: then the frame is `level + 1`
-- levels above `at`.
local function at_main_frame(chunkname, what, at)
  local main = registry[1]
  local function scan(th)
    local level = 0
    while true do
      local info
      if th then
        info = getinfo(th, level, what)
      else
        info = getinfo(level, what)
      end
      if info == nil then
        return nil
      end
      if info.what == 'main' and info.source == chunkname then
        -- Not a tail call: `at` must run one level above this frame.
        local result = at(info, th, level)
        return result
      end
      level = level + 1
    end
  end
  local found = scan(nil)
  if found == nil and type(main) == 'thread' and main ~= co_running() then
    found = scan(main)
  end
  return found
end

--- The live main chunk closure of the file loaded as `chunkname`: from a
--- running frame, else from the backend. Nil when there is none.
function Stacks.find_main(engine, chunkname)
  local f = at_main_frame(chunkname, 'Sf', function(info)
    return info.func
  end)
  if not f and engine.backend.find_chunk then
    f = engine.backend.find_chunk(chunkname)
  end
  return f
end

--- Calls `fn(name, value)` for each named local of the running frame of the
--- main chunk loaded as `chunkname` (nothing when none runs): the program's
--- local functions, which only its frame names.
function Stacks.main_locals(chunkname, fn)
  at_main_frame(chunkname, 'S', function(_, th, level)
    local i = 1
    while true do
      local name, value
      if th then
        name, value = getlocal(th, level, i)
      else
        name, value = getlocal(level + 1, i)
      end
      if name == nil then
        return true
      end
      if name:sub(1, 1) ~= '(' then
        fn(name, value)
      end
      i = i + 1
    end
  end)
end

return Stacks
