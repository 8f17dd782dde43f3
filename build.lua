-- Builds hotreload.nvim's native parts; lazy.nvim runs this file as the
-- plugin's build step (also: `nvim -l build.lua`). It does what
-- `scripts/build --release` does: `cargo build --release`, then copies
--   target/release/libhotreload_native.so -> lua/hotreload_native.so
--   target/release/hotreload-dap, hotreload-host-*  -> bin/
-- $HOTRELOAD_BUILD_PROFILE=debug builds the debug profile instead.

local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local profile = vim.env.HOTRELOAD_BUILD_PROFILE == 'debug' and 'debug' or 'release'

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

local cmd = { 'cargo', 'build', '--workspace' }
if profile == 'release' then
  cmd[#cmd + 1] = '--release'
end
say(table.concat(cmd, ' ') .. ' (in ' .. root .. ')')
local result = vim.system(cmd, { cwd = root, text = true }):wait()
if result.code ~= 0 then
  local log = vim.trim((result.stderr or '') .. '\n' .. (result.stdout or ''))
  local tail = vim.list_slice(vim.split(log, '\n'), math.max(1, #vim.split(log, '\n') - 30))
  fail(('cargo exited with %d:\n%s'):format(result.code, table.concat(tail, '\n')))
end

local target = vim.env.CARGO_TARGET_DIR
if not target or target == '' then
  target = root .. '/target'
end
local out = target .. '/' .. profile

--- Copies then renames, so a running Neovim or host keeps its mapped file.
local function install(from, to)
  local tmp = ('%s.tmp.%d'):format(to, vim.uv.os_getpid())
  local ok, err = vim.uv.fs_copyfile(from, tmp)
  if not ok then
    fail(('cannot copy %s: %s'):format(from, err))
  end
  local stat = vim.uv.fs_stat(from)
  if stat then
    vim.uv.fs_chmod(tmp, bit.band(stat.mode, 511))
  end
  ok, err = vim.uv.fs_rename(tmp, to)
  if not ok then
    fail(('cannot install %s: %s'):format(to, err))
  end
end

install(out .. '/libhotreload_native.so', root .. '/lua/hotreload_native.so')
vim.fn.mkdir(root .. '/bin', 'p')
local installed = {}
for name, kind in vim.fs.dir(out) do
  if kind == 'file' and (name == 'hotreload-dap' or name:match('^hotreload%-host%-[%w]+$')) then
    install(out .. '/' .. name, root .. '/bin/' .. name)
    installed[#installed + 1] = name
  end
end
if not vim.tbl_contains(installed, 'hotreload-host-lua54') then
  fail('the build produced no hotreload-host-lua54 in ' .. out)
end
table.sort(installed)
say(('done (%s): lua/hotreload_native.so, bin/{%s}'):format(profile, table.concat(installed, ',')))
