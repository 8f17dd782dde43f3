---@mod hotreload.failure What a failed request says, as fields.
---
--- A failed DAP response carries `body.error` (`id`, `format`,
--- `variables`, `showUser`); nvim-dap and our client hand it on as
--- `err.body`. The glue decides by `kind` and places diagnostics by `path`
--- and `line`, never by reading the message.

local M = {}

---@class hotreload.Failure
---@field kind string what went wrong: `compile`, `runtime`, `notFound`, `refused`, `launch`, ... (`other` when not said)
---@field message string the message for the user (`file:line: reason` where located)
---@field path string|nil the file it concerns
---@field line integer|nil the line there
---@field reason string|nil the message without its `file:line:` position

--- The failure an error of a DAP request (`{ message, body }`, as nvim-dap
--- and `hotreload.client` pass it) or a plain message stands for.
---@param err table|string|nil
---@return hotreload.Failure
function M.of(err)
  if type(err) ~= 'table' then
    return { kind = 'other', message = tostring(err) }
  end
  local body = type(err.body) == 'table' and err.body or {}
  local e = type(body.error) == 'table' and body.error or {}
  local vars = type(e.variables) == 'table' and e.variables or {}
  return {
    kind = vars.kind or 'other',
    message = err.message or e.format or 'request failed',
    path = vars.path,
    line = tonumber(vars.line),
    reason = vars.reason,
  }
end

return M
