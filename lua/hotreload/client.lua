---@mod hotreload.client A small DAP client over a Unix socket (vim.uv).
---
--- Used by `:HotReload run` when nvim-dap is absent or not wanted. Reading
--- happens in libuv callbacks; every message is handled on the main loop
--- via `vim.schedule`, in arrival order.

local uv = vim.uv

local M = {}

--- A failed request, as nvim-dap passes it: the response's `message` and
--- `body` (whose `error` `hotreload.failure` reads).
---@class hotreload.DapError
---@field message string
---@field body table|nil

---@class hotreload.ClientHandlers
---@field on_event fun(event: string, body: table|nil)|nil
---@field on_close fun(reason: string|nil)|nil

---@class hotreload.Client
---@field private pipe uv.uv_pipe_t
---@field private seq integer
---@field private pending table<integer, fun(err: hotreload.DapError|nil, body: any)>
---@field private handlers hotreload.ClientHandlers
---@field private buffer string received bytes not yet a whole frame
---@field private inbox table<integer, string|{ close: string }> received, not yet handled
---@field private inbox_head integer
---@field private inbox_tail integer
---@field private inbox_bytes integer
---@field private draining boolean
---@field private paused boolean reading stopped until the inbox drains
---@field private on_read fun(err: string|nil, chunk: string|nil)
---@field closed boolean
local Client = {}
Client.__index = Client

--- Splits complete `Content-Length` frames off `buffer`; returns the bodies
--- and the unconsumed rest. Header names are matched case-insensitively.
--- Walks by position: a chunk holding many frames costs one pass, not one
--- copy of the rest per frame.
---@param buffer string
---@return string[] bodies, string rest, string|nil err
function M.split_frames(buffer)
  local bodies = {}
  local pos = 1
  while true do
    local header_end = buffer:find('\r\n\r\n', pos, true)
    if not header_end then
      break
    end
    local header = buffer:sub(pos, header_end - 1)
    local length = tonumber(header:lower():match('content%-length:%s*(%d+)'))
    if not length then
      return bodies, '', 'bad header: ' .. header
    end
    local body_start = header_end + 4
    if #buffer < body_start + length - 1 then
      break
    end
    bodies[#bodies + 1] = buffer:sub(body_start, body_start + length - 1)
    pos = body_start + length
  end
  return bodies, pos == 1 and buffer or buffer:sub(pos)
end

--- Connects to `path`; `on_connect(err, client)` runs on the main loop.
---@param path string
---@param handlers hotreload.ClientHandlers
---@param on_connect fun(err: string|nil, client: hotreload.Client|nil)
function M.connect(path, handlers, on_connect)
  local pipe = assert(uv.new_pipe(false))
  local self = setmetatable({
    pipe = pipe,
    seq = 0,
    pending = {},
    handlers = handlers,
    closed = false,
  }, Client)
  pipe:connect(path, function(err)
    vim.schedule(function()
      if err then
        pipe:close()
        on_connect(('cannot connect to %s: %s'):format(path, err), nil)
        return
      end
      self:_read()
      on_connect(nil, self)
    end)
  end)
end

-- Past this many received but unhandled messages (or bytes), stop reading
-- until the main loop catches up: a program flooding its output then waits
-- on its pipe instead of the editor drowning in queued messages.
local HIGH_WATER, LOW_WATER = 2000, 200
local HIGH_BYTES = 4 * 1024 * 1024
-- Messages are handled in slices of about this many milliseconds per
-- main-loop turn, so input and RPC requests get their turn in between.
local SLICE_MS = 4

function Client:_read()
  self.buffer = ''
  self.inbox = {} ---@type table<integer, string|{ close: string }>
  self.inbox_head, self.inbox_tail, self.inbox_bytes = 1, 0, 0
  self.paused = false
  self.on_read = function(err, chunk)
    if err or not chunk then
      -- After the messages already received.
      self:_enqueue({ close = err or 'connection closed' })
      return
    end
    local bodies, rest, bad = M.split_frames(self.buffer .. chunk)
    self.buffer = rest
    for _, body in ipairs(bodies) do
      self:_enqueue(body)
    end
    if bad then
      self:_enqueue({ close = bad })
    end
    if not self.paused and self:_backlog_high() then
      self.paused = true
      self.pipe:read_stop()
    end
  end
  self.pipe:read_start(self.on_read)
end

function Client:_backlog_high()
  return self.inbox_tail - self.inbox_head + 1 > HIGH_WATER or self.inbox_bytes > HIGH_BYTES
end

---@param item string|{ close: string }
function Client:_enqueue(item)
  self.inbox_tail = self.inbox_tail + 1
  self.inbox[self.inbox_tail] = item
  if type(item) == 'string' then
    self.inbox_bytes = self.inbox_bytes + #item
  end
  if not self.draining then
    self.draining = true
    vim.schedule(function()
      self:_drain()
    end)
  end
end

--- Handles queued messages in arrival order for one slice of time, then
--- lets the main loop breathe and continues on its next turn.
function Client:_drain()
  local deadline = vim.uv.hrtime() + SLICE_MS * 1e6
  while self.inbox_head <= self.inbox_tail do
    local item = self.inbox[self.inbox_head]
    self.inbox[self.inbox_head] = nil
    self.inbox_head = self.inbox_head + 1
    if type(item) == 'table' then
      self:close(item.close)
    else
      self.inbox_bytes = self.inbox_bytes - #item
      if not self.closed then
        self:_dispatch(item)
      end
    end
    if self.inbox_head <= self.inbox_tail and vim.uv.hrtime() > deadline then
      vim.schedule(function()
        self:_drain()
      end)
      self:_maybe_resume()
      return
    end
  end
  self.draining = false
  self:_maybe_resume()
end

function Client:_maybe_resume()
  local backlog = self.inbox_tail - self.inbox_head + 1
  if self.paused and not self.closed and backlog < LOW_WATER and self.inbox_bytes < HIGH_BYTES / 4 then
    self.paused = false
    self.pipe:read_start(self.on_read)
  end
end

function Client:_dispatch(text)
  local ok, msg = pcall(vim.json.decode, text, { luanil = { object = true, array = true } })
  if not ok or type(msg) ~= 'table' then
    self:close('bad JSON from adapter: ' .. text:sub(1, 200))
    return
  end
  if msg.type == 'response' then
    local cb = self.pending[msg.request_seq]
    self.pending[msg.request_seq] = nil
    if cb then
      if msg.success then
        cb(nil, msg.body)
      else
        local message = msg.message
        if msg.body and msg.body.error and msg.body.error.format then
          message = msg.body.error.format
        end
        cb({ message = message or ('%s failed'):format(msg.command), body = msg.body }, msg.body)
      end
    end
  elseif msg.type == 'event' then
    if self.handlers.on_event then
      self.handlers.on_event(msg.event, msg.body)
    end
  elseif msg.type == 'request' then
    -- Reverse requests (runInTerminal, startDebugging) are not supported.
    self:_send({
      type = 'response',
      request_seq = msg.seq,
      command = msg.command,
      success = false,
      message = 'not supported by the hotreload client: ' .. tostring(msg.command),
    })
  end
end

function Client:_send(message)
  if self.closed then
    return false
  end
  self.seq = self.seq + 1
  message.seq = self.seq
  local body = vim.json.encode(message)
  self.pipe:write(('Content-Length: %d\r\n\r\n%s'):format(#body, body), function(err)
    if err then
      vim.schedule(function()
        self:close('write failed: ' .. err)
      end)
    end
  end)
  return self.seq
end

--- Sends a request; `cb(err, body)` runs on the main loop (err = `{message}`).
---@param command string
---@param arguments table|nil
---@param cb fun(err: hotreload.DapError|nil, body: any)|nil
function Client:request(command, arguments, cb)
  cb = cb or function() end
  if self.closed then
    cb({ message = 'not connected' }, nil)
    return
  end
  local seq = self.seq + 1
  self.pending[seq] = cb
  self:_send({ type = 'request', command = command, arguments = arguments or vim.empty_dict() })
end

--- Closes the connection; every waiting request fails with the reason.
---@param reason string|nil
function Client:close(reason)
  if self.closed then
    return
  end
  self.closed = true
  if not self.pipe:is_closing() then
    self.pipe:close()
  end
  local pending = self.pending
  self.pending = {}
  for _, cb in pairs(pending) do
    cb({ message = 'connection closed: ' .. tostring(reason or 'closed') }, nil)
  end
  if self.handlers.on_close then
    self.handlers.on_close(reason)
  end
end

return M
