-- Replays a prepared list of requests (a Lua file returning {{m=, p=, t=, b=}, ...}; its path
-- is the first argument after `--`), each thread from its own offset, and prints one
-- `BENCH_JSON {...}` line with the throughput, latency percentiles (µs) and errors.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local raw = {}
local n = 0
local i = 0

function init(args)
  local reqs = dofile(args[1])
  n = #reqs
  for k, r in ipairs(reqs) do
    local headers = {}
    if r.t then headers["Authorization"] = "Bearer " .. r.t end
    if r.b then headers["Content-Type"] = "application/json" end
    raw[k] = wrk.format(r.m, r.p, headers, r.b)
  end
  i = ((tid or 0) * 7919) % n
end

function request()
  i = i % n + 1
  return raw[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,'
      .. '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
