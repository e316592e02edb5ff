-- wrk script of bench/cache.py: both hello-worlds, cached reads and a Zipf read workload, with
-- the same per-response bookkeeping for all (statuses, error samples, one X-Cache header read),
-- so the load generator costs the same per request whichever server it measures.
--
--   wrk ... -s bench/cache.lua http://127.0.0.1:PORT -- SCENARIO DATA.lua
--
-- SCENARIO:
--   hello   GET / with a random user's X-API-Key (the two hello-worlds)
--   cached  GET /v1/posts/{id}: a random post of the hot set, with its owner's key
--   zipf    GET /v1/posts/{id}: the post of rank k among all posts, k drawn from Zipf(s),
--           with its owner's key
-- DATA.lua (written by bench/cache.py) returns
--   { keys = { "lp_...", ... }, hot = { { owner, "<uuid>" }, ... },
--     ranked = { { owner, "<uuid>" }, ... }, s = 1.1 }
-- where owner is an index into keys and ranked is in rank order (rank 1 most requested).
-- done() prints one line "BENCH_RESULT {json}" (bench/loadgen.py's fields, plus x_cache counts;
-- for zipf also the distinct posts requested and the X-Cache counts of the run's second half).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local function prepare(entries, keys)
   local out = {}
   for _, entry in ipairs(entries) do
      local headers = { ["X-API-Key"] = keys[entry[1]] }
      table.insert(out, wrk.format("GET", "/v1/posts/" .. entry[2], headers))
   end
   return out
end

function init(args)
   local scenario, datafile = args[1], args[2]
   local data = dofile(datafile)
   math.randomseed(os.time() * 1000 + tid)
   statuses, samples, x_cache = {}, {}, {}
   zipf = scenario == "zipf"
   if scenario == "hello" then
      prepared = {}
      for _, key in ipairs(data.keys) do
         table.insert(prepared, wrk.format("GET", "/", { ["X-API-Key"] = key }))
      end
   elseif scenario == "cached" then
      prepared = prepare(data.hot, data.keys)
   elseif zipf then
      prepared = prepare(data.ranked, data.keys)
      -- cdf[k] = sum of i^-s for i <= k; a draw is a binary search for a uniform point in it.
      cdf, total = {}, 0
      for k = 1, #prepared do
         total = total + k ^ -data.s
         cdf[k] = total
      end
      seen, distinct = {}, 0
      -- X-Cache counts per wall-clock second, to tell the warming start from the steady state.
      second_all, second_hit = {}, {}
   else
      error("unknown scenario " .. tostring(scenario))
   end
   count = #prepared
end

function request()
   if zipf then
      local point, lo, hi = math.random() * total, 1, count
      while lo < hi do
         local mid = math.floor((lo + hi) / 2)
         if cdf[mid] < point then lo = mid + 1 else hi = mid end
      end
      if not seen[lo] then
         seen[lo] = true
         distinct = distinct + 1
      end
      return prepared[lo]
   end
   return prepared[math.random(count)]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   -- Starlette and the fast path both send lower-case header names.
   local level = headers["x-cache"] or "none"
   x_cache[level] = (x_cache[level] or 0) + 1
   if zipf then
      local now = os.time()
      second_all[now] = (second_all[now] or 0) + 1
      if level == "HIT-L1" or level == "HIT-L2" then
         second_hit[now] = (second_hit[now] or 0) + 1
      end
   end
   if status >= 400 and #samples < 5 then
      table.insert(samples, tostring(status) .. " " .. string.sub(body or "", 1, 400))
   end
end

local function quote(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

local function add_into(into, from)
   for k, n in pairs(from or {}) do
      into[k] = (into[k] or 0) + n
   end
end

local function json_counts(counts, fmt)
   local out = {}
   for k, n in pairs(counts) do
      table.insert(out, string.format(fmt, k, n))
   end
   return "{" .. table.concat(out, ", ") .. "}"
end

local function zipf_fields()
   local seen_all, all, hit = {}, {}, {}
   local distinct_all = 0
   for _, thread in ipairs(threads) do
      for k in pairs(thread:get("seen") or {}) do
         if not seen_all[k] then
            seen_all[k] = true
            distinct_all = distinct_all + 1
         end
      end
      add_into(all, thread:get("second_all"))
      add_into(hit, thread:get("second_hit"))
   end
   local first, last = nil, nil
   for second in pairs(all) do
      if first == nil or second < first then first = second end
      if last == nil or second > last then last = second end
   end
   local half_all, half_hit, half_seconds = 0, 0, 0
   if first ~= nil then
      local from = first + math.ceil((last - first) / 2)
      for second, n in pairs(all) do
         if second >= from then
            half_all = half_all + n
            half_hit = half_hit + (hit[second] or 0)
         end
      end
      half_seconds = last - from + 1
   end
   return string.format(
      ', "distinct_requested": %d, "second_half": {"seconds": %d, "answers": %d, "hits": %d}',
      distinct_all, half_seconds, half_all, half_hit)
end

function done(summary, latency, requests)
   local merged, levels, samples_out = {}, {}, {}
   local is_zipf = false
   for _, thread in ipairs(threads) do
      add_into(merged, thread:get("statuses"))
      add_into(levels, thread:get("x_cache"))
      for _, sample in ipairs(thread:get("samples") or {}) do
         table.insert(samples_out, quote(sample))
      end
      is_zipf = thread:get("zipf")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
      '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"status_errors": %d, "statuses": %s, "error_samples": [%s], ' ..
      '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, ' ..
      '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}, "x_cache": %s%s}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      json_counts(merged, '"%d": %d'), table.concat(samples_out, ", "),
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9),
      json_counts(levels, '"%s": %d'), is_zipf and zipf_fields() or ""))
end
