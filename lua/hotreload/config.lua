---@mod hotreload.config Options: defaults, merging and validation.

---@class hotreload.OutputOpts
---@field split 'below'|'above'|'left'|'right'|'none' where the output window opens (`none`: never)
---@field height integer height (or width for left/right) of the output window
---@field max_lines integer older lines are dropped past this many

---@class hotreload.Opts
---@field reload_on_save boolean reload saved *.lua/*.luax files of the running program
---@field debounce_ms integer wait this long after the last save before reloading
---@field runtime string runtime for `:HotReload run` and the default nvim-dap configurations
---@field host_dir string|nil where `hotreload-host-*` live (default: `<plugin root>/bin`)
---@field socket_dir string|nil private dir for the server socket (default: see |hotreload-options|)
---@field log_file string|nil append a transcript of the DAP traffic to this file
---@field notify boolean show `vim.notify` summaries of reloads
---@field diagnostics boolean failed reloads set a diagnostic and a quickfix entry
---@field output hotreload.OutputOpts
---@field dap { register: boolean } register the nvim-dap adapter and configurations
---@field nvim { reload_on_save: boolean } with no program running, reload saved modules Neovim loaded

local M = {}

M.runtimes = { 'lua5.4', 'lua5.1', 'lua5.2', 'lua5.3', 'luajit', 'luanext' }

---@type hotreload.Opts
M.defaults = {
  reload_on_save = false,
  debounce_ms = 150,
  runtime = 'lua5.4',
  host_dir = nil,
  socket_dir = nil,
  log_file = nil,
  notify = true,
  diagnostics = true,
  output = { split = 'below', height = 10, max_lines = 10000 },
  dap = { register = true },
  nvim = { reload_on_save = false },
}

---@type hotreload.Opts
M.options = vim.deepcopy(M.defaults)

local function one_of(list)
  return function(v)
    return vim.tbl_contains(list, v)
  end, 'one of ' .. table.concat(list, ', ')
end

local function integer_from(min)
  return function(v)
    return type(v) == 'number' and v >= min and math.floor(v) == v
  end,
    ('an integer >= %d'):format(min)
end

-- key -> { validator, optional, description of a valid value }
local schema = {
  reload_on_save = { 'boolean' },
  debounce_ms = { integer_from(0) },
  runtime = { one_of(M.runtimes) },
  host_dir = { 'string', true },
  socket_dir = { 'string', true },
  log_file = { 'string', true },
  notify = { 'boolean' },
  diagnostics = { 'boolean' },
  output = { 'table' },
  ['output.split'] = { one_of({ 'below', 'above', 'left', 'right', 'none' }) },
  ['output.height'] = { integer_from(1) },
  ['output.max_lines'] = { integer_from(1) },
  dap = { 'table' },
  ['dap.register'] = { 'boolean' },
  nvim = { 'table' },
  ['nvim.reload_on_save'] = { 'boolean' },
}
-- `{ fn, desc }` pairs from the helpers above become `{ fn, nil, desc }`.
for _, spec in pairs(schema) do
  if type(spec[1]) == 'function' and type(spec[2]) == 'string' then
    spec[3], spec[2] = spec[2], nil
  end
end

local function get(tbl, dotted)
  local value = tbl
  for part in dotted:gmatch('[^.]+') do
    if type(value) ~= 'table' then
      return nil
    end
    value = value[part]
  end
  return value
end

--- Validates one value (`vim.validate`'s name-first form); returns the
--- message on failure.
local function check(name, value, validator, optional, desc)
  return pcall(vim.validate, name, value, validator, optional, desc)
end

--- Lists keys the user gave that we do not know (typos).
local function unknown_keys(opts, prefix, out)
  for key, value in pairs(opts) do
    local dotted = prefix and (prefix .. '.' .. key) or tostring(key)
    if not schema[dotted] then
      out[#out + 1] = dotted
    elseif type(value) == 'table' and type(get(M.defaults, dotted)) == 'table' then
      unknown_keys(value, dotted, out)
    end
  end
  return out
end

--- Merges `opts` over the defaults and validates every key; raises an error
--- naming the first bad key, e.g. `(hotreload) output.height: expected ...`.
---@param opts table|nil
---@return hotreload.Opts
function M.resolve(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then
    error(('(hotreload) opts: expected table, got %s'):format(type(opts)), 0)
  end
  local unknown = unknown_keys(opts, nil, {})
  if #unknown > 0 then
    table.sort(unknown)
    error(('(hotreload) %s: unknown option'):format(unknown[1]), 0)
  end
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  local keys = vim.tbl_keys(schema)
  table.sort(keys)
  for _, key in ipairs(keys) do
    local spec = schema[key]
    local ok, err = check(key, get(merged, key), spec[1], spec[2], spec[3])
    if not ok then
      error('(hotreload) ' .. tostring(err):gsub('^.-: (' .. vim.pesc(key) .. ':)', '%1'), 0)
    end
  end
  return merged
end

--- Validates and stores the options.
---@param opts table|nil
function M.set(opts)
  M.options = M.resolve(opts)
  return M.options
end

--- The directory holding the server socket: `socket_dir`, else
--- `$XDG_RUNTIME_DIR/hotreload`, else `$TMPDIR/hotreload-<uid>`.
---@return string
function M.socket_dir()
  if M.options.socket_dir then
    return vim.fs.normalize(M.options.socket_dir)
  end
  local xdg = vim.env.XDG_RUNTIME_DIR
  if xdg and xdg ~= '' then
    return xdg .. '/hotreload'
  end
  local tmp = vim.env.TMPDIR
  if not tmp or tmp == '' then
    tmp = '/tmp'
  end
  return ('%s/hotreload-%d'):format(tmp:gsub('/$', ''), vim.uv.getuid())
end

--- The plugin's root directory (where `lua/`, `bin/` and `doc/` are).
---@return string
function M.root()
  local source = debug.getinfo(1, 'S').source:sub(2)
  return vim.fn.fnamemodify(source, ':p:h:h:h')
end

--- Where the host binaries are: `host_dir`, else `<plugin root>/bin`.
---@return string
function M.host_dir()
  if M.options.host_dir then
    return vim.fs.normalize(M.options.host_dir)
  end
  return M.root() .. '/bin'
end

return M
