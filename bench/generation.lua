-- wrk script of bench/generation.py: one request, sent over and over, and what came back.
--
--   wrk ... -s bench/generation.lua http://127.0.0.1:PORT -- SCENARIO DATA.txt [LIMIT]
--
-- DATA.txt (written by bench/generation.py), one item a line:
--   line 1   the X-API-Keys of the senders, comma-separated (each request a random one)
--   line 2   the request body of POST /v1/generate, JSON on one line
-- SCENARIO:
--   generate  POST /v1/generate with that body
--   hello     GET / with the same X-API-Key header (the hello-world baseline; no body)
-- LIMIT > 0 stops each thread after that many responses (bench/loadgen.py always passes it).
-- response() counts every status, keeps samples of the answers that are not 200, and for each
-- 200 whether it says "cached":true or "cached":false and how many variants it holds, so the
-- load generator does the same bookkeeping for the API and for the hello-world.
-- done() prints one line "BENCH_RESULT {json}" (bench/loadgen.py's fields, plus "cached_true",
-- "cached_false" and "variants").

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   local scenario, datafile = args[1], args[2]
   limit = tonumber(args[3] or "0")
   local lines = {}
   for line in io.lines(datafile) do
      table.insert(lines, line)
   end
   if scenario ~= "generate" and scenario ~= "hello" then
      error("unknown scenario " .. tostring(scenario))
   end
   prepared = {}
   for key in string.gmatch(lines[1], "[^,]+") do
      if scenario == "generate" then
         local headers = { ["X-API-Key"] = key, ["Content-Type"] = "application/json" }
         table.insert(prepared, wrk.format("POST", "/v1/generate", headers, lines[2]))
      else
         table.insert(prepared, wrk.format("GET", "/", { ["X-API-Key"] = key }))
      end
   end
   count = #prepared
   math.randomseed(os.time() * 1000 + tid)
   statuses, samples = {}, {}
   answered, cached_true, cached_false, variants = 0, 0, 0, 0
end

function request()
   if count == 1 then
      return prepared[1]
   end
   return prepared[math.random(count)]
end

local function count(body, needle)
   local n, at = 0, 1
   while true do
      local found = string.find(body, needle, at, true)
      if not found then
         return n
      end
      n = n + 1
      at = found + #needle
   end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   answered = answered + 1
   if status == 200 then
      body = body or ""
      if string.find(body, '"cached":true', 1, true) then
         cached_true = cached_true + 1
      elseif string.find(body, '"cached":false', 1, true) then
         cached_false = cached_false + 1
      end
      variants = variants + count(body, '"post_id":')
   elseif #samples < 5 then
      table.insert(samples, tostring(status) .. " " .. string.sub(body or "", 1, 400))
   end
   if limit > 0 and answered >= limit then
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
   local all_true, all_false, all_variants = 0, 0, 0
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses") or {}) do
         merged[code] = (merged[code] or 0) + n
      end
      for _, sample in ipairs(thread:get("samples") or {}) do
         table.insert(samples_out, quote(sample))
      end
      all_true = all_true + (thread:get("cached_true") or 0)
      all_false = all_false + (thread:get("cached_false") or 0)
      all_variants = all_variants + (thread:get("variants") or 0)
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
      '"cached_true": %d, "cached_false": %d, "variants": %d}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      table.concat(codes, ", "), table.concat(samples_out, ", "),
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9),
      all_true, all_false, all_variants))
end
