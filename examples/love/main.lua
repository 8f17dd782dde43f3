-- A small LÖVE game that hot-reloads: start the debugger (`:HotReload
-- attach`, or nvim-dap's "Attach to a program (hot reload)"), then the game
-- with HOTRELOAD_CONNECT set to the address it shows and LUA_CPATH reaching
-- the agent (see README "Attach"). Edit player.lua while it runs: the next
-- frame uses the new code, the player keeps its position and score.
-- Lines show at once also when the output goes to a pipe or a file.
io.stdout:setvbuf('line')

local ok, agent = pcall(require, 'hotreload_agent')
if ok then
  local started, why = agent.start({ wait = os.getenv('HOTRELOAD_WAIT') == '1' })
  if not started then
    print('hotreload: ' .. tostring(why))
  end
else
  print('hotreload: the agent is not on package.cpath; running without it')
end

local player = require('player')

local state = { frame = 0, player = player.new(100, 100) }

function love.update(dt)
  state.frame = state.frame + 1
  player.update(state.player, dt)
  if state.frame % 60 == 0 then
    print(player.describe(state.player))
  end
  -- For scripts and tests: quit after so many frames, or once a file is gone.
  local quit_after = tonumber(os.getenv('HOTRELOAD_QUIT_AFTER') or '')
  if quit_after and state.frame >= quit_after then
    love.event.quit(0)
  end
  local run_file = os.getenv('HOTRELOAD_RUN_FILE')
  if run_file and state.frame % 10 == 0 then
    local f = io.open(run_file)
    if f then
      f:close()
    else
      love.event.quit(0)
    end
  end
end

function love.draw()
  if love.graphics then
    love.graphics.print(player.describe(state.player), 10, 10)
    love.graphics.circle('fill', state.player.x, state.player.y, 10)
  end
end
