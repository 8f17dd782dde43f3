---@mod hotreload.swap The in-place swap for Neovim's own LuaJIT.
---
--- Neovim's LuaJIT is a stock build: the native module carries C compiled
--- against LuaJIT's internal headers (`crates/host/vm/luajit_stock`) that
--- gives old closures the new prototype in place, and gives every closure
--- of a changed nested function (the keymaps, autocmds and commands a
--- `setup()` made) the new code, found in one pass over the collector's
--- objects. Before its first use it checks that the running LuaJIT has the
--- layout it was compiled for; when not (another LuaJIT, or
--- `HOTRELOAD_LUAJIT_STOCK=off`), reloads use the pure-Lua walk and one
--- warning says why.

local M = {}

---@class hotreload.StockSwap
---@field version string|nil `jit.version`
---@field problem string|nil why the running LuaJIT does not match
---@field swap fun(entries: table[]): (function|false)[]
---@field restore fun(old: function, clone: function)
---@field nested fun(rootpairs: table, skip: table, active: table, handled: table|nil): table
---@field flush fun()

---@type hotreload.StockSwap|false|nil false: unavailable (see `M.problem`)
local opened = nil

--- Why the swap is not used, once `open` failed.
---@type string|nil
M.problem = nil

--- The checked swap of the native module, or nil and why not.
---@return hotreload.StockSwap|nil swap, string|nil problem
function M.open()
  if opened ~= nil then
    return opened or nil, M.problem
  end
  local function fail(why)
    opened, M.problem = false, why
    return nil, why
  end
  if not rawget(_G, 'jit') then
    return fail('Neovim runs no LuaJIT')
  end
  -- Where `require('hotreload_native')` finds it: a 'runtimepath' lua/ entry.
  local path = vim.api.nvim_get_runtime_file('lua/hotreload_native.so', false)[1]
    or (package.searchpath and package.searchpath('hotreload_native', package.cpath))
  if not path then
    return fail('the native module is not built')
  end
  local open, lerr = package.loadlib(path, 'hotreload_luajit_stock')
  if not open then
    return fail('the native module has no stock LuaJIT swap (' .. tostring(lerr) .. '); rebuild it')
  end
  local ok, t = pcall(open)
  if not ok or type(t) ~= 'table' then
    return fail('the layout check failed: ' .. tostring(t))
  end
  if t.problem then
    return fail(('no in-place swap in %s (%s)'):format(tostring(t.version), t.problem))
  end
  opened = t
  return t
end

--- Gives a pure-Lua backend (lua_backend.lua) the in-place swap and the
--- nested pass; the walk then only replaces what could not be swapped. A
--- closure with a frame on any thread (a suspended coroutine too) is never
--- swapped: its frame would return into the old bytecode with the new
--- constants. Compiled traces are flushed after every change of code, before
--- anything (`__on_reload`) can run them.
---@param backend table EngineBackend
---@param stock hotreload.StockSwap
---@return table backend
function M.install(backend, stock)
  backend.swap, backend.restore, backend.nested = stock.swap, stock.restore, stock.nested
  return backend
end

--- Forgets the result of `open` (benchmarks and tests switch backends).
function M.reset()
  opened, M.problem = nil, nil
end

return M
