-- Call-heavy work: fib(n) by naive recursion. Prints the CPU seconds it took.
local n = tonumber(arg[1]) or 30
local function fib(k)
  if k < 2 then
    return k
  end
  return fib(k - 1) + fib(k - 2)
end
local t0 = os.clock()
local r = fib(n)
local dt = os.clock() - t0
local never = r < 0 -- a line that never runs, for "breakpoint in this file"
if never then
  print('unreachable')
end
print(('elapsed %.6f'):format(dt))
