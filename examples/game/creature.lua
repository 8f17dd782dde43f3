-- A creature class: instances made before a reload get the new methods too.
local Creature = {}
Creature.__index = Creature

function Creature.new(name)
  return setmetatable({ name = name, x = 0, size = 1 }, Creature)
end

function Creature:eat()
  self.size = self.size + 1
end

function Creature:move()
  self.x = self.x + 1
end

function Creature:__tostring()
  return ('%s@%d(size %d)'):format(self.name, self.x, self.size)
end

return Creature
