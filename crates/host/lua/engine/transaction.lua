-- A global table seen through a transaction, for a new top level: reads see
-- the live globals and the pending writes, writes stay pending (the module
-- reload merges them by the same rules as the module table).
local _, parts = ...
local common = parts.common

local next, setmetatable = next, setmetatable
local T = common.T

local Transaction = {}

-- Stands for "the new top level assigned nil to this global" in `pending`.
local NIL = T()
Transaction.NIL = NIL

--- The environment for a new top level over the globals `G`, and the table
--- of its pending writes (name -> value, or NIL).
function Transaction.env(G)
  local pending = T()
  local env = {}
  setmetatable(env, {
    __index = function(_, k)
      local v = pending[k]
      if v ~= nil then
        if v == NIL then
          return nil
        end
        return v
      end
      v = G[k]
      if v == G then
        return env
      end
      return v
    end,
    __newindex = function(_, k, v)
      if v == nil then
        v = NIL
      end
      pending[k] = v
    end,
    __pairs = function()
      return next, G, nil
    end,
  })
  return env, pending
end

--- After the new top level ran: `env` forwards every read and write to `G`
--- from now on. For VMs without `_ENV` (5.1, LuaJIT), where the new
--- functions keep `env` as their environment and their later global writes
--- must reach the live globals, not `pending`.
function Transaction.commit(env, G)
  setmetatable(env, { __index = G, __newindex = G })
end

return Transaction
