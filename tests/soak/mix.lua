-- mix.lua: the soak's route mix (tests/soak/run), one wrk script. Of every 100 requests:
--   40 GET /v1/public/facilitators/{number}   public register (about 9% unknown: 404 expected)
--   20 GET /v1/facilitators/{number}          licensee status check (ES256 token)
--   15 GET /v1/organisations?kind=charity     admin list
--    5 GET /healthz
--   20 writes: POST /v1/programmes by an org_admin, and each run created PATCHed once (If-Match)
-- SOAK_RATE (requests/s for the whole run, 0: as fast as possible) paces every thread with
-- delay() on a schedule from a monotonic clock, so the rate holds whatever the latency is.
-- done() prints one line "SOAK key=value ..." that tests/soak/run reads.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local wr = require "writers" -- the writes, as bench/lua/writes.lua makes them
local ffi = require "ffi"
ffi.cdef [[
struct soak_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct soak_timespec *tp);
]]
local ts = ffi.new("struct soak_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads, counter = {}, 0
local data = os.getenv("SOAK_DATA")
local function lines(name)
    local t = {}
    for line in io.lines(data .. "/" .. name) do
        if line ~= "" then t[#t + 1] = line end
    end
    return t
end

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    table.insert(threads, thread)
end

local licensee, admin, writers, queue, nfac
local interval, next_at = 0, 0
function init(args)
    s5xx, sbad, sreq = 0, 0, 0
    local tid = tonumber(wrk.thread:get("tid")) or 1
    math.randomseed((tonumber(os.getenv("SOAK_SEED")) or 42) * 1000 + tid)
    nfac = tonumber(os.getenv("SOAK_NFAC"))
    licensee = lines("tokens_licensee.txt")
    admin = lines("tokens_admin.txt")
    writers, queue = wr.load(lines("writers.txt")), {}
    local rate = tonumber(os.getenv("SOAK_RATE")) or 0
    local nthreads = tonumber(os.getenv("SOAK_THREADS")) or 1
    if rate > 0 then interval = 1000 * nthreads / rate end
end

function delay()
    if interval == 0 then return 0 end
    local now = now_ms()
    if next_at < now - 1000 then next_at = now end -- never burst to catch up more than 1 s
    local at = next_at
    next_at = next_at + interval
    return math.max(0, math.floor(at - now))
end

function request()
    local r = math.random(1, 100)
    if r <= 20 then
        return wr.request(writers, queue)
    elseif r <= 60 then
        return wrk.format("GET", string.format("/v1/public/facilitators/MPF-%06d",
                                               math.random(1, math.floor(nfac * 1.1))))
    elseif r <= 80 then
        return wrk.format("GET", string.format("/v1/facilitators/MPF-%06d", math.random(1, nfac)),
                          {["Authorization"] = "Bearer " .. licensee[math.random(1, #licensee)]})
    elseif r <= 95 then
        return wrk.format("GET", "/v1/organisations?kind=charity&limit=20",
                          {["Authorization"] = "Bearer " .. admin[math.random(1, #admin)]})
    end
    return wrk.format("GET", "/healthz")
end

function response(status, headers, body)
    sreq = sreq + 1
    if status >= 500 then
        s5xx = s5xx + 1
    elseif status >= 300 and status ~= 404 then
        sbad = sbad + 1
    end
    wr.response(writers, queue, status, headers, body, 1000)
end

function done(summary, latency, requests)
    local s5, bad = 0, 0
    for _, t in ipairs(threads) do
        s5 = s5 + (t:get("s5xx") or 0)
        bad = bad + (t:get("sbad") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "SOAK requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
        "socket_errors=%d http_5xx=%d unexpected_non2xx=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
        e.connect + e.read + e.write + e.timeout, s5, bad))
end
