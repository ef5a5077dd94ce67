-- wrk script: each request creates a new instance (unique id), so every command is accepted (202).
-- Usage: wrk ... -s bench/intake.lua <url> -- <run-prefix>
local prefix = "run"
local counter = 0

function init(args)
  prefix = args[1] or prefix
end

function request()
  counter = counter + 1
  local body = string.format('{"data":{"item_id":"%s-%d","name":"bench item %d"}}', prefix, counter, counter)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
