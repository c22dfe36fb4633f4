-- wrk script for the intentions scenario: POST /v1/agent/connect/authorize with bodies read from a file, one JSON
-- body per line (the scenario writes it: a mix of pairs that hit an exact intention, a wildcard source and the
-- catch-all). Every request is formatted once, in init, so wrk spends its time sending, not building strings; each
-- thread starts at its own offset so the two threads do not ask the same questions in lockstep.
--
-- usage: wrk ... -s intentions.lua <url> -- <bodies-file>

local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local path = args[1]
  if path == nil then error("intentions.lua needs the bodies file: wrk ... -- <file>") end
  requests = {}
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(path) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", "/v1/agent/connect/authorize", headers, line)
    end
  end
  if #requests == 0 then error("no request bodies in " .. path) end
  counter = (id * 7919) % #requests
end

function request()
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return requests[counter]
end
