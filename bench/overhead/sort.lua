-- C calling Lua: table.sort with a Lua comparator. Prints the CPU seconds it took.
local n = tonumber(arg[1]) or 300000
local t = {}
local seed = 42
for i = 1, n do
  seed = (seed * 1103515245 + 12345) % 2147483648
  t[i] = seed
end
local t0 = os.clock()
table.sort(t, function(a, b)
  return a > b
end)
local dt = os.clock() - t0
if t[1] < 0 then
  print('unreachable')
end
print(('elapsed %.6f'):format(dt))
