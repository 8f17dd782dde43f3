---@mod hotreload.buffer The new source of a reload from a buffer.

local M = {}

--- The text of the buffer holding `path` when it has unsaved changes (the
--- reload's new source then), else nil: the file on disk is current.
---@param path string
---@param bufnr integer|nil the buffer, if the caller knows it
---@return string|nil
function M.unsaved_text(path, bufnr)
  bufnr = bufnr or vim.fn.bufnr(path)
  if bufnr > 0 and vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].modified then
    return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
  end
  return nil
end

return M
