---@mod hotreload.runner `:HotReload run`: a program under our own DAP client.
---
--- Starts the in-process server, connects `hotreload.client`, then
--- initialize -> launch -> (initialized) configurationDone. Output goes to
--- the output buffer; the session becomes the reload target.

local client = require('hotreload.client')
local config = require('hotreload.config')
local native = require('hotreload.native')
local output = require('hotreload.output')
local sessions = require('hotreload.sessions')

local M = {}

---@class hotreload.Run: hotreload.Target
---@field client hotreload.Client|nil
---@field state 'starting'|'running'|'stopped'|'exited'
---@field exit_code integer|nil

local function notify(msg, level)
  vim.notify('hotreload: ' .. msg, level or vim.log.levels.INFO, { title = 'hotreload' })
end

local function on_event(run, event, body)
  body = body or {}
  if event == 'output' then
    if body.category ~= 'telemetry' then
      output.append(body.output or '')
    end
  elseif event == 'stopped' then
    run.state = 'stopped'
    local text = body.text or body.description or ''
    output.note(('stopped (%s)%s'):format(body.reason or '?', text ~= '' and (': ' .. text) or ''))
    if body.reason == 'exception' then
      notify(('program stopped on an error: %s'):format(text), vim.log.levels.ERROR)
    end
  elseif event == 'continued' then
    run.state = 'running'
  elseif event == 'exited' then
    run.exit_code = body.exitCode
    output.note(('program exited with code %s'):format(tostring(body.exitCode)))
  elseif event == 'terminated' then
    M.finish(run)
  end
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

--- Runs `file` (default: the current buffer's file).
---@param file string|nil
---@param opts { runtime: string|nil, args: string[]|nil, cwd: string|nil }|nil
function M.run(file, opts)
  opts = opts or {}
  file = file and file ~= '' and file or vim.api.nvim_buf_get_name(0)
  if file == '' then
    notify('no file to run: give a path or open a Lua file', vim.log.levels.WARN)
    return
  end
  file = vim.fn.fnamemodify(vim.fn.expand(file), ':p')
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
  ---@type hotreload.Run
  local run = {
    kind = 'run',
    program = file,
    root = sessions.root_of(file, cwd),
    state = 'starting',
    client = nil,
    request = function() end,
  }
  run.request = function(command, args, cb)
    if not run.client or run.client.closed then
      cb({ message = 'the program is not running' }, nil)
      return
    end
    run.client:request(command, args, cb)
  end
  sessions.own = run
  output.clear()
  output.open()
  output.note('running ' .. vim.fn.fnamemodify(file, ':~:.'))

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

  client.connect(info.pipe, {
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
      c:request('launch', {
        program = file,
        args = opts.args or {},
        cwd = cwd,
        runtime = opts.runtime or (file:match('%.luax$') and 'luanext') or config.options.runtime,
      }, function(lerr)
        if lerr then
          local msg = lerr.message:find('^launch') and lerr.message or ('launch failed: ' .. lerr.message)
          output.note(msg)
          notify(msg, vim.log.levels.ERROR)
          M.finish(run)
        end
      end)
      launched = true
      configuration_done()
    end)
  end)
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

return M
