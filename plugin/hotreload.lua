-- hotreload.nvim: only the command and <Plug> mappings; everything else
-- loads on first use (see :help hotreload).
if vim.g.loaded_hotreload then
  return
end
vim.g.loaded_hotreload = 1

vim.api.nvim_create_user_command('HotReload', function(opts)
  require('hotreload.commands').run(opts)
end, {
  nargs = '*',
  complete = function(arglead, cmdline)
    return require('hotreload.commands').complete(arglead, cmdline)
  end,
  desc = 'Hot-reload a module into the running Lua program (run/stop/status/auto)',
})

vim.api.nvim_set_keymap('n', '<Plug>(HotReload)', '', {
  noremap = true,
  desc = 'hotreload: reload the current buffer into the running program',
  callback = function()
    require('hotreload').reload()
  end,
})

vim.api.nvim_set_keymap('n', '<Plug>(HotReloadToggleAuto)', '', {
  noremap = true,
  desc = 'hotreload: toggle reload on save',
  callback = function()
    local on = require('hotreload').auto()
    vim.notify('hotreload: reload on save ' .. (on and 'on' or 'off'), vim.log.levels.INFO, { title = 'hotreload' })
  end,
})
