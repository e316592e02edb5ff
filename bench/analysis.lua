-- wrk script of bench/analysis.py: POST /v1/analyze with request bodies written by the Python
-- side, so the Lua only picks a string.
--
--   wrk ... -s bench/analysis.lua http://127.0.0.1:PORT -- SCENARIO DATA.txt
--
-- DATA.txt (written by bench/analysis.py), one item a line:
--   line 1   the X-API-Key
--   line 2   the number of wrk threads (wrk's init() cannot know it)
--   line 3+  one request body each: {"text": ...[, "language": ...]} as JSON on one line
-- SCENARIO:
--   unique    thread i of T sends bodies i, i+T, i+2T... in order, each once; should its slice
--             run out, it stops sending (any request sent after that counts in "repeats"),
--             but wrk runs to the end of -d anyway: that run's rate is then a lower bound
--   repeated  a random body of all of them, each request
-- done() prints one line "BENCH_RESULT {json}" (bench/loadgen.py's fields, plus how many
-- requests each thread issued, the size of its slice, whether it ran out, and repeats).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   scenario = args[1]
   local key, nthreads, index = nil, nil, 0
   local headers = nil
   prepared = {}
   for line in io.lines(args[2]) do
      if key == nil then
         key = line
         headers = { ["X-API-Key"] = key, ["Content-Type"] = "application/json" }
      elseif nthreads == nil then
         nthreads = tonumber(line)
      else
         -- unique: this thread's slice only; repeated: every body
         if scenario == "repeated" or index % nthreads == tid - 1 then
            table.insert(prepared, wrk.format("POST", "/v1/analyze", headers, line))
         end
         index = index + 1
      end
   end
   if scenario ~= "unique" and scenario ~= "repeated" then
      error("unknown scenario " .. tostring(scenario))
   end
   count = #prepared
   if count == 0 then
      error("no request bodies for thread " .. tid)
   end
   math.randomseed(os.time() * 1000 + tid)
   statuses, samples = {}, {}
   issued, repeats, exhausted = 0, 0, false
end

function request()
   issued = issued + 1
   if scenario == "repeated" then
      return prepared[math.random(count)]
   end
   if issued > count then
      exhausted = true
      repeats = repeats + 1
      return prepared[count] -- answered from the cache: stops the thread at its answer
   end
   return prepared[issued]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 400 and #samples < 5 then
      table.insert(samples, tostring(status) .. " " .. string.sub(body or "", 1, 400))
   end
   if exhausted then
      wrk.thread:stop()
   end
end

local function quote(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function done(summary, latency, requests)
   local merged, samples_out = {}, {}
   local issued_all, slices, repeats_all, ran_out = {}, {}, 0, 0
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses") or {}) do
         merged[code] = (merged[code] or 0) + n
      end
      for _, sample in ipairs(thread:get("samples") or {}) do
         table.insert(samples_out, quote(sample))
      end
      table.insert(issued_all, tostring(thread:get("issued") or 0))
      table.insert(slices, tostring(thread:get("count") or 0))
      repeats_all = repeats_all + (thread:get("repeats") or 0)
      if thread:get("exhausted") then ran_out = ran_out + 1 end
   end
   local codes = {}
   for code, n in pairs(merged) do
      table.insert(codes, string.format('"%d": %d', code, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
      '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"status_errors": %d, "statuses": {%s}, "error_samples": [%s], ' ..
      '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, ' ..
      '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}, ' ..
      '"issued_per_thread": [%s], "slice_per_thread": [%s], "repeats": %d, ' ..
      '"threads_ran_out": %d}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      table.concat(codes, ", "), table.concat(samples_out, ", "),
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9),
      table.concat(issued_all, ", "), table.concat(slices, ", "), repeats_all, ran_out))
end
