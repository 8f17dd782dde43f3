-- Reloading a module, or a file the program ran: compile, run the new top
-- level as a transaction (its global writes held back, the module hidden
-- from `package.loaded`), match the new values to the live ones, give the
-- changed functions their new code, then `__on_reload(old)`. Any failure
-- replays the journal: the program is exactly as before.
local debug, parts = ...
local common, match, relink, apply, transaction, names =
  parts.common, parts.match, parts.relink, parts.apply, parts.transaction, parts.names

local next, type, rawget, rawset, pcall, setmetatable, tostring =
  next, type, rawget, rawset, pcall, setmetatable, tostring
local load = parts.common.load
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local T, INTERNAL, loaded_modules, globals = common.T, common.INTERNAL, common.loaded, common.globals
local error_text, key_path = common.error_text, common.key_path
local NIL = transaction.NIL

local Module = {}

local function shallow_copy(t)
  local c = {}
  for k, v in next, t do
    c[k] = v
  end
  return c
end

--- Matches the new version's values (`new`, what the top level returned;
--- `pending`, the globals it wrote to `target`) to the live ones (`live`):
--- run twice by the caller, first without writing (`ctx.dry`).
local function match_module(ctx, rec, live, new, pending, target)
  local dry = ctx.dry
  if type(live) == 'table' and type(new) == 'table' then
    match.table(ctx, live, new, rec.name)
  elseif type(live) == 'function' and type(new) == 'function' then
    if ctx:defined_here(live) and ctx:defined_here(new) then
      match.pair(ctx, live, new, rec.name)
    end
  elseif dry then
    return
  elseif new == true and type(live) == 'table' and next(pending) == nil then
    ctx.report:warn(
      'returnedNothing',
      rec.path .. ': the new version returned nothing: no keys were added or removed',
      rec.path
    )
  elseif new ~= true and type(live) ~= type(new) then
    ctx.journal:set(loaded_modules, rec.name, new)
    ctx.report:note('changed', rec.name)
    ctx.adopt[#ctx.adopt + 1] = new
  end

  -- Globals the new top level wrote (global-style modules).
  for k, v in next, pending do
    if v ~= NIL then
      match.value(ctx, target, k, rawget(target, k), v, k)
    end
  end
  if not dry and type(new) ~= 'table' and type(new) ~= 'function' then
    for k, v in next, target do
      -- Another global holding a function the new version still defines
      -- (an alias) stays.
      if
        type(k) == 'string'
        and pending[k] == nil
        and type(v) == 'function'
        and not ctx.by_old[v]
        and ctx:defined_here(v)
      then
        ctx.journal:set(target, k, nil)
        ctx.report:note('removed', k)
        ctx.removed_fns[#ctx.removed_fns + 1] = v
      end
    end
  end
end

--- Writes the keys the new version declared through a library's
--- `__newindex` (match.plan) through it on the old tables, so that the
--- library keeps its invariants (a method added to a class reaches its
--- subclasses and their instances). What the library writes is undone if
--- the reload fails later. A table whose `__newindex` refuses the write (a
--- read-only proxy) keeps what the merge put into its fields, with a
--- warning.
local function write_declared(ctx)
  for _, d in next, ctx.declared do
    local v = d.v
    if v ~= nil then
      v = relink.canonical(ctx, v) or v
    end
    ctx.journal:snapshot_graph(d.t)
    local ok, err = pcall(function()
      d.t[d.k] = v
    end)
    if not ok then
      ctx.report:warn(
        'writeRefused',
        tostring(d.path)
          .. ': its table refused the write through __newindex ('
          .. error_text(err, ctx.rec.path)
          .. '); only its fields were merged',
        ctx.rec.path
      )
    elseif v ~= nil then
      ctx.report:note_slot('added', d.t, d.k, d.path, v)
    else
      ctx.report:note_slot('removed', d.t, d.k, d.path, d.old)
    end
  end
end

--- The report, each value named by its shortest path from the module table
--- (or the globals the new version wrote); a key declared through
--- `__newindex` is named where the library shows it.
local function module_report(ctx, rec, live, pending, target)
  if not ctx.needs_names and ctx.declared[1] == nil then
    -- Every object was reached by one path: the matching's paths are the
    -- names (the usual reload, at no extra cost).
    return ctx.report:result()
  end
  local roots = T()
  if type(live) == 'table' and rec.name ~= nil then
    local r = T()
    r[1], r[2] = live, rec.name
    roots[#roots + 1] = r
  end
  -- Globals the new version wrote, by their own names (not other globals
  -- that alias them).
  for k, v in next, pending do
    if v ~= NIL and type(k) == 'string' then
      local r = T()
      r[1], r[2] = rawget(target, k), k
      roots[#roots + 1] = r
    end
  end
  local found = names.build(ctx, roots, ctx.report:objects())
  local preferred = T()
  for _, d in next, ctx.declared do
    local base = found[d.t]
    local path = base and key_path(base, d.k) or d.path
    if d.v ~= nil then
      preferred[relink.canonical(ctx, d.v) or d.v] = path
      preferred[d.v] = path
    end
    if d.old ~= nil then
      preferred[d.old] = path
    end
  end
  return ctx.report:result(found, preferred, key_path)
end

--- Reloads `ctx.rec` from `source`. Returns the report table, or nil and
--- `file:line: reason`. Must be called directly by the engine: the
--- backend's mark counts the frames under this one as the program's.
function Module.reload(engine, ctx, source)
  local rec = ctx.rec
  local G = globals()
  -- A file run with its own environment keeps it; writes to it are held
  -- back the same way.
  local target = rec.env or G
  local env, pending = transaction.env(target)
  local chunk, cerr = load(source, rec.chunkname, 't', env)
  if not chunk then
    return nil, cerr, 'compile'
  end

  -- Whatever the new top level writes outside its transaction (globals and
  -- `package.loaded` entries of modules it requires for the first time) is
  -- undone on any failure, up to the end of `__on_reload`.
  local loaded = loaded_modules
  ctx.journal:snapshot_table(G)
  if target ~= G then
    ctx.journal:snapshot_table(target)
  end
  ctx.journal:snapshot_table(loaded)

  -- Run the new top level with the module hidden from `package.loaded`, so
  -- that `package.loaded[name] or {}` builds a fresh table that the normal
  -- merge then matches by path; `require(name)` still gets the live value.
  local live = rec.name ~= nil and loaded[rec.name] or nil
  if rec.name ~= nil then
    rawset(loaded, rec.name, nil)
    engine.hiding = { name = rec.name, value = live }
  end
  local boundary = engine.backend.mark()
  local gc_mark = engine.backend.gc_mark and engine.backend.gc_mark()
  local ok, result
  if rec.name ~= nil then
    ok, result = pcall(chunk, rec.name, rec.path)
  else
    ok, result = pcall(chunk)
  end
  engine.hiding = nil
  if rec.name ~= nil then
    -- A top level that publishes itself instead of returning a value.
    local published = rawget(loaded, rec.name)
    if ok and result == nil and published ~= nil and published ~= live then
      result = published
    end
    rawset(loaded, rec.name, live)
  end
  if not ok then
    ctx.journal:rollback()
    return nil, error_text(result, rec.path), 'runtime'
  end
  if gc_mark then
    ctx.created = setmetatable(engine.backend.created_since(gc_mark), INTERNAL)
  end
  local name = getupvalue(chunk, 1)
  if name == '_ENV' then
    setupvalue(chunk, 1, target)
  else
    -- No `_ENV` (LuaJIT): every new function has `env` as its environment.
    transaction.commit(env, target)
  end

  local new = result
  if rec.name == nil then
    new = true -- what a file returns goes to whoever ran it, not to us
  end
  if new == nil then
    new = true
  end
  local old_copy = type(live) == 'table' and shallow_copy(live) or live
  local function match_all(c)
    match_module(c, rec, live, new, pending, target)
  end
  match.run(ctx, match_all)
  match.object_keys(ctx)

  relink.cells(ctx)
  apply.functions(ctx, chunk, rec.chunk, boundary)
  relink.canonicalize(ctx)
  ctx.journal:field(rec, 'chunk')
  rec.chunk = chunk
  write_declared(ctx)
  local report = module_report(ctx, rec, live, pending, target)

  -- `__on_reload(old)` last; an error in it undoes everything.
  local hook
  if type(new) == 'table' and rawget(new, '__on_reload') ~= nil then
    hook = type(live) == 'table' and rawget(live, '__on_reload') or rawget(new, '__on_reload')
    hook = relink.canonical(ctx, hook) or hook
  elseif pending.__on_reload ~= nil and pending.__on_reload ~= NIL then
    hook = rawget(target, '__on_reload')
  end
  if type(hook) == 'function' then
    -- What the hook may write that belongs to the module is put back if it
    -- fails: the module's tables, its functions' upvalues, the hook's own.
    local roots = T()
    roots[1], roots[2] = live, hook
    for k, v in next, pending do
      if v ~= NIL then
        roots[#roots + 1] = rawget(target, k)
      end
    end
    ctx.journal:snapshot_reachable(roots, rec.name, function(f)
      return ctx:defined_here(f)
    end)
    local hok, herr = pcall(hook, old_copy)
    if not hok then
      ctx.journal:rollback()
      return nil, error_text(herr, rec.path), 'runtime'
    end
  end
  return report
end

return Module
