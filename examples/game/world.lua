-- The world: a list of creatures and the rules of one tick.
local Creature = require('creature')

local M = {}

-- Scalars keep their running value across reloads.
M.births = 0

local function food_per_tick()
  return 1
end

---@param n integer
function M.new(n)
  local w = { creatures = {}, food = 10 }
  for i = 1, n do
    M.births = M.births + 1
    w.creatures[i] = Creature.new('c' .. M.births)
  end
  return w
end

function M.step(w)
  w.food = w.food + food_per_tick()
  for _, c in ipairs(w.creatures) do
    if w.food > 0 then
      w.food = w.food - 1
      c:eat()
    end
    c:move()
  end
end

function M.describe(w, tick)
  local parts = {}
  for _, c in ipairs(w.creatures) do
    parts[#parts + 1] = tostring(c)
  end
  return ('tick %d  food %d  %s'):format(tick, w.food, table.concat(parts, ' '))
end

return M
