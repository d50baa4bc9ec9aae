-- wrk: GETs of 8 MiB parts of a 1 GiB object, walking the parts in turn (a parallel
-- ranged download, as the AWS CRT and PyTorch data loaders do it).
local part = 0
local size = 8 * 1024 * 1024
local parts = 128
request = function()
  local first = (part % parts) * size
  part = part + 1
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. first .. "-" .. (first + size - 1) })
end
