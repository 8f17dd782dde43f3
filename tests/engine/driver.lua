-- Runs one engine scenario (tests/engine/scenarios/*.lua) inside the VM that
-- has the engine installed. The same driver serves the Rust harness
-- (crates/host/tests/engine_scenarios.rs: Lua 5.4, native and pure-Lua
-- backends) and Neovim (tests/engine/run.lua: LuaJIT, pure-Lua backend), so a
-- scenario is written once as data:
--
--   {
--     name = 'what the rule is',
--     native_only = 'why the pure-Lua backend cannot serve it', -- optional
--     files = { shapes = [[v1 source]] },    -- module name -> source
--     run = [[program code before the first reload]],
--     steps = {
--       { 'shapes', [[v2 source]],            -- reload module `shapes`
--         changed = { 'shapes.f' }, added = {}, removed = {}, -- exact, any order
--         warnings = { 'kind' },               -- default: no warning at all
--         error = { 'kind', line },            -- the reload must fail so
--         check = [[program code after it]] }, -- sees `report`, `err`
--
-- Warnings and errors are compared by their kind (and the line an error
-- names in the reloaded file), never by their wording.
--     },
--   }
--
-- Program code runs with the real globals, like a program's own code:
-- globals `run` sets are there for the checks.
local D = {}

local pcall, pairs, ipairs, tostring = pcall, pairs, ipairs, tostring
-- Lua 5.1's `load` reads from a function only; its `loadstring` takes text.
local load = loadstring or load
local concat, sort = table.concat, table.sort

---@class EngineScenarioHost
---@field backend 'native'|'lua' the backend the engine was installed with
---@field write fun(name: string, source: string): string writes a module file, returns its path
---@field reload fun(name: string, source: string): table|nil, string|nil the engine's reload
---@field loaded? fun(name: string, path: string) called after `run` for each file (registers it)

--- Compiles program code; it runs with the real globals, as a program does.
local function run_code(code, name, ...)
  local chunk, err = load('local report, err = ...\n' .. code, '=' .. name)
  if not chunk then
    return false, name .. ' does not compile: ' .. tostring(err)
  end
  local ok, rerr = pcall(chunk, ...)
  if not ok then
    return false, name .. ' failed: ' .. tostring(rerr)
  end
  return true
end

local function list_text(l)
  local c = {}
  for i, v in ipairs(l or {}) do
    c[i] = tostring(v)
  end
  sort(c)
  return '{ ' .. concat(c, ', ') .. ' }'
end

--- Compares the report list `got` with the expected names (any order).
local function same_list(got, want)
  return list_text(got) == list_text(want)
end

local function check_report(step, report)
  for _, key in ipairs({ 'changed', 'added', 'removed' }) do
    if step[key] ~= nil and not same_list(report[key], step[key]) then
      return false, key .. ' is ' .. list_text(report[key]) .. ', expected ' .. list_text(step[key])
    end
  end
  if step.warnings ~= false then
    local want = step.warnings or {}
    local got = report.warnings or {}
    local kinds = {}
    for i, w in ipairs(got) do
      kinds[i] = tostring(w.kind)
    end
    if not same_list(kinds, want) then
      local messages = {}
      for i, w in ipairs(got) do
        messages[i] = tostring(w.message)
      end
      return false,
        'warnings are ' .. list_text(kinds) .. ' (' .. concat(messages, '; ') .. '), expected ' .. list_text(want)
    end
  end
  return true
end

--- True when `scenario` can run with `backend`.
function D.serves(scenario, backend)
  return backend == 'native' or scenario.native_only == nil
end

--- Runs `scenario` with `host`. Returns true, or false and why it failed.
---@param scenario table
---@param host EngineScenarioHost
---@return boolean ok, string|nil why
function D.run(scenario, host)
  local paths = {}
  for name, source in pairs(scenario.files or {}) do
    paths[name] = host.write(name, source)
  end
  local ok, why = run_code(scenario.run or '', 'run')
  if not ok then
    return false, why
  end
  if host.loaded then
    for name, path in pairs(paths) do
      host.loaded(name, path)
    end
  end
  for i, step in ipairs(scenario.steps or {}) do
    local label = 'step ' .. i .. ' (' .. tostring(step[1]) .. ')'
    local report, err, kind, line = host.reload(step[1], step[2])
    if step.error then
      if report then
        return false, label .. ': the reload should fail but succeeded'
      end
      local want_kind, want_line = step.error[1], step.error[2]
      if kind ~= want_kind or (want_line ~= nil and line ~= want_line) then
        return false,
          ('%s: error %s (kind %s, line %s), expected kind %s, line %s'):format(
            label,
            tostring(err),
            tostring(kind),
            tostring(line),
            want_kind,
            tostring(want_line)
          )
      end
    else
      if not report then
        return false, label .. ': the reload failed: ' .. tostring(err)
      end
      local rok, rwhy = check_report(step, report)
      if not rok then
        return false, label .. ': ' .. rwhy
      end
    end
    if step.check then
      ok, why = run_code(step.check, 'check of ' .. label, report, err)
      if not ok then
        return false, why
      end
    end
  end
  return true
end

return D
