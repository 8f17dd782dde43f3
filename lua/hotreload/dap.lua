---@mod hotreload.dap nvim-dap integration: the `hotreload` adapter and configurations.
---
--- nvim-dap is optional and never loaded by the plugin on its own: `setup()`
--- does `pcall(require, 'dap')` only when `dap.register` is on.

local config = require('hotreload.config')

local M = {}

M.listener_id = 'hotreload'

--- The adapter factory nvim-dap calls for a `type = 'hotreload'` session:
--- starts the in-process server on first use and yields its pipe. nvim-dap
--- calls it inside a coroutine; the server starts on the main thread and
--- the callback follows from there (nvim-dap accepts a later callback).
---@param callback fun(adapter: table)
---@param _ table the configuration (unused: the session reads it on launch)
function M.adapter(callback, _)
  local native = require('hotreload.native')
  native.on_main_thread(function()
    local ok, info = pcall(native.start_server)
    if not ok then
      vim.notify(tostring(info), vim.log.levels.ERROR, { title = 'hotreload' })
      return
    end
    callback({ type = 'pipe', pipe = info.pipe })
  end)
end

--- Asks for arguments; works inside nvim-dap's configuration coroutine.
local function ask_args()
  local line = vim.fn.input('Arguments: ')
  return vim.split(line, '%s+', { trimempty = true })
end

--- Picks a runtime with `vim.ui.select`. Returns a suspended thread, the
--- form nvim-dap resumes with its own coroutine and waits on for a value.
local function pick_runtime()
  return coroutine.create(function(dap_co)
    vim.ui.select(config.runtimes, { prompt = 'Lua runtime' }, function(choice)
      coroutine.resume(dap_co, choice or config.options.runtime)
    end)
  end)
end

--- The configurations registered for `filetype` (`lua` or `luanext`).
---@param filetype string
---@return table[]
function M.configurations(filetype)
  local default_runtime = filetype == 'luanext' and 'luanext' or nil
  local function runtime()
    return default_runtime or config.options.runtime
  end
  return {
    {
      type = 'hotreload',
      request = 'launch',
      name = 'Launch file (hot reload)',
      program = '${file}',
      cwd = '${fileDirname}',
      runtime = runtime,
    },
    {
      type = 'hotreload',
      request = 'launch',
      name = 'Launch file with arguments (hot reload)',
      program = '${file}',
      cwd = '${fileDirname}',
      args = ask_args,
      runtime = runtime,
    },
    {
      type = 'hotreload',
      request = 'launch',
      name = 'Launch file, pick a runtime (hot reload)',
      program = '${file}',
      cwd = '${fileDirname}',
      runtime = pick_runtime,
    },
  }
end

--- A reload that reached a session some other way (the REPL, another
--- plugin): refresh what a stopped session shows.
local function on_hot_reloaded(session, body)
  if session.current_frame and type(session._request_scopes) == 'function' then
    pcall(session._request_scopes, session, session.current_frame)
  end
  require('hotreload.report').last = {
    ok = true,
    path = body and body.path or '',
    body = body,
    time = os.time(),
  }
end

--- Registers the adapter, the configurations and the listeners in `dap`.
---@param dap table the nvim-dap module
function M.register(dap)
  dap.adapters = dap.adapters or {}
  dap.adapters.hotreload = M.adapter
  dap.configurations = dap.configurations or {}
  for _, ft in ipairs({ 'lua', 'luanext' }) do
    local list = dap.configurations[ft] or {}
    local present = {}
    for _, c in ipairs(list) do
      present[c.name or ''] = true
    end
    for _, c in ipairs(M.configurations(ft)) do
      if not present[c.name] then
        list[#list + 1] = c
      end
    end
    dap.configurations[ft] = list
  end
  if type(dap.listeners) == 'table' and type(dap.listeners.after) == 'table' then
    local after = dap.listeners.after
    after.event_hotReloaded = after.event_hotReloaded or {}
    after.event_hotReloaded[M.listener_id] = on_hot_reloaded
  end
end

--- Registers with nvim-dap if it is installed; returns whether it was.
---@return boolean
function M.setup()
  local ok, dap = pcall(require, 'dap')
  if not ok or type(dap) ~= 'table' then
    return false
  end
  M.register(dap)
  return true
end

return M
