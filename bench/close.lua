-- wrk script: each request closes the next seeded deal through POST /api/opportunities/{id}/close, as
-- bench/loadgen.py does (odd deals: lost with close_quotes, even deals: won), so that the API figure does not
-- depend on a Python client. Thread t closes deals first + t * per_thread, first + t * per_thread + 1, ...
--   wrk -t2 -c16 -d10s -s bench/close.lua http://127.0.0.1:PORT -- FIRST PER_THREAD TOKEN CLOSE_DATE
-- done() prints one JSON line (latencies in microseconds) for bench/close_pairs.py.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  first = tonumber(args[1])
  per_thread = tonumber(args[2])
  token = args[3]
  close_date = args[4]
  n = first + id * per_thread
  last = n + per_thread - 1
end

function request()
  local k = n
  if k > last then
    error("deal range exhausted: give each thread more deals")
  end
  n = n + 1
  local body
  if k % 2 == 1 then
    body = '{"outcome":"lost","status_reason":"out_sold","close_date":"' .. close_date .. '","close_quotes":"lost"}'
  else
    body = '{"outcome":"won","close_date":"' .. close_date .. '"}'
  end
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "wrk-close-" .. k,
  }
  return wrk.format("POST", string.format("/api/opportunities/0000000b-0000-4000-8000-%012x/close", k), headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "p999_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max
  ))
end
