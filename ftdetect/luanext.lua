-- LuaNext sources (`.luax`): a typed, TypeScript-shaped language compiled to
-- Lua. The `luanext` filetype picks the hotreload configurations for nvim-dap.
vim.filetype.add({ extension = { luax = 'luanext' } })
