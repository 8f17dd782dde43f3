-- Builds hotreload.nvim's native parts: `scripts/build --release`, the one
-- place that knows the layout (lua/hotreload_native.so, bin/hotreload-dap,
-- bin/hotreload-host-*). $HOTRELOAD_BUILD_PROFILE=debug builds the debug
-- profile instead.
--
-- lazy.nvim runs this file inside a coroutine, with no time limit (a build
-- *command* string would be a process it kills after 120 s, which a clean
-- release build on a busy 2-core machine exceeds). There it yields progress
-- messages (lazy's documented `coroutine.yield(msg)`), so Neovim stays
-- responsive and lazy shows what is compiling. Run directly (`nvim -l
-- build.lua`) it waits and prints. Failures raise with the reason.

local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local release = vim.env.HOTRELOAD_BUILD_PROFILE ~= 'debug'

local co, is_main = coroutine.running()
local in_coroutine = co ~= nil and not is_main

local function fail(msg)
  error('hotreload build failed: ' .. msg, 0)
end

--- Reports progress: to lazy when it runs us, else on stdout.
---@param msg string
local function say(msg)
  msg = 'hotreload build: ' .. msg
  if in_coroutine then
    if coroutine.yield({ msg = msg, level = vim.log.levels.INFO }) == 'abort' then
      error('hotreload build: aborted', 0)
    end
  else
    io.stdout:write(msg, '\n')
  end
end

if vim.fn.executable('cargo') ~= 1 then
  fail('cargo not found on PATH; install a Rust toolchain (https://rustup.rs) and run :Lazy build hotreload.nvim again')
end
local cc = vim.env.CC
if not (cc and vim.fn.executable(cc) == 1) then
  cc = nil
  for _, name in ipairs({ 'cc', 'gcc', 'clang' }) do
    if vim.fn.executable(name) == 1 then
      cc = name
      break
    end
  end
end
if not cc then
  fail('no C compiler (cc, gcc or clang, or $CC) on PATH; the Lua hosts compile Lua from its C sources')
end

local bash = vim.fn.executable('/bin/bash') == 1 and '/bin/bash' or 'bash'
local cmd = { bash, root .. '/scripts/build', release and '--release' or nil }
say(table.concat(cmd, ' '))

-- Output lines as they come; cargo's "Compiling <crate>" lines are progress.
local log = {} ---@type string[]
local news = {} ---@type string[]
local function on_output(_, data)
  if not data then
    return
  end
  for line in data:gmatch('[^\r\n]+') do
    log[#log + 1] = line
    local crate = line:match('^%s*Compiling (%S+)')
    if crate then
      news[#news + 1] = crate
    end
  end
end
local started = vim.uv.hrtime()
local done = nil ---@type vim.SystemCompleted|nil
local proc = vim.system(cmd, { cwd = root, text = true, stdout = on_output, stderr = on_output }, function(result)
  done = result
end)

local compiled = 0
local function report_news()
  if #news > 0 then
    compiled = compiled + #news
    local last = news[#news]
    news = {}
    say(('compiling %s (%d crates so far, %ds)'):format(last, compiled, (vim.uv.hrtime() - started) / 1e9))
  end
end

if in_coroutine then
  -- One look per main-loop turn: lazy resumes us on the next tick.
  while not done do
    report_news()
    if not done and coroutine.yield() == 'abort' then
      proc:kill('sigterm')
      error('hotreload build: aborted', 0)
    end
  end
else
  while not done do
    vim.wait(200, function()
      return done ~= nil
    end)
    report_news()
  end
end
report_news()

if done.code ~= 0 or done.signal ~= 0 then
  local tail = vim.list_slice(log, math.max(1, #log - 30))
  local why = done.signal ~= 0 and ('was killed by signal %d'):format(done.signal)
    or ('exited with %d'):format(done.code)
  fail(('scripts/build %s:\n%s'):format(why, table.concat(tail, '\n')))
end
say(('%s (%ds)'):format(log[#log] or 'built', (vim.uv.hrtime() - started) / 1e9))
