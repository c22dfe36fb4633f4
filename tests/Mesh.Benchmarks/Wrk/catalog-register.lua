-- wrk script for the catalog-register scenario: PUT /v1/catalog/register of one service instance with a passing
-- check, spread over 500 nodes and 5,000 services. Every body differs (a revision in the service's Meta): the store
-- skips registrations that change nothing, and a benchmark of no-op writes would flatter it.

local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  counter = 0
  wrk.method = "PUT"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local n = (counter * 7 + id * 13) % 5000
  local body = string.format(
    '{"Node":"bench-node-%d","Address":"10.9.%d.%d","SkipNodeUpdate":true,' ..
    '"Service":{"Service":"bench-svc-%d","ID":"bench-svc-%d","Port":8080,"Tags":["v1"],"Meta":{"rev":"t%d-%d"}},' ..
    '"Check":{"CheckID":"bench-chk-%d","Name":"alive","ServiceID":"bench-svc-%d","Status":"passing"}}',
    n % 500, math.floor((n % 500) / 250), n % 250, n, n, id, counter, n, n)
  return wrk.format("PUT", "/v1/catalog/register", nil, body)
end
