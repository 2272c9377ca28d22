-- The wrk script of bench/run.sh: one scenario's requests, configured by the environment, and
-- one result line at the end.
--   BENCH_IDS     a file of case ids, one a line: "_ID_" in the URL's path becomes a random one
--   BENCH_METHOD  GET (default) or POST;  BENCH_BODY_FILE  the request body (sent as JSON)
--   BENCH_TOKEN   a JWT sent as "Authorization: Bearer ..."
-- done() prints `BENCH_RESULT {json}`: requests, duration_us, socket errors, the answers with a
-- status outside 2xx (counted here, and by status: wrk's own "Non-2xx" line counts only
-- statuses above 399) and the latency percentiles in microseconds.

local ids_file = os.getenv("BENCH_IDS")
local token = os.getenv("BENCH_TOKEN")
local body_file = os.getenv("BENCH_BODY_FILE")

wrk.method = os.getenv("BENCH_METHOD") or "GET"
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end
if body_file and body_file ~= "" then
   local f = assert(io.open(body_file, "rb"))
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
end

local threads = {}

function setup(thread)
   thread:set("thread_number", #threads + 1)
   table.insert(threads, thread)
end

-- Per thread: its own random sequence (a fixed seed per thread: the same ids every run).
function init(args)
   non2xx = 0
   statuses = {}
   math.randomseed(thread_number)
   if ids_file and ids_file ~= "" then
      ids = {}
      for line in io.lines(ids_file) do
         if line ~= "" then
            ids[#ids + 1] = line
         end
      end
      assert(#ids > 0, "wrk.lua: no ids in " .. ids_file)
      prefix, suffix = wrk.path:match("^(.-)_ID_(.*)$")
      assert(prefix, "wrk.lua: BENCH_IDS needs _ID_ in the URL's path")
   end
end

-- Only when there are ids to draw from: otherwise wrk sends one fixed request over and over.
if ids_file and ids_file ~= "" then
   function request()
      return wrk.format(nil, prefix .. ids[math.random(#ids)] .. suffix)
   end
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      statuses[status] = (statuses[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   local n, by_status = 0, {}
   for _, thread in ipairs(threads) do
      n = n + thread:get("non2xx")
      for status, count in pairs(thread:get("statuses")) do
         by_status[status] = (by_status[status] or 0) + count
      end
   end
   local listed = {}
   for status, count in pairs(by_status) do
      listed[#listed + 1] = string.format('"%d": %d', status, count)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
      '"write": %d, "timeout": %d, "status_over_399": %d, "non2xx": %d, ' ..
      '"statuses": {%s}, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status, n,
      table.concat(listed, ", "), latency:percentile(50), latency:percentile(99), latency.max))
end
