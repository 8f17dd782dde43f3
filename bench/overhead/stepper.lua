-- A loop to step through: the step round trip benchmark stops here.
local t = { a = 1, b = { c = 2 } }
local i = 0
while true do
  i = i + 1
  t.a = t.a + i
  t.b.c = t.b.c + 1
end
