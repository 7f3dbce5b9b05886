-- wrk script: requests.lua, and a count of the answers with a 5xx status.
--   wrk -t1 -c32 -d10s -s bench/wrk/writes.lua http://127.0.0.1:8001 -- requests.tsv
-- (A separate script because defining response() makes wrk hand every answer to Lua, which
-- would change the figures of bench/server.py.)

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "requests.lua")

local threads = {}
local report = done

function setup(thread)
  threads[#threads + 1] = thread
end

server_errors = 0

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests_)
  local counted = 0
  for _, thread in ipairs(threads) do
    counted = counted + thread:get("server_errors")
  end
  io.write(string.format('{"server_errors": %d}\n', counted))
  report(summary, latency, requests_)
end
