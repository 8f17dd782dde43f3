-- LuaNext buffers: Lua's comments, `.luax` modules for `gf`.
if vim.b.did_ftplugin then
  return
end
vim.b.did_ftplugin = 1

vim.bo.commentstring = '-- %s'
vim.bo.comments = ':---,:--'
vim.bo.suffixesadd = '.luax,.lua'
vim.b.undo_ftplugin = 'setlocal commentstring< comments< suffixesadd<'
