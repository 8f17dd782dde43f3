-- A file the benchmarks never run: a breakpoint here must cost nothing.
local M = {}
function M.f()
  return 1
end
return M
