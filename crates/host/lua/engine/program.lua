-- Reloading the main program. It is running, so its top level is not run
-- again: the functions it defined get the new code (matched by their place
-- in the file, in one native pass) and everything else keeps its running
-- value.
local debug, parts = ...
local common, stacks = parts.common, parts.stacks

local next, type = next, type
local load = parts.common.load
local sort = table.sort
local getmeta = debug.getmetatable
local T, INTERNAL, globals = common.T, common.INTERNAL, common.globals
local key_path, stripped = common.key_path, common.stripped

local Program = {}

--- Reloads the program `ctx.rec` from `source`. Returns the report table,
--- or nil and `file:line: reason`. Must be called directly by the engine
--- (see module.lua).
function Program.reload(engine, ctx, source)
  local rec = ctx.rec
  local G = globals()
  if not engine.backend.native then
    return nil, rec.path .. ': reloading the main program needs the native engine', 'unsupported'
  end
  -- Look for the live chunk first: the new one has the same name.
  local old = stacks.find_main(engine, rec.chunkname)
  local chunk, cerr = load(source, rec.chunkname, 't', G)
  if not chunk then
    return nil, cerr, 'compile'
  end
  if not old then
    return nil, rec.path .. ": the program's main chunk is gone; nothing to reload", 'notFound'
  end
  local boundary = engine.backend.mark()
  local before = T()
  -- The program's functions by name: globals, then the running top
  -- level's locals (each function once), and functions in their tables.
  local function each_function(fn)
    local named = T()
    local function visit(k, v)
      if type(v) == 'function' and ctx:defined_here(v) and not named[v] then
        named[v] = true
        fn(k, v)
      elseif type(v) == 'table' and getmeta(v) ~= INTERNAL and v ~= G then
        -- Names only: a big data table is not scanned whole.
        local seen = 0
        for k2, v2 in next, v do
          if type(v2) == 'function' and ctx:defined_here(v2) and not named[v2] then
            named[v2] = true
            fn(key_path(k, k2), v2)
          end
          seen = seen + 1
          if seen >= 256 then
            break
          end
        end
      end
    end
    for k, v in next, G do
      visit(k, v)
    end
    stacks.main_locals(rec.chunkname, visit)
  end
  each_function(function(name, f)
    before[name] = stripped(f)
  end)
  local rootpairs, skip = T(), T()
  local rp = T()
  rp[1], rp[2] = old, chunk
  rootpairs[1] = rp
  skip[old] = true
  local active = stacks.active(engine)
  if active[old] then
    ctx.report:warn(
      'mainRunning',
      "the main program's top level is running; code it runs itself keeps the old version",
      rec.path
    )
  end
  local stats = engine.backend.walk(T(), rootpairs, skip, active, boundary, INTERNAL, nil, true)
  if stats and stats.unsupported then
    return nil, rec.path .. ': ' .. stats.unsupported, 'unsupported'
  end
  ctx.journal:walk(T(), rootpairs, skip, boundary, stats)
  ctx.report:walk_warnings(stats, rec.path)
  each_function(function(name, f)
    if before[name] ~= nil and before[name] ~= stripped(f) then
      ctx.report:note('changed', name)
    end
  end)
  if stats and stats.added and stats.added > 0 then
    ctx.report:warn(
      'mainAdded',
      stats.added .. ' new function(s) in the main program take effect when the program restarts',
      rec.path
    )
  end
  return ctx.report:result()
end

return Program
