---@mod hotreload.runner `:HotReload run`: a program under our own DAP client.
---
--- Starts the in-process server, connects `hotreload.client`, then
--- initialize -> launch -> (initialized) configurationDone. Output goes to
--- the output buffer; the session becomes the reload target.

local client = require('hotreload.client')
local config = require('hotreload.config')
local native = require('hotreload.native')
local output = require('hotreload.output')
local paths = require('hotreload.paths')
local sessions = require('hotreload.sessions')

local M = {}

---@class hotreload.Run: hotreload.Target
---@field client hotreload.Client|nil
---@field state 'starting'|'running'|'stopped'|'exited'
---@field exit_code integer|nil
---@field thread_id integer|nil the thread that stopped
---@field detached boolean|nil stopped by the user: its late events are not shown
---@field stop_reason string|nil why it stopped (`exception`, `restart`, ...)
---@field continue_after_restart boolean|nil `:HotReload restart` asked: go on once restarted

--- The last program run (file and options), for `run` without a program.
---@type { file: string, opts: table, root: string }|nil
M.last = nil

local function notify(msg, level)
  vim.notify('hotreload: ' .. msg, level or vim.log.levels.INFO, { title = 'hotreload' })
end

local function on_event(run, event, body)
  body = body or {}
  if run.detached then
    -- A program the user stopped: its last output and exit code would land
    -- in the next run's buffer (and a killed program reports code 0).
    if event == 'terminated' then
      M.finish(run)
    end
    return
  end
  if event == 'output' then
    if body.category ~= 'telemetry' then
      output.append(body.output or '')
    end
  elseif event == 'stopped' then
    run.state = 'stopped'
    run.stop_reason = body.reason
    run.thread_id = body.threadId or run.thread_id
    if body.reason == 'restart' and run.continue_after_restart then
      -- `:HotReload restart`: the failed call starts again with the new
      -- code; the program goes on from there.
      run.continue_after_restart = nil
      output.note('retrying the failed call with the new code')
      run.request('continue', { threadId = run.thread_id or 1 }, function() end)
      return
    end
    local text = body.text or body.description or ''
    output.note(('stopped (%s)%s'):format(body.reason or '?', text ~= '' and (': ' .. text) or ''))
    if body.reason == 'exception' then
      M.locate_error(run, body.threadId, text)
      notify(
        ('program stopped on an error: %s (fix it and save, then :HotReload restart retries the failed call with the new code; :HotReload continue lets the error go on)'):format(
          text
        ),
        vim.log.levels.ERROR
      )
    end
  elseif event == 'continued' then
    run.state = 'running'
    run.stop_reason = nil
    require('hotreload.report').clear_program_error()
  elseif event == 'exited' then
    run.exit_code = body.exitCode
    output.note(('program exited with code %s'):format(tostring(body.exitCode)))
  elseif event == 'terminated' then
    M.finish(run)
  end
end

--- Marks where the program stopped on an error: the innermost frame that
--- has a file (the stack's own fields, not the message).
---@param run hotreload.Run
---@param thread_id integer|nil
---@param text string the error as the stop describes it
function M.locate_error(run, thread_id, text)
  run.request('stackTrace', { threadId = thread_id or 1 }, function(err, body)
    if err or type(body) ~= 'table' then
      return
    end
    for _, frame in ipairs(body.stackFrames or {}) do
      local path = frame.source and frame.source.path
      if path and path ~= '' then
        require('hotreload.report').program_error({ message = text, path = path, line = frame.line }, run.root)
        return
      end
    end
  end)
end

--- Forgets `run` and closes its connection.
---@param run hotreload.Run
function M.finish(run)
  if run.state ~= 'exited' then
    run.state = 'exited'
  end
  if sessions.own == run then
    sessions.own = nil
  end
  if run.client and not run.client.closed then
    run.client:close('program ended')
  end
end

--- Makes `run` the session of our own client on the server at `pipe`:
--- initialize, then `command` (`launch` or `attach`) with `arguments`,
--- then configurationDone once `initialized` came.
---@param run hotreload.Run
---@param pipe string
---@param command 'launch'|'attach'
---@param arguments table
---@param note string the output buffer's first line
local function open(run, pipe, command, arguments, note)
  run.request = function(cmd, args, cb)
    if not run.client or run.client.closed then
      cb({ message = 'the program is not running' }, nil)
      return
    end
    run.client:request(cmd, args, cb)
  end
  sessions.own = run
  require('hotreload.report').clear_program_error()
  output.clear()
  output.open()
  output.note(note)

  local initialized, launched = false, false
  local function configuration_done()
    if initialized and launched and run.client then
      run.client:request('configurationDone', {}, function(err)
        if err then
          output.note('configurationDone failed: ' .. err.message)
        elseif run.state == 'starting' then
          -- The program may already have stopped (or ended) before this
          -- response arrived: events and responses interleave.
          run.state = 'running'
        end
      end)
    end
  end

  client.connect(pipe, {
    on_event = function(event, body)
      if event == 'initialized' then
        initialized = true
        configuration_done()
      end
      on_event(run, event, body)
    end,
    on_close = function(reason)
      if sessions.own == run then
        output.note('session closed' .. (reason and (': ' .. reason) or ''))
        M.finish(run)
      end
    end,
  }, function(err, c)
    if err or not c then
      notify(err or 'cannot connect', vim.log.levels.ERROR)
      M.finish(run)
      return
    end
    run.client = c
    c:request('initialize', {
      clientID = 'hotreload.nvim',
      clientName = 'hotreload.nvim',
      adapterID = 'hotreload',
      linesStartAt1 = true,
      columnsStartAt1 = true,
      pathFormat = 'path',
    }, function(ierr)
      if ierr then
        output.note('initialize failed: ' .. ierr.message)
        M.finish(run)
        return
      end
      c:request(command, arguments, function(lerr)
        if lerr then
          -- The session says why; which request failed is said here.
          local msg = command .. ' failed: ' .. lerr.message
          output.note(msg)
          notify(msg, vim.log.levels.ERROR)
          M.finish(run)
        elseif command == 'attach' then
          -- attach answers once the program is there.
          launched = true
          configuration_done()
        end
      end)
      if command == 'launch' then
        launched = true
        configuration_done()
      end
    end)
  end)
end

--- What `run` without a file runs: the current buffer, unless it is another
--- file of the last program's directory (a module of it): then that program
--- again, with its arguments.
---@return string file, table|nil opts
function M.default_program()
  local current = vim.api.nvim_buf_get_name(0)
  local last = M.last
  if last then
    local file = paths.absolute(current)
    local root = last.root:gsub('/$', '') .. '/'
    if current == '' or (file ~= last.file and file:sub(1, #root) == root) then
      return last.file, last.opts
    end
  end
  return current, nil
end

--- Runs `file` (default: |M.default_program()|).
---@param file string|nil
---@param opts { runtime: string|nil, args: string[]|nil, cwd: string|nil }|nil
function M.run(file, opts)
  opts = opts or {}
  if not file or file == '' then
    local last_opts
    file, last_opts = M.default_program()
    if last_opts and #(opts.args or {}) == 0 then
      opts = last_opts
    end
  end
  if file == '' then
    notify('no file to run: give a path or open a Lua file', vim.log.levels.WARN)
    return
  end
  file = paths.absolute(vim.fn.expand(file))
  if vim.fn.filereadable(file) ~= 1 then
    notify('cannot read ' .. file, vim.log.levels.ERROR)
    return
  end
  if sessions.own then
    M.stop()
  end
  local ok, info = pcall(native.start_server)
  if not ok then
    notify(tostring(info), vim.log.levels.ERROR)
    return
  end
  local cwd = opts.cwd or vim.fs.dirname(file)
  M.last = { file = file, opts = vim.deepcopy(opts), root = sessions.root_of(file, cwd) }
  ---@type hotreload.Run
  local run = {
    kind = 'run',
    program = file,
    root = sessions.root_of(file, cwd),
    source_maps = not file:match('%.lua$'),
    state = 'starting',
    client = nil,
    request = function() end,
  }
  open(run, info.pipe, 'launch', {
    program = file,
    args = opts.args or {},
    cwd = cwd,
    runtime = opts.runtime or (file:match('%.luax$') and 'luanext') or config.options.runtime,
    -- A source other than Lua (`main.ts`): the session runs the Lua
    -- compiled from it and shows the source's lines.
    sourceMaps = not file:match('%.lua$') or nil,
  }, 'running ' .. vim.fn.fnamemodify(file, ':~:.'))
  return run
end

--- Attaches our own client to a program that loads the agent: `args` are
--- DAP `attach` arguments (`listen` or `connect`, `token`); `label` names
--- the program in the output buffer and status.
---@param args table
---@param label string
---@return hotreload.Run|nil
function M.attach(args, label)
  if sessions.own then
    M.stop()
  end
  local ok, info = pcall(native.start_server)
  if not ok then
    notify(tostring(info), vim.log.levels.ERROR)
    return nil
  end
  local root = vim.fn.getcwd()
  ---@type hotreload.Run
  local run = {
    kind = 'run',
    program = label,
    root = root,
    state = 'starting',
    client = nil,
    request = function() end,
  }
  open(run, info.pipe, 'attach', args, 'attaching: ' .. label)
  return run
end

--- Ends the program started by `run` (if any); returns whether one was.
---@return boolean
function M.stop()
  local run = sessions.own
  if not run then
    return false
  end
  ---@cast run hotreload.Run
  sessions.own = nil
  run.detached = true
  local c = run.client
  if c and not c.closed then
    c:request('disconnect', { terminateDebuggee = true }, function()
      c:close('stopped')
    end)
    -- An adapter that does not answer still gets cut off.
    vim.defer_fn(function()
      c:close('stopped')
    end, 1000)
  end
  output.note('stopped by :HotReload stop')
  run.state = 'exited'
  return true
end

--- Retries the call that failed: after a stop on an error, restarts the
--- innermost Lua frame (DAP `restartFrame`), so that the function the user
--- fixed and reloaded runs again from its first line with the program's
--- state, then continues. Returns whether there was a program stopped on an
--- error; a runtime that cannot restart says why.
---@return boolean
function M.restart()
  local run = sessions.own
  if not run or run.state ~= 'stopped' or run.stop_reason ~= 'exception' then
    return false
  end
  ---@cast run hotreload.Run
  local thread = run.thread_id or 1
  run.request('stackTrace', { threadId = thread }, function(err, body)
    if err or type(body) ~= 'table' then
      notify('restart failed: ' .. (err and err.message or 'no stack'), vim.log.levels.ERROR)
      return
    end
    local frame
    for _, f in ipairs(body.stackFrames or {}) do
      if f.source and f.source.path and f.source.path ~= '' then
        frame = f
        break
      end
    end
    if not frame then
      notify('restart failed: no Lua function on the stack to retry', vim.log.levels.ERROR)
      return
    end
    run.continue_after_restart = true
    run.request('restartFrame', { frameId = frame.id }, function(rerr)
      if rerr then
        run.continue_after_restart = nil
        notify(
          ('cannot retry %s: %s (:HotReload continue lets the error go on)'):format(frame.name or '?', rerr.message),
          vim.log.levels.ERROR
        )
      end
    end)
  end)
  return true
end

--- Whether the program started by `run` is stopped on an error.
---@return boolean
function M.stopped_on_error()
  local run = sessions.own
  return run ~= nil and run.state == 'stopped' and run.stop_reason == 'exception'
end

--- After a reload made while the program started by `run` was stopped on
--- an error: offers to retry the failed call with the new code.
function M.after_reload()
  if M.stopped_on_error() then
    notify('reloaded while stopped on an error: :HotReload restart retries the failed call with the new code')
  end
end

--- Resumes the program started by `run` after a stop (an error in reloaded
--- code, a pause); falls back to an nvim-dap session of ours. Returns
--- whether there was a stopped program.
---@return boolean
function M.continue()
  local run = sessions.own
  if run then
    ---@cast run hotreload.Run
    if run.state ~= 'stopped' then
      return false
    end
    run.request('continue', { threadId = run.thread_id or 1 }, function(err)
      if err then
        notify('continue failed: ' .. err.message, vim.log.levels.ERROR)
      end
    end)
    return true
  end
  local dap = package.loaded['dap']
  local target = sessions.target()
  local session = target and target.kind == 'dap' and dap.session and dap.session()
  if session and session.stopped_thread_id and type(dap.continue) == 'function' then
    dap.continue()
    return true
  end
  return false
end

return M
