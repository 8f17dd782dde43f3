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
---@param config table the configuration (the session reads it on launch)
function M.adapter(callback, config)
  local native = require('hotreload.native')
  local compiles = type(config) == 'table'
    and require('hotreload.sessions').uses_source_maps(tostring(config.program or ''), config)
  native.on_main_thread(function()
    local ok, info = pcall(native.start_server)
    if not ok then
      vim.notify(tostring(info), vim.log.levels.ERROR, { title = 'hotreload' })
      return
    end
    local adapter = { type = 'pipe', pipe = info.pipe }
    if compiles then
      -- nvim-dap warns when `launch` is not answered within 4 s; a launch
      -- that compiles first (LuaNext, TypeScriptToLua) may take longer.
      adapter.options = { initialize_timeout_sec = M.compile_timeout_sec }
    end
    callback(adapter)
  end)
end

--- How long nvim-dap waits for a `launch` that compiles the program first.
M.compile_timeout_sec = 60

--- Asks for arguments; works inside nvim-dap's configuration coroutine.
local function ask_args()
  local line = vim.fn.input('Arguments: ')
  return vim.split(line, '%s+', { trimempty = true })
end

--- Asks where to wait for the program's agent (default: `attach.sock` in
--- the private socket directory); works inside nvim-dap's coroutine.
local function ask_attach_address()
  local ok, default = pcall(function()
    return require('hotreload.attach').default_address()
  end)
  return vim.fn.input('Wait for the program at (host:port or socket path): ', ok and default or '')
end

--- The token a TCP attach needs, from `$HOTRELOAD_TOKEN` (nil without it:
--- the session then says a token is needed).
local function attach_token()
  local token = vim.env.HOTRELOAD_TOKEN
  return token ~= '' and token or nil
end

--- The runtimes whose host is installed (the native module's list).
---@return string[]
local function installed_runtimes()
  local names = {}
  for _, runtime in ipairs(require('hotreload.native').runtimes()) do
    if not runtime.unavailable then
      names[#names + 1] = runtime.name
    end
  end
  return names
end

--- Picks a runtime with `vim.ui.select`. Returns a suspended thread, the
--- form nvim-dap resumes with its own coroutine and waits on for a value.
local function pick_runtime()
  return coroutine.create(function(dap_co)
    local ok, offered = pcall(installed_runtimes)
    if not ok or #offered == 0 then
      offered = { config.options.runtime }
    end
    vim.ui.select(offered, { prompt = 'Lua runtime' }, function(choice)
      coroutine.resume(dap_co, choice or config.options.runtime)
    end)
  end)
end

--- The filetypes that get configurations: Lua, LuaNext (compiled with
--- `luanext` at launch) and TypeScript (TypeScriptToLua, through its source
--- maps).
M.filetypes = { 'lua', 'luanext', 'typescript' }

--- The directory of the nearest `tsconfig.json` above the current file
--- (TypeScriptToLua compiles from there), else the file's directory.
---@return string
local function typescript_project()
  local file = vim.api.nvim_buf_get_name(0)
  local found = vim.fs.find('tsconfig.json', { upward = true, path = vim.fs.dirname(file), type = 'file' })[1]
  return found and vim.fs.dirname(found) or vim.fs.dirname(file)
end

--- The configurations for TypeScript: the `.ts` file is the program; the
--- session runs the Lua compiled from it (compiling the project when that
--- is missing or older) and shows everything at `.ts` lines.
---@return table[]
local function typescript_configurations()
  return {
    {
      type = 'hotreload',
      request = 'launch',
      name = 'Launch file, TypeScriptToLua (hot reload)',
      program = '${file}',
      cwd = typescript_project,
      sourceMaps = true,
      runtime = function()
        return config.options.runtime
      end,
    },
  }
end

--- The configurations registered for `filetype` (one of |M.filetypes|).
---@param filetype string
---@return table[]
function M.configurations(filetype)
  if filetype == 'typescript' then
    return typescript_configurations()
  end
  local default_runtime = filetype == 'luanext' and 'luanext' or nil
  local function runtime()
    return default_runtime or config.options.runtime
  end
  local list = {
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
  -- A program that loads the agent runs Lua, not LuaNext.
  if filetype == 'lua' then
    list[#list + 1] = {
      type = 'hotreload',
      request = 'attach',
      name = 'Attach to a program (hot reload)',
      listen = ask_attach_address,
      token = attach_token,
    }
  end
  return list
end

--- Refetches what a stopped session shows after a reload: nvim-dap ignores
--- the `invalidated` event, so its threads, the stopped thread's frames (new
--- code may have moved lines) and the selected frame's scopes stay stale.
--- Uses the session methods nvim-dap's own stop handling uses.
---@param session table an nvim-dap session
local function refresh(session)
  local thread_id = session.stopped_thread_id
  if not thread_id or session.closed then
    return
  end
  local function frames()
    session:request('stackTrace', { threadId = thread_id, startFrame = 0 }, function(err, resp)
      local thread = session.threads and session.threads[thread_id]
      if err or not resp or not thread or session.stopped_thread_id ~= thread_id then
        return
      end
      -- Keep the user's selected frame: same position in the new stack.
      local index = 1
      for i, frame in ipairs(thread.frames or {}) do
        if session.current_frame and frame.id == session.current_frame.id then
          index = i
        end
      end
      thread.frames = resp.stackFrames
      local frame = resp.stackFrames[index] or resp.stackFrames[1]
      if frame then
        session.current_frame = frame
        if type(session._request_scopes) == 'function' then
          session:_request_scopes(frame)
        end
      end
    end)
  end
  if type(session.update_threads) == 'function' then
    session:update_threads(function(err)
      if not err then
        frames()
      end
    end)
  else
    frames()
  end
end

--- A reload that reached a session some other way (the REPL, another
--- plugin): refresh what a stopped session shows.
local function on_hot_reloaded(session, body)
  refresh(session)
  local root = session.config and session.config.cwd
  local path = body and body.path or ''
  require('hotreload.report').last = {
    ok = true,
    path = path ~= '' and require('hotreload.report').resolve_file(path, root, path) or '',
    body = body,
    time = os.time(),
  }
end

--- nvim-dap's REPL continues its last line with each output event. Our
--- console lines (reload summaries) start on a line of their own instead of
--- being glued to the previous result ("1003hot reload mod: ...").
---@param body table an output event body
local function on_output(_, body)
  if body.category == 'telemetry' then
    return
  end
  local ok, repl = pcall(require, 'dap.repl')
  if not ok then
    return
  end
  local text = body.output or ''
  if body.category == 'console' then
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'dap-repl' then
        -- The last line above the prompt.
        local above = vim.api.nvim_buf_line_count(buf) - 1
        local last = above > 0 and vim.api.nvim_buf_get_lines(buf, above - 1, above, false)[1] or ''
        if last ~= '' then
          text = '\n' .. text
        end
        break
      end
    end
  end
  repl.append(text, '$', { newline = false })
end

--- Registers the adapter, the configurations and the listeners in `dap`.
---@param dap table the nvim-dap module
function M.register(dap)
  dap.adapters = dap.adapters or {}
  dap.adapters.hotreload = M.adapter
  dap.configurations = dap.configurations or {}
  for _, ft in ipairs(M.filetypes) do
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
  -- Only where the user set no output handler of their own.
  if type(dap.defaults) == 'table' and dap.defaults.hotreload.on_output == nil then
    dap.defaults.hotreload.on_output = on_output
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
