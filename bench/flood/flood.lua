-- Prints N numbered lines (default 1,000,000) as fast as it can.
local n = tonumber(arg and arg[1]) or 1000000
for i = 1, n do
  print('line ' .. i)
end
