-- The program bench/attach/run.py attaches to: N tables, each holding two
-- functions of the module `benchmod`, then a frame loop that waits between
-- frames (LuaJIT: ffi's usleep; a stock PUC Lua has no sleep, so it spins
-- in this chunk, where the agent's hook then runs). `gc_ms` is one full
-- collection of this heap, the run's baseline.
local N = assert(tonumber(arg[1]), 'usage: heap.lua N')
local has_ffi, ffi = pcall(require, 'ffi')
local pause
if has_ffi then
  ffi.cdef('int usleep(unsigned int usec);')
  pause = function()
    ffi.C.usleep(2000)
  end
else
  local clock = os.clock
  pause = function()
    local stop = clock() + 0.002
    while clock() < stop do
    end
  end
end
local mod = require('benchmod')

objects = {}
for i = 1, N do
  objects[i] = { update = mod.update, draw = mod.draw, i = i }
end
local t0 = os.clock()
collectgarbage()
gc_ms = (os.clock() - t0) * 1000
ready = true

local total = 0
while true do
  total = total + mod.update(1)
  pause()
end
