local total = 0
for i = 0, 199999 do
  local key = "key-" .. i .. ";"
  total = total + #key
end
print(total)
