---@mod hotreload.health `:checkhealth hotreload`.

local config = require('hotreload.config')

local M = {}

local health = vim.health

---@class hotreload.HealthHost
---@field runtime string the launch argument `runtime`
---@field suffix string host binary suffix (`hotreload-host-<suffix>`)
---@field built boolean whether `scripts/build` builds it
---@field limits string|nil what this runtime's host does not do yet

-- What a PUC host without the native reload backend does not do yet.
local pure_lua_walk = 'reloads with the pure-Lua walk: closures a factory already made,'
  .. ' and the running main program, keep their old code'

---@type hotreload.HealthHost[]
local hosts = {
  { runtime = 'lua5.4', suffix = 'lua54', built = true },
  { runtime = 'lua5.3', suffix = 'lua53', built = true, limits = pure_lua_walk },
  { runtime = 'lua5.2', suffix = 'lua52', built = true, limits = pure_lua_walk },
  { runtime = 'lua5.1', suffix = 'lua51', built = false },
  { runtime = 'luajit', suffix = 'luajit', built = false },
}

local build_fix = 'run :Lazy build hotreload.nvim (or scripts/build --release in the plugin directory)'

local function check_neovim()
  health.start('hotreload: Neovim')
  local v = vim.version()
  local text = ('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok(text)
  else
    health.error(text .. ' is too old', { 'install Neovim 0.11 or newer' })
  end
end

local function check_native()
  health.start('hotreload: native module')
  local native = require('hotreload.native')
  local mod, err = native.try_load()
  if not mod then
    health.error(err or 'cannot load hotreload_native', { build_fix })
    return
  end
  local path = package.searchpath and package.searchpath('hotreload_native', package.cpath)
  local found = vim.api.nvim_get_runtime_file('lua/hotreload_native.so', false)[1] or path or '?'
  health.ok(('hotreload_native %s found (%s), matches the Lua glue'):format(mod.version(), found))
end

local function check_hosts()
  health.start('hotreload: host binaries')
  local dir = config.host_dir()
  health.info('host dir: ' .. dir)
  for _, h in ipairs(hosts) do
    local exe = ('%s/hotreload-host-%s'):format(dir, h.suffix)
    if vim.fn.executable(exe) == 1 then
      local ok, result = pcall(function()
        return vim.system({ exe, '--version' }, { text = true }):wait(3000)
      end)
      if ok and result.code == 0 then
        local out = vim.trim((result.stdout or '') .. (result.stderr or ''))
        health.ok(('%s: %s'):format(h.runtime, (out:gsub('\n', ' '))))
        if h.limits then
          health.info(('%s: %s'):format(h.runtime, h.limits))
        end
      else
        local why = ok and ('exit code %s: %s'):format(result.code, vim.trim(result.stderr or '')) or tostring(result)
        health.error(('%s: %s --version failed (%s)'):format(h.runtime, exe, why), { build_fix })
      end
    elseif h.built then
      health.error(('%s: %s not found'):format(h.runtime, exe), { build_fix })
    else
      health.info(('%s: no host in this release yet'):format(h.runtime))
    end
  end
end

local function check_dap()
  health.start('hotreload: nvim-dap')
  local ok, dap = pcall(require, 'dap')
  if not ok then
    health.info('nvim-dap is not installed: :HotReload run and :HotReload work without it')
    return
  end
  if type(dap.adapters) == 'table' and dap.adapters.hotreload then
    health.ok('nvim-dap found; adapter `hotreload` registered')
  else
    health.warn('nvim-dap found but adapter `hotreload` is not registered', {
      "call require('hotreload').setup() (lazy.nvim: opts = {}), with dap.register = true",
    })
  end
end

local function check_socket_dir()
  health.start('hotreload: socket directory')
  local dir = config.socket_dir()
  local stat = vim.uv.fs_stat(dir)
  if not stat then
    health.ok(dir .. ' does not exist yet; it will be created with mode 0700')
    return
  end
  if stat.type ~= 'directory' then
    health.error(dir .. ' is not a directory', { 'remove it or set `socket_dir` in setup()' })
    return
  end
  local mode = bit.band(stat.mode, 511)
  local problems = {}
  if stat.uid ~= vim.uv.getuid() then
    problems[#problems + 1] = ('owned by uid %d, not you'):format(stat.uid)
  end
  if bit.band(mode, 63) ~= 0 then
    problems[#problems + 1] = ('mode %o lets others in'):format(mode)
  end
  if #problems == 0 then
    health.ok(('%s is private (mode %o)'):format(dir, mode))
  else
    health.error(dir .. ': ' .. table.concat(problems, '; '), {
      ('chmod 700 %s'):format(dir),
      'or set `socket_dir` in setup() to a directory only you can open',
    })
  end
end

function M.check()
  check_neovim()
  check_native()
  check_hosts()
  check_dap()
  check_socket_dir()
end

return M
