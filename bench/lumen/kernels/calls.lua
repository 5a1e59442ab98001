local function bump(x) return x + 3 end
local x = 0
for _ = 1, 5000000 do
  x = bump(x)
end
print(x)
