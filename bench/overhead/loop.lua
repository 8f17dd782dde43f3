-- A numeric loop with no calls. Prints the CPU seconds it took.
local n = tonumber(arg[1]) or 20000000
local t0 = os.clock()
local acc = 0
for i = 1, n do
  acc = acc + i % 7
end
local dt = os.clock() - t0
if acc < 0 then
  print('unreachable')
end
print(('elapsed %.6f'):format(dt))
