-- A small simulation that keeps state worth keeping: a world of creatures
-- that wander, eat and grow. Edit world.lua or creature.lua while it runs and
-- save: the new code takes over on the next tick, the creatures stay.
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
package.path = here .. '?.lua;' .. package.path

local world = require('world')

local ticks = tonumber(arg and arg[1]) or math.huge
local delay = tonumber(os.getenv('GAME_TICK_SECONDS') or '0.5')

local w = world.new(3)
for tick = 1, ticks do
  -- No pcall: under the debugger, a mistake saved into creature.lua stops
  -- the game at the error with the world as it was; save the fix and
  -- `:HotReload restart` retries the failed call with the new code.
  world.step(w)
  print(world.describe(w, tick))
  if delay > 0 then
    os.execute('sleep ' .. delay)
  end
end
