-- The program bench/attach/run.py attaches to: N tables, each holding two
-- functions of the module `benchmod`, then a frame loop that sleeps between
-- frames (LuaJIT's ffi usleep: no process per frame). `gc_ms` is one full
-- collection of this heap, the run's baseline.
local N = assert(tonumber(arg[1]), 'usage: heap.lua N')
local ffi = require('ffi')
ffi.cdef('int usleep(unsigned int usec);')
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
  ffi.C.usleep(2000)
end
