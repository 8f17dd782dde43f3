-- LuaNext is Lua with types: Lua's highlighting reads it well enough.
if vim.b.current_syntax then
  return
end
vim.cmd('runtime! syntax/lua.vim')
vim.b.current_syntax = 'luanext'
