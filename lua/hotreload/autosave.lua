---@mod hotreload.autosave Reload on save, debounced, opt-in.
---
--- A `BufWritePost` autocmd for `*.lua` and `*.luax` that exists only while
--- reload on save is on. A save reloads the file when it belongs to the
--- running program; several saves within `debounce_ms` reload once.

local config = require('hotreload.config')

local M = {}

M.enabled = false
M.group_name = 'hotreload.autosave'

---@type table<string, uv.uv_timer_t>
local timers = {}

local function reload_later(path)
  local timer = timers[path]
  if not timer then
    timer = assert(vim.uv.new_timer())
    timers[path] = timer
  end
  timer:stop()
  timer:start(config.options.debounce_ms, 0, function()
    timer:stop()
    timer:close()
    timers[path] = nil
    vim.schedule(function()
      local sessions = require('hotreload.sessions')
      local target = sessions.target()
      if M.enabled and target and sessions.owns(target, path) then
        require('hotreload').reload(path, nil, { on_save = true })
      end
    end)
  end)
end

local function on_write(ev)
  local sessions = require('hotreload.sessions')
  local target = sessions.target()
  if not target then
    return
  end
  local path = vim.fs.normalize(vim.fn.fnamemodify(ev.match, ':p'))
  if sessions.owns(target, path) then
    reload_later(path)
  end
end

--- Turns reload on save on or off.
---@param on boolean
function M.set(on)
  M.enabled = on and true or false
  local group = vim.api.nvim_create_augroup(M.group_name, { clear = true })
  if M.enabled then
    vim.api.nvim_create_autocmd('BufWritePost', {
      group = group,
      pattern = { '*.lua', '*.luax' },
      desc = 'hotreload: reload the saved module into the running program',
      callback = on_write,
    })
  end
end

return M
