local buckets = {}
local n = 0
for i = 0, 199999 do
  local p = { x = i, y = i * 2 }
  local k = i % 1000
  local cur = buckets[k]
  if cur == nil then n = n + 1; cur = 0 end
  buckets[k] = cur + p.x + p.y
end
local total = 0
for _, v in pairs(buckets) do total = total + v end
print(n .. " " .. total)
