-- wrk script shared by every scenario and by the hello-world baseline, so the load generator
-- does the same work per request in both (same headers, same per-response bookkeeping).
--
--   wrk ... -s bench/scenarios.lua http://127.0.0.1:PORT -- SCENARIO DATA.lua
--
-- SCENARIO: get_post | list_posts | create_post | hello | mixed
-- (mixed: 80% get_post, 15% list_posts, 5% create_post). An optional third argument stops each
-- thread after that many responses, for runs bounded by a request count (bench/soak.py).
-- DATA.lua (written by bench/run.py from the seed) returns
--   { users = { { key = "lp_...", posts = { "<uuid>", ... } }, ... }, bodies = { "<json>", ... } }
-- Every request goes out as a random user with that user's own API key (and, for get_post, one
-- of that user's posts), so the load spreads over all users the way real traffic does.
-- done() prints one line "BENCH_RESULT {json}" that bench/run.py parses.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   local scenario, datafile = args[1], args[2]
   limit = tonumber(args[3] or "0")
   answered = 0
   local data = dofile(datafile)
   math.randomseed(os.time() * 1000 + tid)
   statuses = {}
   samples = {}
   prepared = {}
   reads, lists, writes = {}, {}, {}
   for _, user in ipairs(data.users) do
      local headers = { ["X-API-Key"] = user.key }
      if scenario == "mixed" then
         for _, id in ipairs(user.posts) do
            table.insert(reads, wrk.format("GET", "/v1/posts/" .. id, headers))
         end
         table.insert(lists, wrk.format("GET", "/v1/posts?limit=20", headers))
         local json = { ["X-API-Key"] = user.key, ["Content-Type"] = "application/json" }
         for _, body in ipairs(data.bodies) do
            table.insert(writes, wrk.format("POST", "/v1/posts", json, body))
         end
      elseif scenario == "get_post" then
         for _, id in ipairs(user.posts) do
            table.insert(prepared, wrk.format("GET", "/v1/posts/" .. id, headers))
         end
      elseif scenario == "list_posts" then
         table.insert(prepared, wrk.format("GET", "/v1/posts?limit=20", headers))
      elseif scenario == "create_post" then
         headers["Content-Type"] = "application/json"
         for _, body in ipairs(data.bodies) do
            table.insert(prepared, wrk.format("POST", "/v1/posts", headers, body))
         end
      elseif scenario == "hello" then
         table.insert(prepared, wrk.format("GET", "/", headers))
      else
         error("unknown scenario " .. tostring(scenario))
      end
   end
   count = #prepared
end

function request()
   if count == 0 then
      local roll = math.random(100)
      if roll <= 80 then
         return reads[math.random(#reads)]
      elseif roll <= 95 then
         return lists[math.random(#lists)]
      end
      return writes[math.random(#writes)]
   end
   return prepared[math.random(count)]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   answered = answered + 1
   if limit > 0 and answered >= limit then
      wrk.thread:stop()
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

function done(summary, latency, requests)
   local merged, samples_out = {}, {}
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses") or {}) do
         merged[code] = (merged[code] or 0) + n
      end
      for _, sample in ipairs(thread:get("samples") or {}) do
         table.insert(samples_out, quote(sample))
      end
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
      '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      table.concat(codes, ", "), table.concat(samples_out, ", "),
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
