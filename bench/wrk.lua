-- wrk script of the benchmark: one request shape per run, JSON summary at the end.
-- Arguments (after "--"): METHOD PATH TOKEN [BODY]. In BODY, "%d" becomes a
-- per-request counter, so that each POST creates a distinct file.
local method, path, body_template
local headers = {}
local counter = 0
local threads = 0

-- Runs in the main state: number the threads so that their counters differ.
function setup(thread)
   thread:set("id", threads)
   threads = threads + 1
end

function init(args)
   counter = (id or 0) * 1000000000
   method, path, body_template = args[1], args[2], args[4]
   headers["Authorization"] = "Bearer " .. args[3]
   if body_template ~= nil and body_template ~= "" then
      headers["Content-Type"] = "application/json"
   else
      body_template = nil
   end
end

function request()
   local body = nil
   if body_template ~= nil then
      counter = counter + 1
      body = string.format(body_template, counter)
   end
   return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
      '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
      '"latency_p50_us": %d, "latency_p99_us": %d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
