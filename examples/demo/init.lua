-- Neovim config for `scripts/demo`: this checkout as the plugin, the example
-- game running under the debugger, reload on save on.
local root = vim.env.HOTRELOAD_ROOT or vim.fn.getcwd()
local game = vim.env.HOTRELOAD_DEMO_DIR or (root .. '/examples/game')

vim.opt.runtimepath:prepend(root)
vim.cmd.runtime('plugin/hotreload.lua')
vim.o.swapfile = false

require('hotreload').setup({ reload_on_save = true, output = { split = 'below', height = 12 } })

vim.cmd.edit(vim.fn.fnameescape(game .. '/creature.lua'))
vim.cmd('HotReload run ' .. vim.fn.fnameescape(game .. '/main.lua'))
vim.notify(
  'hotreload demo: edit creature.lua or world.lua and :write — the game keeps running with the new code.'
    .. ' Save a mistake: the game stops at the error; save the fix, then :HotReload restart retries the failed call.',
  vim.log.levels.INFO
)
