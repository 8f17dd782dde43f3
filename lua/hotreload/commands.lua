---@mod hotreload.commands `:HotReload {subcommand}` from a table, with completion.
---
--- `:HotReload` reloads the current buffer, `:HotReload {path}` a file; the
--- subcommands are `run [file]`, `attach [connect] [addr]`, `continue`, `restart`, `stop`, `output`, `status`,
--- `auto [on|off]`. A file named like a subcommand is reached as `./run`.

local M = {}

local function notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO, { title = 'hotreload' })
end

--- Lua, LuaNext and TypeScript files and directories (to descend into)
--- matching `arglead`.
local function complete_files(arglead)
  return vim.tbl_filter(function(path)
    return path:match('/$') or path:match('%.luax?$') or path:match('%.tsx?$')
  end, vim.fn.getcompletion(arglead, 'file'))
end

local function format_status(s)
  local lines = {}
  if s.running then
    lines[#lines + 1] = ('running: %s (%s%s)'):format(
      vim.fn.fnamemodify(s.program or '?', ':~:.'),
      s.kind == 'run' and ':HotReload run' or 'nvim-dap',
      s.state and (', ' .. s.state) or ''
    )
  else
    lines[#lines + 1] = 'running: nothing'
  end
  lines[#lines + 1] = 'reload on save: ' .. (s.auto and 'on' or 'off')
  if s.last then
    if s.last.ok then
      lines[#lines + 1] = 'last reload: ' .. require('hotreload.report').summary(s.last.body or {})
    else
      lines[#lines + 1] = 'last reload failed: ' .. tostring(s.last.message)
    end
  end
  lines[#lines + 1] = require('hotreload.nvim_reload').status_line()
  if s.server then
    lines[#lines + 1] = ('server: %s (%d client%s)'):format(
      s.server.pipe,
      s.server.connections,
      s.server.connections == 1 and '' or 's'
    )
  end
  return table.concat(lines, '\n')
end

---@class hotreload.Subcommand
---@field impl fun(args: string[])
---@field complete (fun(arglead: string, args: string[]): string[])|nil

---@type table<string, hotreload.Subcommand>
M.subcommands = {
  run = {
    impl = function(args)
      require('hotreload').run(args[1], { args = vim.list_slice(args, 2) })
    end,
    complete = function(arglead)
      return complete_files(arglead)
    end,
  },
  attach = {
    impl = function(args)
      require('hotreload.attach').command(args)
    end,
    complete = function(arglead, args)
      if #args <= 1 then
        return vim.tbl_filter(function(v)
          return vim.startswith(v, arglead)
        end, { 'connect', 'listen' })
      end
      return {}
    end,
  },
  continue = {
    impl = function()
      if not require('hotreload.runner').continue() then
        notify('hotreload: no stopped program to continue', vim.log.levels.WARN)
      end
    end,
  },
  restart = {
    impl = function()
      if not require('hotreload.runner').restart() then
        notify('hotreload: no program stopped on an error to retry', vim.log.levels.WARN)
      end
    end,
  },
  output = {
    impl = function()
      require('hotreload.output').open(true)
    end,
  },
  stop = {
    impl = function()
      if not require('hotreload').stop() then
        notify('hotreload: no program started by :HotReload run is running', vim.log.levels.WARN)
      end
    end,
  },
  status = {
    impl = function()
      notify(format_status(require('hotreload').status()))
    end,
  },
  auto = {
    impl = function(args)
      local want = args[1]
      if want ~= nil and want ~= 'on' and want ~= 'off' then
        notify(('hotreload: auto takes on or off, not %q'):format(want), vim.log.levels.ERROR)
        return
      end
      local on
      if want == nil then
        on = require('hotreload').auto()
      else
        on = require('hotreload').auto(want == 'on')
      end
      notify('hotreload: reload on save ' .. (on and 'on' or 'off'))
    end,
    complete = function(arglead)
      return vim.tbl_filter(function(v)
        return vim.startswith(v, arglead)
      end, { 'on', 'off' })
    end,
  },
}

--- The `:HotReload` command body.
---@param opts { fargs: string[] }
function M.run(opts)
  local args = opts.fargs
  local sub = args[1] and M.subcommands[args[1]]
  if sub then
    sub.impl(vim.list_slice(args, 2))
  elseif #args == 0 then
    require('hotreload').reload()
  elseif #args == 1 and vim.fn.filereadable(vim.fn.expand(args[1])) == 1 then
    require('hotreload').reload(args[1])
  else
    local names = vim.tbl_keys(M.subcommands)
    table.sort(names)
    notify(
      ('hotreload: unknown subcommand or file %q; use %s or the path of a Lua file'):format(
        args[1],
        table.concat(names, ', ')
      ),
      vim.log.levels.ERROR
    )
  end
end

--- Completion: subcommands and files first, then each subcommand's arguments.
---@param arglead string
---@param cmdline string
---@return string[]
function M.complete(arglead, cmdline)
  local words = vim.split(cmdline, '%s+', { trimempty = true })
  -- Drop the command itself (and a range/bang prefix is not accepted).
  table.remove(words, 1)
  if arglead ~= '' then
    table.remove(words) -- the word being completed
  end
  if #words == 0 then
    local names = vim.tbl_filter(function(name)
      return vim.startswith(name, arglead)
    end, vim.tbl_keys(M.subcommands))
    table.sort(names)
    return vim.list_extend(names, complete_files(arglead))
  end
  local sub = M.subcommands[words[1]]
  if sub and sub.complete then
    return sub.complete(arglead, vim.list_slice(words, 2))
  end
  return {}
end

return M
