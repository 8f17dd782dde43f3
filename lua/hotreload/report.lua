---@mod hotreload.report Tells the user and other plugins how a reload went.
---
--- Success: a `vim.notify` summary, diagnostics and our quickfix list
--- cleared, `User HotReloadPost`. Failure: a diagnostic on the offending
--- line, a quickfix entry, an error notification, `User HotReloadFailed`.

local config = require('hotreload.config')
local paths = require('hotreload.paths')

local M = {}

M.ns = vim.api.nvim_create_namespace('hotreload')
M.qf_title = 'hotreload'

---@class hotreload.LastReload
---@field ok boolean
---@field path string
---@field body table|nil the hotReload response body on success
---@field message string|nil the error on failure
---@field kind string|nil what kind of failure (`hotreload.Failure`)
---@field time integer os.time() of the answer

---@type hotreload.LastReload|nil
M.last = nil

local function fire(pattern, data)
  vim.api.nvim_exec_autocmds('User', { pattern = pattern, data = data, modeline = false })
end

--- The session's one-line summary (the DAP console's wording), e.g.
--- "game.player: 3 changed, 1 added, 0 removed (changed: update, ...; 2.1 ms)".
--- Without the native module (Neovim's own reload path needs none) only the
--- module is named.
---@param body table a hotReload response body
---@return string
function M.summary(body)
  local native = require('hotreload.native')
  if native.try_load() then
    return native.reload_summary(body)
  end
  return ('%s: reloaded'):format(body.module or body.path or '?')
end

--- The real file a location names, absolute and normalised: relative to
--- the program's root first (the host names files as the program opened
--- them, e.g. `./mod.lua`), else to Neovim's directory, else the file being
--- reloaded.
---@param file string
---@param root string|nil
---@param fallback string
---@return string
local function resolve_file(file, root, fallback)
  if file == '' then
    return fallback
  end
  if vim.startswith(file, '...') then
    -- Lua shortens long chunk names to their tail: find the file it ends.
    local tail = file:sub(4)
    local found = vim.fs.find(function(name, dir)
      return vim.endswith(dir .. '/' .. name, tail)
    end, { path = root or vim.fn.getcwd(), type = 'file', limit = 1 })[1]
    return found and paths.absolute(found) or fallback
  end
  local candidates = { file }
  if root and not vim.startswith(file, '/') then
    table.insert(candidates, 1, root .. '/' .. file)
  end
  for _, candidate in ipairs(candidates) do
    if vim.fn.filereadable(candidate) == 1 then
      return paths.absolute(candidate)
    end
  end
  return fallback
end
M.resolve_file = resolve_file

-- The program is stopped on an error we located: a good reload (often
-- answered after that stop) leaves it shown until the program runs again.
local program_error_shown = false

local function clear_problems()
  program_error_shown = false
  vim.diagnostic.reset(M.ns)
  local qf = vim.fn.getqflist({ title = 0 })
  if qf.title == M.qf_title then
    vim.fn.setqflist({}, 'r', { title = M.qf_title, items = {} })
  end
end

--- An error diagnostic at `line` of `file` (its message `prefix .. text`)
--- and our quickfix list holding that one place.
---@param file string
---@param line integer
---@param text string
---@param prefix string
local function mark(file, line, text, prefix)
  vim.diagnostic.set(M.ns, vim.fn.bufadd(file), {
    {
      lnum = line - 1,
      col = 0,
      severity = vim.diagnostic.severity.ERROR,
      source = 'hotreload',
      message = prefix .. text,
    },
  })
  local qf = vim.fn.getqflist({ title = 0 })
  vim.fn.setqflist({}, qf.title == M.qf_title and 'r' or ' ', {
    title = M.qf_title,
    items = { { filename = file, lnum = line, text = text, type = 'E' } },
  })
end

--- The program stopped on an uncaught error (at start, or in reloaded
--- code): a diagnostic and a quickfix entry at its location, as for a failed
--- reload, without the reload events.
---@param failure { message: string, path: string|nil, line: integer|nil, reason: string|nil }
---@param root string|nil the program's root, to resolve relative locations
function M.program_error(failure, root)
  if not (failure.path and failure.line) or not config.options.diagnostics then
    return
  end
  local file = resolve_file(failure.path, root, '')
  if file == '' then
    return
  end
  clear_problems()
  program_error_shown = true
  mark(file, failure.line, failure.reason or failure.message, 'program error: ')
end

--- The program runs again: its error's diagnostic and quickfix entry go.
function M.clear_program_error()
  if program_error_shown then
    clear_problems()
  end
end

--- Before a reload is sent.
---@param path string
function M.pre(path)
  fire('HotReloadPre', { path = path })
end

--- A reload succeeded; `body` is the response body (module, path, changed,
--- added, removed, warnings, durationMs).
---@param path string
---@param body table
---@param root string|nil the program's root, to resolve a relative `body.path`
function M.success(path, body, root)
  body = body or {}
  body = vim.tbl_extend('force', body, {
    path = resolve_file(type(body.path) == 'string' and body.path or '', root, path),
  })
  M.last = { ok = true, path = path, body = body, time = os.time() }
  if not program_error_shown then
    clear_problems()
  end
  if config.options.notify then
    vim.notify(M.summary(body), vim.log.levels.INFO, { title = 'hotreload' })
    for _, w in ipairs(body.warnings or {}) do
      vim.notify('hotreload: ' .. tostring(w.message), vim.log.levels.WARN, { title = 'hotreload' })
    end
  end
  fire('HotReloadPost', body)
end

--- A reload failed: its message, kind and location (`hotreload.failure`).
---@param path string
---@param failure hotreload.Failure
---@param root string|nil the program's root, to resolve relative locations
function M.failure(path, failure, root)
  local message = tostring(failure.message)
  M.last = { ok = false, path = path, message = message, kind = failure.kind, time = os.time() }
  local data = { path = path, message = message, kind = failure.kind }
  if failure.path and failure.line then
    data.file = resolve_file(failure.path, root, path)
    data.line = failure.line
    data.reason = failure.reason or message
  end
  clear_problems()
  if config.options.diagnostics and data.file and data.line then
    mark(data.file, data.line, data.reason, 'hot reload failed: ')
  end
  if config.options.notify then
    vim.notify('hotreload: ' .. message, vim.log.levels.ERROR, { title = 'hotreload' })
  end
  fire('HotReloadFailed', data)
end

return M
