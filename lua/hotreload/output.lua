---@mod hotreload.output The program's output in a scratch buffer that follows new lines.
---
--- Text is queued and written once per main-loop turn, so a program that
--- floods its output costs the editor one buffer update per turn, not one
--- per line.

local config = require('hotreload.config')

local M = {}

M.name = 'hotreload://output'

---@type integer|nil
local buf = nil
local queue = {} ---@type string[]
local scheduled = false
local partial = false -- the buffer's last line has no newline yet

--- The output buffer, created on first use.
---@return integer
function M.buffer()
  if buf and vim.api.nvim_buf_is_valid(buf) then
    return buf
  end
  buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, M.name)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = 'hotreload-output'
  vim.bo[buf].modifiable = false
  partial = false
  return buf
end

--- Shows the buffer in a split (per `output.split`) unless a window has it.
function M.open()
  local b = M.buffer()
  local split = config.options.output.split
  if split == 'none' or #vim.fn.win_findbuf(b) > 0 then
    return
  end
  local vertical = split == 'left' or split == 'right'
  local win = vim.api.nvim_open_win(b, false, {
    split = split,
    win = -1,
    height = not vertical and config.options.output.height or nil,
    width = vertical and config.options.output.height or nil,
  })
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].wrap = false
end

--- Empties the buffer (a new run starts).
function M.clear()
  queue = {}
  local b = M.buffer()
  vim.bo[b].modifiable = true
  vim.api.nvim_buf_set_lines(b, 0, -1, false, {})
  vim.bo[b].modifiable = false
  partial = false
end

local function flush()
  scheduled = false
  if #queue == 0 then
    return
  end
  local text = table.concat(queue)
  queue = {}
  local b = M.buffer()
  -- Windows whose cursor is on the last line keep following.
  local last = vim.api.nvim_buf_line_count(b)
  local followers = {}
  for _, win in ipairs(vim.fn.win_findbuf(b)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= last then
      followers[#followers + 1] = win
    end
  end
  local lines = vim.split(text, '\n', { plain = true })
  local ends_with_newline = lines[#lines] == ''
  if ends_with_newline then
    lines[#lines] = nil
  end
  vim.bo[b].modifiable = true
  local empty = last == 1 and vim.api.nvim_buf_get_lines(b, 0, 1, false)[1] == ''
  if empty then
    vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
  elseif partial then
    local tail = vim.api.nvim_buf_get_lines(b, -2, -1, false)[1] or ''
    lines[1] = tail .. (lines[1] or '')
    vim.api.nvim_buf_set_lines(b, -2, -1, false, lines)
  else
    vim.api.nvim_buf_set_lines(b, -1, -1, false, lines)
  end
  partial = not ends_with_newline
  local count = vim.api.nvim_buf_line_count(b)
  local max = config.options.output.max_lines
  if count > max then
    vim.api.nvim_buf_set_lines(b, 0, count - max, false, {})
    count = max
  end
  vim.bo[b].modifiable = false
  for _, win in ipairs(followers) do
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_set_cursor(win, { count, 0 })
    end
  end
end

--- Queues program output (may hold partial lines).
---@param text string
function M.append(text)
  if text == '' then
    return
  end
  queue[#queue + 1] = text
  if not scheduled then
    scheduled = true
    vim.schedule(flush)
  end
end

--- A line of our own (run started, exited, stopped), on a line of its own.
---@param text string
function M.note(text)
  local open_line = partial
  if #queue > 0 then
    open_line = queue[#queue]:sub(-1) ~= '\n'
  end
  M.append((open_line and '\n' or '') .. '[hotreload] ' .. text .. '\n')
end

--- All lines of the buffer (tests, `status`).
---@return string[]
function M.lines()
  flush()
  return vim.api.nvim_buf_get_lines(M.buffer(), 0, -1, false)
end

return M
