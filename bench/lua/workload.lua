-- wrk's side of the harness: which requests to send, and the figures to hand back.
--
-- BENCH_PATHS_FILE   paths, one a line, sent in turn (the mixed workload); else the URL's
-- BENCH_METHOD       GET (default) or POST
-- BENCH_BODY         a JSON body for POST
-- BENCH_AUTHORIZATION an Authorization header value
-- done() prints one line, BENCH_JSON {...}, that bench/loadgen.py reads.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTHORIZATION")
local paths_file = os.getenv("BENCH_PATHS_FILE")

local headers = {}
if body then headers["Content-Type"] = "application/json" end
if auth then headers["Authorization"] = auth end

local paths = {}
if paths_file then
  for line in io.lines(paths_file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end

local turn = 0

request = function()
  if #paths == 0 then
    return wrk.format(method, nil, headers, body)
  end
  turn = turn % #paths + 1
  return wrk.format(method, paths[turn], headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
