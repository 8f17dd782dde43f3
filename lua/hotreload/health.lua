---@mod hotreload.health `:checkhealth hotreload`.

local config = require('hotreload.config')

local M = {}

local health = vim.health

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
  -- Reloads of Neovim's own modules: in place, or the slower walk and why.
  local swap, problem = require('hotreload.swap').open()
  if swap then
    health.ok(('%s: reloads of Neovim modules swap code in place (layout check passed)'):format(tostring(swap.version)))
  else
    health.warn(
      ('reloads of Neovim modules use the pure-Lua walk: %s'):format(tostring(problem)),
      { 'closures made inside functions keep their old code; rebuild the plugin against this Neovim' }
    )
  end
end

local function check_hosts()
  health.start('hotreload: host binaries')
  local native = require('hotreload.native')
  if not native.try_load() then
    health.error('cannot list the runtimes without the native module', { build_fix })
    return
  end
  health.info('host dir: ' .. config.host_dir())
  local runtimes = native.runtimes()
  local configured = config.options.runtime
  local known = vim.tbl_filter(function(r)
    return r.name == configured
  end, runtimes)[1]
  if not known then
    local names = vim.tbl_map(function(r)
      return r.name
    end, runtimes)
    health.error(
      ('runtime %s (setup) is unknown'):format(vim.inspect(configured)),
      { 'set `runtime` to one of ' .. table.concat(names, ', ') }
    )
  elseif not known.host then
    health.error(('runtime %s (setup): %s'):format(configured, known.unavailable or '?'))
  end
  for _, runtime in ipairs(runtimes) do
    local exe = runtime.host
    if not exe then
      health.info(('%s: not in this release (%s)'):format(runtime.name, runtime.unavailable or '?'))
    elseif vim.fn.executable(exe) == 1 then
      local ok, result = pcall(function()
        return vim.system({ exe, '--version' }, { text = true }):wait(3000)
      end)
      if ok and result.code == 0 then
        local out = vim.trim((result.stdout or '') .. (result.stderr or ''))
        health.ok(('%s: %s'):format(runtime.name, (out:gsub('\n', ' '))))
      else
        local why = ok and ('exit code %s: %s'):format(result.code, vim.trim(result.stderr or '')) or tostring(result)
        health.error(('%s: %s --version failed (%s)'):format(runtime.name, exe, why), { build_fix })
      end
    else
      health.error(('%s: %s not found'):format(runtime.name, exe), { build_fix })
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
  local native = require('hotreload.native')
  if not native.try_load() then
    health.error('cannot check the socket directory without the native module', { build_fix })
    return
  end
  local dir = native.socket_dir()
  if not dir.exists then
    health.ok(dir.path .. ' does not exist yet; it will be created with mode 0700')
  elseif dir.problem then
    health.error(dir.problem, { 'set `socket_dir` in setup() to a directory only you can open' })
  else
    health.ok(dir.path .. ' is private')
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
