-- The module to edit while the game runs: change `speed` or `describe`,
-- save, and the running game uses it on the next frame.
local M = {}

local speed = 60

function M.new(x, y)
  return { x = x, y = y, score = 0 }
end

function M.update(p, dt)
  p.x = (p.x + speed * dt) % 800
  p.score = p.score + 1
end

function M.describe(p)
  return ('v1 score=%d x=%.0f'):format(p.score, p.x)
end

return M
