---@mod hotreload.output The program's output in a scratch buffer that follows new lines.
---
--- Text is queued and written once per main-loop turn, so a program that
--- floods its output costs the editor one buffer update per turn, not one
--- per line. Memory stays bounded: the buffer keeps `output.max_lines`
--- lines (its first line then says how many earlier ones were dropped), and
--- queued text past a few MiB is cut down to the lines that can be kept.

local config = require('hotreload.config')

local M = {}

M.name = 'hotreload://output'

---@type integer|nil
local buf = nil
local queue = {} ---@type string[]
local queued_bytes = 0
local scheduled = false
local partial = false -- the buffer's last line has no newline yet
-- The queue's first text continues the buffer's (partial) last line.
local queue_continues = false
local queue_cut = 0 -- lines dropped from the queue before they were written
local dropped = 0 -- lines dropped in all; > 0: the buffer's first line says so
-- Queued text is cut down once it exceeds this.
local QUEUE_MAX_BYTES = 4 * 1024 * 1024

--- Lines the buffer keeps besides the note about dropped ones.
local function keep()
  return math.max(config.options.output.max_lines - 1, 1)
end

local function drop_note()
  return ('[hotreload] %d earlier lines dropped (output.max_lines = %d)'):format(
    dropped,
    config.options.output.max_lines
  )
end

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
  -- No undo history: it would keep every line ever dropped.
  vim.bo[buf].undolevels = -1
  vim.bo[buf].filetype = 'hotreload-output'
  vim.bo[buf].modifiable = false
  partial = false
  dropped = 0
  return buf
end

--- Shows the buffer in a split (per `output.split`) unless a window has it.
--- `force` opens it even with `output.split = 'none'` (below then).
---@param force boolean|nil
function M.open(force)
  local b = M.buffer()
  local split = config.options.output.split
  if #vim.fn.win_findbuf(b) > 0 or (split == 'none' and not force) then
    return
  end
  if split == 'none' then
    split = 'below'
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
  -- Keeps its size when other windows open or close.
  vim.wo[win].winfixheight = not vertical
  vim.wo[win].winfixwidth = vertical
  -- Show the newest lines; the window follows them until scrolled up.
  vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(b), 0 })
end

--- Empties the buffer (a new run starts).
function M.clear()
  queue, queued_bytes, queue_continues, queue_cut = {}, 0, false, 0
  local b = M.buffer()
  vim.bo[b].modifiable = true
  vim.api.nvim_buf_set_lines(b, 0, -1, false, {})
  vim.bo[b].modifiable = false
  partial = false
  dropped = 0
end

--- The buffer's own lines, without the note about dropped ones.
---@param b integer
---@return integer
local function real_line_count(b)
  local count = vim.api.nvim_buf_line_count(b)
  if dropped > 0 then
    return count - 1
  end
  if count == 1 and vim.api.nvim_buf_get_lines(b, 0, 1, false)[1] == '' then
    return 0
  end
  return count
end

--- Writes `lines` (the queued text, already split) in place of everything:
--- the queue alone fills the buffer.
---@param b integer
---@param lines string[]
---@param cut integer lines dropped from the queue already
local function replace_all(b, lines, cut)
  local old = real_line_count(b)
  if cut == 0 and partial and old > 0 then
    -- The buffer's open last line continues in the queue.
    lines[1] = (vim.api.nvim_buf_get_lines(b, -2, -1, false)[1] or '') .. (lines[1] or '')
    old = old - 1
  end
  local extra = #lines - keep()
  if extra > 0 then
    lines = vim.list_slice(lines, extra + 1)
  end
  dropped = dropped + old + cut + math.max(extra, 0)
  if dropped > 0 then
    table.insert(lines, 1, drop_note())
  end
  vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
end

--- Appends `lines`, then drops the oldest past the cap.
---@param b integer
---@param lines string[]
local function append_lines(b, lines)
  local last = vim.api.nvim_buf_line_count(b)
  if real_line_count(b) == 0 then
    vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
  elseif partial then
    local tail = vim.api.nvim_buf_get_lines(b, -2, -1, false)[1] or ''
    lines[1] = tail .. (lines[1] or '')
    vim.api.nvim_buf_set_lines(b, last - 1, -1, false, lines)
  else
    vim.api.nvim_buf_set_lines(b, -1, -1, false, lines)
  end
  local first_real = dropped > 0 and 1 or 0
  local excess = real_line_count(b) - keep()
  if excess > 0 then
    dropped = dropped + excess
    vim.api.nvim_buf_set_lines(b, 0, first_real + excess, false, { drop_note() })
  end
end

local function flush()
  scheduled = false
  if #queue == 0 then
    return
  end
  local text = table.concat(queue)
  local cut = queue_cut
  queue, queued_bytes, queue_continues, queue_cut = {}, 0, false, 0
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
  if cut > 0 or #lines >= keep() then
    replace_all(b, lines, cut)
  else
    append_lines(b, lines)
  end
  partial = not ends_with_newline
  vim.bo[b].modifiable = false
  local count = vim.api.nvim_buf_line_count(b)
  for _, win in ipairs(followers) do
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_set_cursor(win, { count, 0 })
    end
  end
end

--- Cuts the queue down to the lines the buffer can keep, counting the rest.
local function compact()
  local text = table.concat(queue)
  local lines = vim.split(text, '\n', { plain = true })
  -- `lines[#lines]` is the open tail ('' after a final newline: no line).
  local first_kept = #lines - keep() + (lines[#lines] == '' and 0 or 1)
  if first_kept <= 1 then
    queue, queued_bytes = { text }, #text
    return
  end
  local cut = first_kept - 1
  if queue_continues then
    -- The first queued line ends a line the buffer already counts.
    cut = cut - 1
  end
  local rest = table.concat(lines, '\n', first_kept)
  queue, queued_bytes = { rest }, #rest
  queue_cut = queue_cut + cut
  queue_continues = false
end

--- Queues program output (may hold partial lines).
---@param text string
function M.append(text)
  if text == '' then
    return
  end
  if #queue == 0 and queue_cut == 0 then
    queue_continues = partial
  end
  queue[#queue + 1] = text
  queued_bytes = queued_bytes + #text
  if queued_bytes > QUEUE_MAX_BYTES then
    compact()
  end
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
