---@mod hotreload.sessions Which running program a reload goes to.
---
--- A target is either the program started by `:HotReload run` (our own
--- client) or an nvim-dap session whose adapter is `hotreload`. Both are
--- seen through the same small interface.

local M = {}

---@class hotreload.Target
---@field kind 'run'|'dap'
---@field program string absolute path of the main file
---@field root string directory whose Lua files belong to the program
---@field source_maps boolean|nil the program runs compiled code shown at its sources' lines (`.luax`, `sourceMaps`)
---@field request fun(command: string, args: table, cb: fun(err: hotreload.DapError|nil, body: any))

---@type hotreload.Target|nil the program started by `:HotReload run`
M.own = nil

local abspath = require('hotreload.paths').absolute

--- The directory a program's files live under: its `cwd`, else its own dir.
---@param program string
---@param cwd string|nil
function M.root_of(program, cwd)
  if cwd and cwd ~= '' then
    return abspath(cwd)
  end
  return vim.fs.dirname(abspath(program))
end

--- Whether a launch shows compiled code at its sources' lines: a `.luax`
--- program, `runtime = 'luanext'`, or `sourceMaps`.
---@param program string
---@param cfg table the launch arguments
---@return boolean
function M.uses_source_maps(program, cfg)
  return cfg.sourceMaps == true or cfg.runtime == 'luanext' or program:match('%.luax$') ~= nil
end

local function dap_target()
  -- Never load nvim-dap here: if it is not loaded, it runs no session.
  local dap = package.loaded['dap']
  if type(dap) ~= 'table' or type(dap.session) ~= 'function' then
    return nil
  end
  local candidates = {}
  local current = dap.session()
  if current then
    candidates[#candidates + 1] = current
  end
  if type(dap.sessions) == 'function' then
    for _, s in pairs(dap.sessions()) do
      candidates[#candidates + 1] = s
    end
  end
  for _, s in ipairs(candidates) do
    local cfg = s.config or {}
    if cfg.type == 'hotreload' and not s.closed then
      local program = cfg.program or ''
      return {
        kind = 'dap',
        program = program ~= '' and abspath(program) or '',
        root = M.root_of(program ~= '' and program or '.', cfg.cwd),
        source_maps = M.uses_source_maps(program, cfg),
        request = function(command, args, cb)
          s:request(command, args, cb)
        end,
      }
    end
  end
  return nil
end

--- The program reloads go to: our own run first, else an nvim-dap session.
---@return hotreload.Target|nil
function M.target()
  if M.own then
    return M.own
  end
  return dap_target()
end

--- Whether `path` belongs to the target's program (under its root).
---@param target hotreload.Target
---@param path string
function M.owns(target, path)
  local file = abspath(path)
  local root = target.root:gsub('/$', '') .. '/'
  return file:sub(1, #root) == root or file == target.program
end

return M
