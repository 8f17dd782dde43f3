-- Reload time of a Neovim plugin module inside Neovim, as the heap grows:
-- the in-place swap (hotreload.swap) against the pure-Lua walk, in one run.
-- Run by run.py, once per backend (a fresh Neovim each, so that one's
-- reloads leave nothing to the other):
--   nvim --headless --clean --cmd 'set rtp^=<repo>' -l bench.lua <swap|walk> <dir> <sizes...>
-- Prints one line per size: size, median ms, whether the closures setup()
-- made ran the new code.
local mode = assert(arg[1], 'usage: bench.lua swap|walk DIR SIZES...')
local dir = assert(arg[2], 'usage: bench.lua swap|walk DIR SIZES...')
local sizes = {}
for i = 3, #arg do
  sizes[#sizes + 1] = assert(tonumber(arg[i]))
end
local path = dir .. '/lua/benchplug/init.lua'
vim.fn.mkdir(dir .. '/lua/benchplug', 'p')

-- The module: functions at the top level, and closures setup() makes (a
-- keymap and a user command, and a per-object callback factory).
local function source(version)
  return ([[
local M = {}
M.state = { n = 0 }
function M.update(dt) return dt end
function M.draw() return %d end
function M.make_callback(i)
  return function() return i * 0 + %d end
end
function M.setup()
  vim.keymap.set('n', '<Plug>(BenchInline)', function() _G.bench_inline = %d end)
  vim.api.nvim_create_user_command('BenchInline', function() _G.bench_command = %d end, {})
end
return M
]]):format(version, version, version, version)
end

local function write(version)
  local fd = assert(io.open(path, 'w'))
  fd:write(source(version))
  fd:close()
end

write(1)
vim.opt.rtp:prepend(dir)
local mod = require('benchplug')
mod.setup()
local reload = require('hotreload.nvim_reload')
vim.notify = function() end -- reports: not measured

local objects = {}
local version = 1

local function grow(n)
  for i = #objects + 1, n do
    objects[i] = { update = mod.update, draw = mod.draw }
  end
end

-- Median durationMs of five reloads; checks every kind of reference.
local function measure()
  local durations = {}
  for _ = 1, 5 do
    version = version + 1
    write(version)
    local body
    reload.reload(path, {}, function(ok, result)
      assert(ok, result)
      body = result
    end)
    durations[#durations + 1] = body.durationMs
  end
  table.sort(durations)
  assert((objects[#objects] or mod).draw() == version, 'an old reference kept its code')
  vim.api.nvim_feedkeys(vim.keycode('<Plug>(BenchInline)'), 'mx', false)
  vim.cmd('BenchInline')
  local inline = _G.bench_inline == version and _G.bench_command == version
  local made = true
  return durations[3], inline and made
end

reload.use_walker(mode == 'walk')
for _, n in ipairs(sizes) do
  grow(n)
  collectgarbage()
  local ms, inline = measure()
  io.stdout:write(('%d %.3f %s\n'):format(n, ms, inline and 'yes' or 'no'))
  io.stdout:flush()
end
