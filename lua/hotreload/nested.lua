---@mod hotreload.nested Names the closures a Neovim reload cannot give new code.
---
--- When Neovim's LuaJIT fails the in-place swap's layout check
--- (`hotreload.swap`), the engine uses the pure-Lua backend: it replaces
--- every reference to a module's functions, but closures made *inside* a
--- function (the keymaps, autocmds and commands a `setup()` creates) are no
--- references it can reach and keep their old code. This compares, with
--- LuaJIT's `jit.util`, the code of the functions nested in each module
--- function before and after a reload, so the report can say by name which
--- closures stay old. Only code counts: moved lines are no change.

local M = {}

local ok_jit, jutil = pcall(require, 'jit.util')

-- How deep module tables are searched for functions (M.f, M.H.f, M.a.b.f).
local DEPTH = 3

--- The code of one prototype: its bytecode and constants, no line numbers.
---@param proto any a function or a LuaJIT proto
---@return string
local function code_of(proto)
  local info = jutil.funcinfo(proto)
  local parts = {}
  for pc = 1, info.bytecodes or 0 do
    local ins = jutil.funcbc(proto, pc)
    parts[#parts + 1] = tostring(ins)
  end
  for i = 0, (info.nconsts or 0) - 1 do
    parts[#parts + 1] = tostring(jutil.funck(proto, i))
  end
  for i = 1, info.gcconsts or 0 do
    local k = jutil.funck(proto, -i)
    -- Child prototypes are compared on their own.
    parts[#parts + 1] = type(k) == 'proto' and 'proto' or tostring(k)
  end
  return table.concat(parts, ',')
end

--- The prototypes nested in `fn`, depth first: `{ line, code }` each.
---@param fn function
---@return { line: integer, code: string }[]
local function nested_of(fn)
  local out = {}
  local function visit(proto)
    local info = jutil.funcinfo(proto)
    if not info.children then
      return
    end
    for i = 1, info.gcconsts or 0 do
      local k = jutil.funck(proto, -i)
      if type(k) == 'proto' then
        out[#out + 1] = { line = jutil.funcinfo(k).linedefined, code = code_of(k) }
        visit(k)
      end
    end
  end
  visit(fn)
  return out
end

--- Lua functions of `tbl` (and its tables, a few levels down) by dotted path.
---@param tbl table
---@param prefix string
---@return table<string, function>
local function functions_of(tbl, prefix)
  local found, seen = {}, {}
  local function walk(t, path, depth)
    if seen[t] or depth > DEPTH then
      return
    end
    seen[t] = true
    for k, v in pairs(t) do
      if type(k) == 'string' then
        local name = path .. '.' .. k
        if type(v) == 'function' and jutil.funcinfo(v).children then
          found[name] = v
        elseif type(v) == 'table' then
          walk(v, name, depth + 1)
        end
      end
    end
  end
  walk(tbl, prefix, 1)
  return found
end

---@class hotreload.NestedSnapshot
---@field functions table<string, { line: integer, code: string }[]>

--- What the module's functions create, before a reload. Nil without LuaJIT.
---@param module any the module's value (package.loaded[name])
---@param name string the module name
---@return hotreload.NestedSnapshot|nil
function M.snapshot(module, name)
  if not ok_jit or type(module) ~= 'table' then
    return nil
  end
  local snap = { functions = {} }
  for path, fn in pairs(functions_of(module, name)) do
    snap.functions[path] = nested_of(fn)
  end
  return snap
end

--- Warnings naming each function whose nested closures changed code: the
--- closures it already made keep the old code.
---@param snap hotreload.NestedSnapshot|nil
---@param module any the module's value after the reload
---@param name string
---@param path string the reloaded file, for the lines
---@return { kind: string, message: string, path: string, line: integer|nil }[]
function M.warnings(snap, module, name, path)
  if not snap or type(module) ~= 'table' then
    return {}
  end
  local now = functions_of(module, name)
  local out = {}
  local names = vim.tbl_keys(snap.functions)
  table.sort(names)
  for _, fname in ipairs(names) do
    local before, fn = snap.functions[fname], now[fname]
    if fn then
      local after = nested_of(fn)
      local lines = {}
      for i, n in ipairs(after) do
        if not before[i] or before[i].code ~= n.code then
          lines[#lines + 1] = tostring(n.line)
        end
      end
      if #after ~= #before and #lines == 0 then
        lines[1] = tostring((after[1] or {}).line or '?')
      end
      if #lines > 0 then
        out[#out + 1] = {
          kind = 'nestedClosures',
          message = (
            'closures already made by %s keep their old code (%s:%s): Neovim holds them '
            .. '(keymaps, autocmds, commands it created); run %s again or restart Neovim'
          ):format(fname, vim.fn.fnamemodify(path, ':t'), table.concat(lines, ','), fname),
          path = path,
          line = tonumber(lines[1]),
        }
      end
    end
  end
  return out
end

return M
