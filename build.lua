-- Builds hotreload.nvim's native parts; lazy.nvim runs this file as the
-- plugin's build step (also: `nvim -l build.lua`). It runs
-- `scripts/build --release`, the one place that knows the layout:
--   lua/hotreload_native.so, bin/hotreload-dap, bin/hotreload-host-*
-- $HOTRELOAD_BUILD_PROFILE=debug builds the debug profile instead.

local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local release = vim.env.HOTRELOAD_BUILD_PROFILE ~= 'debug'

local function say(msg)
  -- Plain print: lazy.nvim shows it in its build log, `nvim -l` on stdout.
  print('hotreload build: ' .. msg)
end

local function fail(msg)
  error('hotreload build failed: ' .. msg, 0)
end

if vim.fn.executable('cargo') ~= 1 then
  fail('cargo not found on PATH; install a Rust toolchain (rustup) and run :Lazy build hotreload.nvim again')
end

local bash = vim.fn.executable('/bin/bash') == 1 and '/bin/bash' or 'bash'
local cmd = { bash, root .. '/scripts/build', release and '--release' or nil }
say(table.concat(cmd, ' '))
local result = vim.system(cmd, { cwd = root, text = true }):wait()
local log = vim.trim((result.stderr or '') .. '\n' .. (result.stdout or ''))
local lines = vim.split(log, '\n')
if result.code ~= 0 then
  local tail = vim.list_slice(lines, math.max(1, #lines - 30))
  fail(('scripts/build exited with %d:\n%s'):format(result.code, table.concat(tail, '\n')))
end
say(lines[#lines])
