---@mod hotreload.nvim_reload Hot reload of Neovim's own Lua modules.
---
--- When no program runs, `:HotReload` on a Lua module Neovim itself loaded
--- (`<rtp entry>/lua/a/b.lua` is `a.b`) reloads it into Neovim with the same
--- engine and semantics as for a program: new code for every reference
--- (autocmd, keymap and user command callbacks, other modules' aliases),
--- state kept, a failed reload changes nothing, `__on_reload(old)` last.
---
--- The engine's parts are the plugin's own files (`crates/host/lua/`), read
--- on first use and run in the same order and with the same calling
--- convention as the host does: one source of truth. Neovim's LuaJIT gets
--- the in-place swap (`hotreload.swap`): old closures get the new code in
--- place, and so do the closures made inside changed functions (keymaps,
--- autocmds, commands a `setup()` made); the pure-Lua walk (walker.lua) only
--- replaces what could not be swapped. When the swap's layout check fails,
--- the walk does everything, closures made inside functions keep their code,
--- and `hotreload.nested` names them in the report's warnings.

local M = {}

---@class hotreload.NvimReloadStatus
---@field loaded boolean the engine is installed in Neovim
---@field reloads integer successful reloads of Neovim modules
---@field last string|nil the module reloaded last
---@field backend string|nil 'swap' (in place) or 'walker' (pure Lua), once loaded

---@type hotreload.NvimReloadStatus
M.stats = { loaded = false, reloads = 0, last = nil }

--- The engine installed in Neovim, once loaded.
---@type table|nil
local engine = nil

--- The stock LuaJIT swap the engine uses, nil when it walks.
---@type hotreload.StockSwap|nil
local stock = nil

--- Benchmarks compare both backends in one run: true forces the walk.
local force_walker = false

--- Chooses the backend of the next reload (`true`: the pure-Lua walk only);
--- for benchmarks and tests. The engine is installed again on next use.
---@param on boolean
function M.use_walker(on)
  force_walker = on and true or false
  engine, stock = nil, nil
end

---@class hotreload.NvimTarget
---@field name string the module name, e.g. `myplug.util`
---@field path string the file

local realpath = require('hotreload.paths').canonical

--- The directory holding `walker.lua` and `engine/`.
---@return string
function M.engine_dir()
  return require('hotreload.config').root() .. '/crates/host/lua'
end

--- Loads the engine's parts with `loadfile` and installs the engine, like
--- the host's `load_engine`: `init.lua` gets `(debug, chunks)` and runs the
--- parts in its own order. Only `require` is tracked: the wrappers of
--- `loadfile`/`dofile` and coroutines would change them for every plugin.
---@return table|nil engine, string|nil err
local function load_engine()
  if engine then
    return engine
  end
  local dir = M.engine_dir()
  local function load(rel)
    local chunk, err = loadfile(dir .. '/' .. rel)
    if not chunk then
      error(('cannot load the reload engine: %s'):format(err), 0)
    end
    return chunk
  end
  local found_swap
  local ok, result = pcall(function()
    -- Each part is read when init.lua asks for it, in init.lua's order.
    local chunks = setmetatable({}, {
      __index = function(t, name)
        local chunk = load('engine/' .. name .. '.lua')
        rawset(t, name, chunk)
        return chunk
      end,
    })
    local module = load('engine/init.lua')(debug, chunks)
    local walker = load('walker.lua')(debug)
    local backend = module.lua_backend(walker)
    local swap = require('hotreload.swap')
    local found, problem = nil, nil
    if not force_walker then
      found, problem = swap.open()
    end
    if found then
      swap.install(backend, found)
    elseif problem then
      vim.notify(
        ('hotreload: %s; Neovim modules reload with the slower pure-Lua walk, and closures made inside functions keep their old code'):format(
          problem
        ),
        vim.log.levels.WARN,
        { title = 'hotreload' }
      )
    end
    found_swap = found
    return module.new(backend, { track = { require = true } })
  end)
  if not ok then
    return nil, tostring(result)
  end
  engine, stock = result, found_swap
  M.stats.loaded = true
  M.stats.backend = stock and 'swap' or 'walker'
  return engine
end

--- The module name of `path` when it is under `<rtp entry>/lua/`, else nil.
--- Paths are compared resolved (symlinks), so either spelling matches.
---@param path string absolute
---@return string|nil name
function M.module_name(path)
  local file = realpath(path)
  if not file:match('%.lua$') then
    return nil
  end
  for _, entry in ipairs(vim.api.nvim_list_runtime_paths()) do
    local prefix = realpath(entry):gsub('/$', '') .. '/lua/'
    if file:sub(1, #prefix) == prefix then
      local rel = file:sub(#prefix + 1, -5)
      rel = rel:gsub('/init$', '')
      if rel ~= '' and rel ~= 'init' and not rel:find('%.') then
        return (rel:gsub('/', '.'))
      end
    end
  end
  return nil
end

--- The chunk name Neovim loaded the module's file with: the `source` of one
--- of its functions naming this file (loaders differ in how they spell the
--- path), else `@path`. The engine knows the module's functions by it.
local function chunkname_of(value, path)
  local want = realpath(path)
  local tail = '/' .. vim.fs.basename(path)
  local seen = {}
  local function search(v, depth)
    if type(v) == 'function' then
      local source = debug.getinfo(v, 'S').source
      -- Cheap test first: only a source ending in this file name can be it.
      if source:sub(1, 1) == '@' and source:sub(-#tail) == tail and realpath(source:sub(2)) == want then
        return source
      end
    elseif type(v) == 'table' and not seen[v] and depth < 3 then
      seen[v] = true
      for _, x in next, v do
        local found = search(x, depth + 1)
        if found then
          return found
        end
      end
    end
    return nil
  end
  return search(value, 0) or ('@' .. path)
end

--- What `path` is to Neovim: a loaded module (target), or why not (message).
---@param path string absolute
---@return hotreload.NvimTarget|nil target, string|nil message
function M.resolve(path)
  local runtime = realpath(vim.env.VIMRUNTIME or '')
  local file = realpath(path)
  if runtime ~= '' and file:sub(1, #runtime + 1) == runtime .. '/' then
    return nil, ("%s: Neovim's own runtime files ($VIMRUNTIME) are not hot-reloaded"):format(path)
  end
  local name = M.module_name(path)
  if not name then
    return nil,
      ("no program is running, and %s is not a Lua module of Neovim (under a 'runtimepath' lua/ directory); start a program with :HotReload run or nvim-dap"):format(
        path
      )
  end
  if name == 'vim' or vim.startswith(name, 'vim.') then
    return nil, ("%s: '%s' is Neovim's own runtime module; it is not hot-reloaded"):format(path, name)
  end
  if package.loaded[name] == nil then
    return nil, ("%s: module '%s' is not loaded in Neovim; require it first"):format(path, name)
  end
  return { name = name, path = path }
end

--- The new source: the buffer's text when it has unsaved changes, else the
--- file on disk.
local function source_of(path, bufnr)
  local unsaved = require('hotreload.buffer').unsaved_text(path, bufnr)
  if unsaved then
    return unsaved
  end
  local fd = io.open(path, 'rb')
  if not fd then
    return nil, path .. ': cannot read the file'
  end
  local text = fd:read('*a')
  fd:close()
  return text
end

---@class hotreload.NvimReloadOpts
---@field bufnr integer|nil the buffer holding `path`, if known
---@field on_save boolean|nil a save asked: a file that is no loaded module is skipped quietly

--- Closures Neovim holds that were made by the module's top level when it
--- was first loaded: that top level is gone, so the swap cannot pair them;
--- when their code changed they keep the old one, named here (lines the
--- reload's own warnings name are not repeated).
---@param eng table the engine
---@param name string the module
---@param path string
---@param warnings table[] the reload's warnings so far
---@return table[] warnings
local function top_level_orphans(eng, name, path, warnings)
  local rec = eng.modules and eng.modules[name]
  if not (stock and stock.orphans and rec and rec.chunk and rec.chunkname) then
    return {}
  end
  local ok, lines = pcall(stock.orphans, rec.chunkname, rec.chunk)
  if not ok or #lines == 0 then
    return {}
  end
  local said = {}
  for _, w in ipairs(warnings) do
    for n in tostring(w.message):gmatch(':(%d+)') do
      said[tonumber(n)] = true
    end
    if w.line then
      said[w.line] = true
    end
  end
  local new = {}
  table.sort(lines)
  for _, line in ipairs(lines) do
    if not said[line] then
      new[#new + 1] = line
    end
  end
  if #new == 0 then
    return {}
  end
  local file = vim.fn.fnamemodify(path, ':t')
  local at = vim.tbl_map(function(l)
    return file .. ':' .. l
  end, new)
  return {
    {
      kind = 'topLevelClosures',
      message = ('%d closure(s) Neovim holds keep their old code (%s): %s made them when Neovim first loaded it, and that top level is gone; restart Neovim (or register them again) for them to change'):format(
        #new,
        table.concat(at, ', '),
        name
      ),
      path = path,
      line = new[1],
    },
  }
end

--- Reloads the Neovim module in `path` (absolute) into Neovim; reports like
--- a program's reload and calls `on_done(ok, body_or_message)`.
---@param path string
---@param opts hotreload.NvimReloadOpts|nil
---@param on_done fun(ok: boolean, result: table|string)|nil
function M.reload(path, opts, on_done)
  opts = opts or {}
  on_done = on_done or function() end
  local report = require('hotreload.report')
  local target, why = M.resolve(path)
  if not target then
    -- A save of a file that is no loaded module is no request: say nothing.
    if not opts.on_save then
      vim.notify('hotreload: ' .. why, vim.log.levels.WARN, { title = 'hotreload' })
    end
    return on_done(false, why)
  end
  local started = vim.uv.hrtime()
  report.pre(path)
  local source, rerr = source_of(path, opts.bufnr)
  local eng, lerr = load_engine()
  local result
  ---@type hotreload.Failure|nil
  local failure
  local nested = require('hotreload.nested')
  -- Without the swap, name the closures made inside functions that keep
  -- their old code (the swap gives them the new code).
  local snapshot = not stock and eng and nested.snapshot(package.loaded[target.name], target.name) or nil
  if not source then
    failure = { kind = 'io', message = tostring(rerr), path = path }
  elseif not eng then
    failure = { kind = 'internal', message = tostring(lerr) }
  else
    eng:register(target.name, path, chunkname_of(package.loaded[target.name], path))
    local err, kind, line, reason
    result, err, kind, line, reason = eng:reload({ module = target.name, source = source })
    if stock then
      -- Compiled traces may hold the old code (or a cell as a constant).
      stock.flush()
    end
    if not result then
      -- As the host answers a program's reload: the engine's kind, and the
      -- line (and reason) it names in this file.
      failure = { kind = kind or 'other', message = tostring(err), path = line and path, line = line, reason = reason }
    end
  end
  if failure then
    report.failure(path, failure, vim.fs.dirname(path))
    return on_done(false, failure.message)
  end
  local warnings = {}
  for i, w in ipairs(result.warnings or {}) do
    warnings[i] = { kind = w.kind, message = tostring(w.message), path = w.path, line = w.line }
  end
  if snapshot then
    vim.list_extend(warnings, nested.warnings(snapshot, package.loaded[target.name], target.name, path))
  end
  if stock then
    vim.list_extend(warnings, top_level_orphans(eng, target.name, path, warnings))
  end
  local body = {
    module = target.name,
    path = path,
    changed = vim.list_slice(result.changed or {}),
    added = vim.list_slice(result.added or {}),
    removed = vim.list_slice(result.removed or {}),
    warnings = warnings,
    durationMs = (vim.uv.hrtime() - started) / 1e6,
  }
  M.stats.reloads = M.stats.reloads + 1
  M.stats.last = target.name
  report.success(path, body)
  on_done(true, body)
end

--- A short line for `:HotReload status`.
---@return string
function M.status_line()
  if not M.stats.loaded then
    return 'neovim modules: none reloaded (the engine loads on first use)'
  end
  return ('neovim modules: %d reload%s%s (%s)'):format(
    M.stats.reloads,
    M.stats.reloads == 1 and '' or 's',
    M.stats.last and (', last ' .. M.stats.last) or '',
    M.stats.backend == 'swap' and 'in-place swap' or 'pure-Lua walk'
  )
end

return M
