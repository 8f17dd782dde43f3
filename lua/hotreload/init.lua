---@mod hotreload Hot reload for running Lua programs, from Neovim.
---
--- `setup()` is optional: without it the defaults apply. Everything here
--- loads its modules on call.

local M = {}

--- Stores options (validated per key) and applies them: nvim-dap
--- registration and reload on save.
---@param opts hotreload.Opts|table|nil
function M.setup(opts)
  local config = require('hotreload.config')
  config.set(opts)
  if vim.fn.exists(':HotReload') ~= 2 then
    -- A config that never sourced plugin/ (`-u NONE`, a manual rtp).
    vim.g.loaded_hotreload = nil
    dofile(config.root() .. '/plugin/hotreload.lua')
  end
  if config.options.dap.register then
    require('hotreload.dap').setup()
  end
  require('hotreload.autosave').set(config.options.reload_on_save)
end

---@class hotreload.ReloadOpts
---@field on_save boolean|nil a save asked for it: a file the program has not loaded is skipped quietly

--- Reloads `path` (default: the current buffer's file) into the running
--- program; when none runs, a Lua module Neovim loaded is reloaded into
--- Neovim itself (|hotreload-nvim|). A modified buffer's text is the new
--- source. The result is reported (notify, diagnostics, quickfix, User
--- events) and passed to `on_done(ok, body_or_message)` if given.
---@param path string|nil
---@param on_done fun(ok: boolean, result: table|string)|nil
---@param opts hotreload.ReloadOpts|nil
function M.reload(path, on_done, opts)
  local report = require('hotreload.report')
  local sessions = require('hotreload.sessions')
  on_done = on_done or function() end
  local bufnr = nil
  if not path or path == '' then
    bufnr = vim.api.nvim_get_current_buf()
    path = vim.api.nvim_buf_get_name(bufnr)
    if path == '' then
      vim.notify('hotreload: this buffer has no file', vim.log.levels.WARN, { title = 'hotreload' })
      return on_done(false, 'no file')
    end
  end
  path = require('hotreload.paths').absolute(vim.fn.expand(path))
  local target = sessions.target()
  if not target then
    -- No program: a Lua module Neovim itself loaded reloads into Neovim.
    return require('hotreload.nvim_reload').reload(path, { bufnr = bufnr, on_save = opts and opts.on_save }, on_done)
  end
  local args = { path = path, source = require('hotreload.buffer').unsaved_text(path, bufnr) }
  report.pre(path)
  -- Only a fix saved while stopped is worth a retry: a reload whose new code
  -- itself stops on an error (often before its answer arrives) is not.
  local runner = require('hotreload.runner')
  local was_stopped_on_error = runner.stopped_on_error()
  target.request('hotReload', args, function(err, body)
    local failure = err and require('hotreload.failure').of(err)
    if failure and opts and opts.on_save and failure.kind == 'notFound' then
      -- Saving a module the program has not required yet is no failure:
      -- `require` will read the saved file when the program gets there.
      on_done(false, failure.message)
    elseif failure then
      report.failure(path, failure, target.root)
      on_done(false, failure.message)
    else
      report.success(path, body or {}, target.root)
      if was_stopped_on_error then
        runner.after_reload()
      end
      on_done(true, body or {})
    end
  end)
end

--- Runs `file` (default: current buffer) under our own DAP client; its
--- output goes to the `hotreload://output` buffer.
---@param file string|nil
---@param opts { runtime: string|nil, args: string[]|nil, cwd: string|nil }|nil
function M.run(file, opts)
  return require('hotreload.runner').run(file, opts)
end

--- Ends the program started by `run`; returns whether one was running.
---@return boolean
function M.stop()
  return require('hotreload.runner').stop()
end

--- Turns reload on save on or off; `nil` toggles. Returns the new state.
---@param on boolean|nil
---@return boolean
function M.auto(on)
  local autosave = require('hotreload.autosave')
  if on == nil then
    on = not autosave.enabled
  end
  autosave.set(on)
  return on
end

---@class hotreload.Status
---@field running boolean a program is running (ours or an nvim-dap session)
---@field kind 'run'|'dap'|nil how it was started
---@field program string|nil its main file
---@field state string|nil for `:HotReload run`: starting, running, stopped
---@field auto boolean reload on save is on
---@field last hotreload.LastReload|nil the last reload
---@field server { pipe: string, connections: integer }|nil the in-process server
---@field nvim hotreload.NvimReloadStatus|nil reloads of Neovim's own modules
---@field text string a short line for statuslines, e.g. `HR main.lua auto`

--- What is running and how the last reload went (cheap; for statuslines).
---@return hotreload.Status
function M.status()
  local sessions = require('hotreload.sessions')
  local target = sessions.target()
  local report = package.loaded['hotreload.report']
  local autosave = package.loaded['hotreload.autosave']
  local native = package.loaded['hotreload.native']
  local status = {
    running = target ~= nil,
    kind = target and target.kind or nil,
    program = target and target.program or nil,
    state = target and target.state or nil,
    auto = autosave ~= nil and autosave.enabled or false,
    last = report and report.last or nil,
    server = nil,
    nvim = nil,
  }
  local nvim_reload = package.loaded['hotreload.nvim_reload']
  if nvim_reload then
    status.nvim = vim.deepcopy(nvim_reload.stats)
  end
  if native then
    local ok, info = pcall(native.server_info)
    status.server = ok and info or nil
  end
  local parts = {}
  if target then
    parts[#parts + 1] = 'HR ' .. vim.fn.fnamemodify(target.program, ':t')
  end
  if status.auto then
    parts[#parts + 1] = 'auto'
  end
  if status.last and not status.last.ok then
    parts[#parts + 1] = 'reload failed'
  end
  status.text = table.concat(parts, ' ')
  return status
end

return M
