-- wrk script for the kv-put scenario: PUT /v1/kv/bench/put/<n> with a ~100-byte body.
--
-- Keys cycle over 1,000 names so the agent's KV tree and watch slots see a spread of keys, not one hot row.
-- Every body is different (thread id + counter): the state store skips writes that change nothing, and a
-- benchmark of no-op writes would flatter it.

local keys = 1000
local threads = 0
local filler = string.rep("x", 80)

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  counter = 0
  wrk.method = "PUT"
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function request()
  counter = counter + 1
  local path = "/v1/kv/bench/put/" .. (counter % keys)
  -- 80 filler bytes + "-t<id>-<10 digits>" = about 100 bytes.
  local body = string.format("%s-t%d-%010d", filler, id, counter)
  return wrk.format("PUT", path, nil, body)
end
