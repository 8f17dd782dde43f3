---@mod hotreload.native Loads the native module on first use and runs its server.
---
--- The native module returns failures as `{ error = text }` (raising from
--- Rust would abort Neovim); this module turns them into Lua errors.

local config = require('hotreload.config')

local M = {}

---@class hotreload.NativeModule
---@field version fun(): string
---@field start_server fun(opts: table): { pipe: string, connections: integer }|{ error: string }
---@field stop_server fun(): boolean|{ error: string }
---@field server_info fun(): { pipe: string, connections: integer }|nil

---@type hotreload.NativeModule|nil
local loaded = nil

--- Recent messages from the server thread, newest last (for `status`/health).
---@type { level: string, text: string }[]
M.log = {}
local LOG_MAX = 200

local function fix_hint()
  return 'run :Lazy build hotreload.nvim (or scripts/build --release in ' .. config.root() .. ')'
end

--- Loads `hotreload_native` and checks that its version equals the glue's.
---@return hotreload.NativeModule|nil module, string|nil err
function M.try_load()
  if loaded then
    return loaded
  end
  local ok, mod = pcall(require, 'hotreload_native')
  if not ok then
    return nil, ('native module not found or not loadable (%s); %s'):format(tostring(mod):match('^[^\n]*'), fix_hint())
  end
  if type(mod) == 'table' and mod.error then
    -- The module could not set itself up; it says why.
    package.loaded.hotreload_native = nil
    return nil, tostring(mod.error)
  end
  local want = require('hotreload.version')
  local vok, have = pcall(mod.version)
  if not vok or type(have) ~= 'string' then
    return nil, 'native module is too old to report its version; ' .. fix_hint()
  end
  if have ~= want then
    return nil, ('native module is version %s but the Lua glue is %s; %s'):format(have, want, fix_hint())
  end
  loaded = mod
  return loaded
end

--- Runs `fn` on Neovim's main thread: now when called there, else on the
--- next main-loop turn. Callers such as nvim-dap run our code inside
--- coroutines that are collected later; the native module is loaded (and
--- its server started) on the main thread, so nothing depends on them.
---@param fn fun()
function M.on_main_thread(fn)
  local co, is_main = coroutine.running()
  if co and not is_main then
    vim.schedule(fn)
  else
    fn()
  end
end

--- Like `try_load` but raises.
---@return hotreload.NativeModule
function M.load()
  local mod, err = M.try_load()
  if not mod then
    error('(hotreload) ' .. err, 0)
  end
  return mod
end

local function unwrap(value)
  if type(value) == 'table' and value.error then
    error('(hotreload) ' .. tostring(value.error), 0)
  end
  return value
end

local function on_message(level, text)
  table.insert(M.log, { level = level, text = text })
  if #M.log > LOG_MAX then
    table.remove(M.log, 1)
  end
  if level == 'warn' or level == 'error' then
    vim.notify('hotreload: ' .. text, vim.log.levels[level:upper()], { title = 'hotreload' })
  end
end

local leave_autocmd = nil

--- Starts the in-process DAP server (once) and returns where it listens.
---@return { pipe: string, connections: integer }
function M.start_server()
  local mod = M.load()
  local info = unwrap(mod.start_server({
    host_dir = config.host_dir(),
    socket_dir = config.socket_dir(),
    log_file = config.options.log_file and vim.fs.normalize(config.options.log_file) or nil,
    on_message = on_message,
  }))
  if not leave_autocmd then
    -- Ends the sessions (and so their hosts) before Neovim exits.
    leave_autocmd = vim.api.nvim_create_autocmd('VimLeavePre', {
      group = vim.api.nvim_create_augroup('hotreload.native', { clear = true }),
      callback = function()
        M.stop_server()
      end,
    })
  end
  return info
end

--- Stops the server if it runs; returns whether it did.
---@return boolean
function M.stop_server()
  if not loaded then
    return false
  end
  return unwrap(loaded.stop_server()) == true
end

--- `{ pipe, connections }` of the running server, or nil.
---@return { pipe: string, connections: integer }|nil
function M.server_info()
  if not loaded then
    return nil
  end
  return unwrap(loaded.server_info())
end

return M
