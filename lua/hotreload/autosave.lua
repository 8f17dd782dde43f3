---@mod hotreload.autosave Reload on save, debounced, opt-in.
---
--- One `BufWritePost` autocmd for `*.lua`, `*.luax` and `*.ts`/`*.tsx`,
--- present only while reload on save is on for the running program
--- (`reload_on_save`) or for Neovim's own modules (`nvim.reload_on_save`). A
--- save reloads the file when it belongs to the running program (a source
--- other than Lua only when the program uses source maps: the session
--- recompiles it), or, when none runs, when it may be a module Neovim loaded;
--- several saves within `debounce_ms` reload once.

local config = require('hotreload.config')

local M = {}

--- Reload on save for the running program (`:HotReload auto`).
M.enabled = false
M.group_name = 'hotreload.autosave'
--- The files a save may reload: Lua, and the sources the session compiles.
M.patterns = { '*.lua', '*.luax', '*.ts', '*.tsx' }

---@type table<string, uv.uv_timer_t>
local timers = {}

--- Whether a save of `path` (absolute, normalized) asks for a reload now.
---@param path string
---@return boolean
local function wanted(path)
  local sessions = require('hotreload.sessions')
  local target = sessions.target()
  if target then
    local lua = path:match('%.lua$') ~= nil
    return M.enabled and (lua or target.source_maps == true) and sessions.owns(target, path)
  end
  return config.options.nvim.reload_on_save and path:match('%.lua$') ~= nil
end

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
      -- The program may have started or ended meanwhile: decide again.
      if wanted(path) then
        require('hotreload').reload(path, nil, { on_save = true })
      end
    end)
  end)
end

local function on_write(ev)
  local path = require('hotreload.paths').absolute(ev.match)
  if wanted(path) then
    reload_later(path)
  end
end

--- Creates or removes the autocmd to match the options and `M.enabled`.
local function sync()
  local group = vim.api.nvim_create_augroup(M.group_name, { clear = true })
  if M.enabled or config.options.nvim.reload_on_save then
    vim.api.nvim_create_autocmd('BufWritePost', {
      group = group,
      pattern = M.patterns,
      desc = 'hotreload: reload the saved module into the running program (or Neovim)',
      callback = on_write,
    })
  end
end

--- Turns reload on save for the running program on or off; reload on save
--- of Neovim's modules follows `nvim.reload_on_save`.
---@param on boolean
function M.set(on)
  M.enabled = on and true or false
  sync()
end

return M
