---@mod hotreload.client A small DAP client over a Unix socket (vim.uv).
---
--- Used by `:HotReload run` when nvim-dap is absent or not wanted. Reading
--- happens in libuv callbacks; every message is handled on the main loop
--- via `vim.schedule`, in arrival order.

local uv = vim.uv

local M = {}

---@class hotreload.DapError
---@field message string

---@class hotreload.ClientHandlers
---@field on_event fun(event: string, body: table|nil)|nil
---@field on_close fun(reason: string|nil)|nil

---@class hotreload.Client
---@field private pipe uv.uv_pipe_t
---@field private seq integer
---@field private pending table<integer, fun(err: hotreload.DapError|nil, body: any)>
---@field private handlers hotreload.ClientHandlers
---@field closed boolean
local Client = {}
Client.__index = Client

--- Splits complete `Content-Length` frames off `buffer`; returns the bodies
--- and the unconsumed rest. Header names are matched case-insensitively.
---@param buffer string
---@return string[] bodies, string rest, string|nil err
function M.split_frames(buffer)
  local bodies = {}
  while true do
    local header_end = buffer:find('\r\n\r\n', 1, true)
    if not header_end then
      return bodies, buffer
    end
    local header = buffer:sub(1, header_end - 1)
    local length = tonumber(header:lower():match('content%-length:%s*(%d+)'))
    if not length then
      return bodies, '', 'bad header: ' .. header
    end
    local body_start = header_end + 4
    if #buffer < body_start + length - 1 then
      return bodies, buffer
    end
    bodies[#bodies + 1] = buffer:sub(body_start, body_start + length - 1)
    buffer = buffer:sub(body_start + length)
  end
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

-- Past this many received but unhandled messages, stop reading until the
-- main loop catches up: a program flooding its output then waits on its
-- pipe instead of the editor drowning in queued callbacks.
local HIGH_WATER, LOW_WATER = 2000, 200

function Client:_read()
  self.buffer = self.buffer or ''
  self.backlog = self.backlog or 0
  self.paused = false
  self.pipe:read_start(function(err, chunk)
    if err or not chunk then
      vim.schedule(function()
        self:close(err or 'connection closed')
      end)
      return
    end
    local bodies, rest, bad = M.split_frames(self.buffer .. chunk)
    self.buffer = rest
    if #bodies > 0 then
      self.backlog = self.backlog + #bodies
      if self.backlog > HIGH_WATER and not self.paused then
        self.paused = true
        self.pipe:read_stop()
      end
      vim.schedule(function()
        for _, body in ipairs(bodies) do
          self:_dispatch(body)
        end
        self.backlog = self.backlog - #bodies
        if self.paused and self.backlog < LOW_WATER and not self.closed then
          self:_read()
        end
      end)
    end
    if bad then
      vim.schedule(function()
        self:close(bad)
      end)
    end
  end)
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
        cb({ message = message or ('%s failed'):format(msg.command) }, msg.body)
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
