---@mod hotreload.paths One spelling of file paths for the glue.
---
--- Every path the glue stores or compares goes through `absolute`; paths
--- compared with the host's (which resolves symlinks) go through `canonical`.

local M = {}

--- Absolute and normalised: `~` and `$VARS` expanded, `.`/`..` resolved, no
--- trailing slash. The file need not exist.
---@param path string
---@return string
function M.absolute(path)
  if path == '' then
    return ''
  end
  return vim.fs.normalize(vim.fs.abspath(vim.fs.normalize(path)))
end

--- Like `absolute`, with symlinks resolved when the file exists: the form
--- the host compares paths in.
---@param path string
---@return string
function M.canonical(path)
  local absolute = M.absolute(path)
  return vim.uv.fs_realpath(absolute) or absolute
end

return M
