---@mod hotreload.attach Attaching to programs that load the agent.
---
--- `:HotReload attach [addr]` waits at `addr` (default: `attach.sock` in the
--- private socket directory) for a program that runs
--- `require('hotreload_agent').start({ connect = addr })` (or gets
--- `HOTRELOAD_CONNECT=addr` with the agent in `LUA_INIT`);
--- `:HotReload attach connect {addr}` reaches an agent that listens.
--- Over TCP (`host:port`, loopback only) a token is needed: `$HOTRELOAD_TOKEN`
--- if set, else one is made up and shown.

local M = {}

--- The address `:HotReload attach` listens at without one.
---@return string
function M.default_address()
  return require('hotreload.native').socket_dir().path .. '/attach.sock'
end

---@param addr string
---@return boolean
local function is_tcp(addr)
  return not addr:find('/', 1, true)
end

--- A token for a TCP address: `$HOTRELOAD_TOKEN`, else 16 random hex digits.
---@return string
local function token()
  local env = vim.env.HOTRELOAD_TOKEN
  if env and env ~= '' then
    return env
  end
  local bytes = {}
  local random = io.open('/dev/urandom', 'rb')
  local raw = random and random:read(8) or tostring(vim.uv.hrtime())
  if random then
    random:close()
  end
  for i = 1, #raw do
    bytes[#bytes + 1] = ('%02x'):format(raw:byte(i))
  end
  return table.concat(bytes)
end

--- The DAP `attach` arguments for `mode` (`listen` or `connect`) at `addr`,
--- and how to start the program to match, for the user.
---@param mode 'listen'|'connect'
---@param addr string
---@return table args, string hint
function M.arguments(mode, addr)
  local args = { [mode] = addr }
  local env = mode == 'listen' and 'HOTRELOAD_CONNECT' or 'HOTRELOAD_LISTEN'
  local hint = ('%s=%s'):format(env, addr)
  if is_tcp(addr) then
    args.token = token()
    hint = hint .. ' HOTRELOAD_TOKEN=' .. args.token
  end
  return args, hint
end

--- `:HotReload attach [connect] [addr]`.
---@param fargs string[]
function M.command(fargs)
  local mode = 'listen'
  if fargs[1] == 'connect' or fargs[1] == 'listen' then
    mode = table.remove(fargs, 1)
  end
  local addr = fargs[1]
  if not addr or addr == '' then
    if mode == 'connect' then
      vim.notify('hotreload: attach connect needs an address', vim.log.levels.ERROR, { title = 'hotreload' })
      return
    end
    local ok, default = pcall(M.default_address)
    if not ok then
      vim.notify('hotreload: ' .. tostring(default), vim.log.levels.ERROR, { title = 'hotreload' })
      return
    end
    addr = default
  end
  local args, hint = M.arguments(mode, addr)
  local label = (mode == 'listen' and 'waiting at ' or 'connecting to ') .. addr
  require('hotreload.runner').attach(args, label)
  if mode == 'listen' then
    require('hotreload.output').note('start the program with ' .. hint)
    vim.notify('hotreload: start the program with ' .. hint, vim.log.levels.INFO, { title = 'hotreload' })
  end
end

return M
