-- `scripts/demo --headless`: the demo without a screen. Runs the example game
-- under the debugger inside a headless Neovim, edits creature.lua the way a
-- person would (buffer change + :write), and prints what the program says
-- before and after: the ticks and creatures carry on, with the new code.
local root = assert(vim.env.HOTRELOAD_ROOT, 'HOTRELOAD_ROOT is not set')
local game = assert(vim.env.HOTRELOAD_DEMO_DIR, 'HOTRELOAD_DEMO_DIR is not set')

vim.opt.runtimepath:prepend(root)
vim.cmd.runtime('plugin/hotreload.lua')
vim.o.swapfile = false

local function say(line)
  io.stdout:write(line, '\n')
  io.stdout:flush()
end

-- Messages go to the terminal instead of the (absent) screen.
local notified = {} ---@type string[]
vim.notify = function(msg, level)
  notified[#notified + 1] = msg
  say(((level or 2) >= vim.log.levels.ERROR and '[nvim error] ' or '[nvim] ') .. msg)
end

require('hotreload').setup({ reload_on_save = true, debounce_ms = 50, output = { split = 'none' } })

local output = require('hotreload.output')
local shown = 0
local function pump(ms)
  vim.wait(ms, function()
    return false
  end, 20)
  local lines = vim.api.nvim_buf_get_lines(output.buffer(), 0, -1, false)
  for i = shown + 1, #lines do
    if lines[i] ~= '' then
      say('  | ' .. lines[i])
    end
  end
  shown = #lines
end

local function wait_for(pattern, ms)
  local ok = vim.wait(ms, function()
    for _, line in ipairs(vim.api.nvim_buf_get_lines(output.buffer(), 0, -1, false)) do
      if line:find(pattern) then
        return true
      end
    end
    return false
  end, 20)
  pump(0)
  return ok
end

say('== running examples/game under the debugger (program output below)')
vim.cmd.edit(vim.fn.fnameescape(game .. '/creature.lua'))
vim.cmd('HotReload run ' .. vim.fn.fnameescape(game .. '/main.lua'))
if not wait_for('tick 4', 15000) then
  say('the program did not start; see the output above')
  os.exit(1)
end

say('== editing creature.lua: creatures now move 10 steps a tick and print as <name:x:size>; then :write')
local buf = vim.api.nvim_get_current_buf()
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
for i, line in ipairs(lines) do
  lines[i] = line:gsub('self%.x = self%.x %+ 1', 'self.x = self.x + 10'):gsub('%%s@%%d%(size %%d%)', '<%%s:%%d:%%d>')
end
vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
vim.cmd.write()

local reloaded = wait_for('<c1:', 10000)
pump(1500)
if not reloaded then
  say('== the reload did not show up in the output')
  os.exit(1)
end
say('== the tick count and sizes carried on; the creatures run the new move() and __tostring')

--- Replaces `old` by `new` in creature.lua's buffer, then :write.
local function edit(old, new)
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  text = text:gsub(vim.pesc(old), (new:gsub('%%', '%%%%')))
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, '\n'))
  vim.cmd.write()
end

say('== a mistake: move() now adds self.speed, which no creature has; :write')
edit('self.x = self.x + 10', 'self.x = self.x + self.speed')
local stopped = wait_for('stopped %(exception%).*speed', 10000)
pump(300)
say('== the game stopped at the error, its world intact; fixed: every creature gets speed 10 on its first move; :write')
notified = {}
edit('self.x = self.x + self.speed', 'self.speed = self.speed or 10\n  self.x = self.x + self.speed')
local fixed = vim.wait(10000, function()
  return vim.iter(notified):any(function(msg)
    return msg:find('reloaded while stopped on an error', 1, true) ~= nil
  end)
end, 20)
pump(0)
say('== :HotReload restart: the failed move() runs again with the fix, and the game goes on')
vim.cmd('HotReload restart')
local recovered = vim.wait(10000, function()
  local lines = vim.api.nvim_buf_get_lines(output.buffer(), 0, -1, false)
  return lines[#lines] ~= nil and lines[#lines]:find('<c1:') ~= nil
end, 20)
pump(1000)
vim.cmd('HotReload stop')
pump(300)
if stopped and fixed and recovered then
  say('== no tick was lost: the creatures kept their sizes and places and go on with the fix')
  os.exit(0)
end
say('== the mistake, its fix or the retry did not show up in the output')
os.exit(1)
