-- Runs the engine's scenarios (tests/engine/scenarios/*.lua) under Neovim's
-- LuaJIT with the pure-Lua backend, the way Neovim's own reload path loads
-- the engine (lua/hotreload/nvim_reload.lua): `nvim -l tests/engine/run.lua
-- [name filter]`. Prints each failure and, last, `N passed, N failed`; exits
-- non-zero when one failed. The Rust harness runs the same files on Lua 5.4
-- with both backends (crates/host/tests/engine_scenarios.rs).
local here = debug.getinfo(1, 'S').source:sub(2):match('^(.*)/[^/]*$') or '.'
local root = here .. '/../..'
local engine_dir = root .. '/crates/host/lua'
local filter = arg and arg[1] or ''

local function load_file(path)
  local chunk, err = loadfile(path)
  if not chunk then
    error(err, 0)
  end
  return chunk
end

-- The engine, as nvim_reload.lua installs it: parts read on demand, pure-Lua
-- backend, only `require` tracked.
local chunks = setmetatable({}, {
  __index = function(t, name)
    local chunk = load_file(engine_dir .. '/engine/' .. name .. '.lua')
    rawset(t, name, chunk)
    return chunk
  end,
})
local module = load_file(engine_dir .. '/engine/init.lua')(debug, chunks)
local walker = load_file(engine_dir .. '/walker.lua')(debug)
local engine = module.new(module.lua_backend(walker), { track = { require = true } })
local driver = load_file(here .. '/driver.lua')()

local tmp = os.getenv('TMPDIR') or '/tmp'
local serial = 0
local function fresh_dir()
  serial = serial + 1
  local dir = ('%s/hotreload-engine-lj-%d-%d'):format(tmp, vim and vim.fn.getpid() or 0, serial)
  vim.fn.mkdir(dir, 'p')
  return dir
end

local files = {}
for name in vim.fs.dir(here .. '/scenarios') do
  if name:match('%.lua$') then
    files[#files + 1] = name
  end
end
table.sort(files)

local passed, failed = 0, 0
local base_path = package.path
for _, file in ipairs(files) do
  local list = load_file(here .. '/scenarios/' .. file)()
  for _, scenario in ipairs(list) do
    if scenario.name:find(filter, 1, true) and driver.serves(scenario, 'lua') then
      local dir = fresh_dir()
      package.path = dir .. '/?.lua;' .. dir .. '/?/init.lua;' .. base_path
      local written = {}
      local host = {
        backend = 'lua',
        write = function(name, source)
          local path = dir .. '/' .. name:gsub('%.', '/') .. '.lua'
          vim.fn.mkdir(vim.fs.dirname(path), 'p')
          local f = assert(io.open(path, 'w'))
          f:write(source)
          f:close()
          written[#written + 1] = name
          return path
        end,
        reload = function(name, source)
          return engine:reload({ module = name, source = source })
        end,
        -- LuaJIT's searchers do not say which file they loaded.
        loaded = function(name, path)
          if package.loaded[name] ~= nil then
            engine:register(name, path)
          end
        end,
      }
      local ran, ok, why = pcall(driver.run, scenario, host)
      if ran and ok then
        passed = passed + 1
      else
        failed = failed + 1
        io.write(('FAIL %s: %s: %s\n'):format(file, scenario.name, tostring(ran and why or ok)))
      end
      for _, name in ipairs(written) do
        package.loaded[name] = nil
        engine.modules[name] = nil
      end
      vim.fn.delete(dir, 'rf')
    end
  end
end
package.path = base_path
io.write(('%d passed, %d failed\n'):format(passed, failed))
if failed > 0 then
  os.exit(1)
end
