-- common.lua: shared by the wrk scenario scripts. Counts answers by status in every thread and,
-- in done(), prints one line "BENCHJSON {...}" that bench/run reads: requests/s, p50, p99 (ms),
-- socket errors, 5xx, non-2xx, and the statuses a scenario declared as expected.
local M = {}
local threads = {}
local counter = 0

function M.readlines(path)
    local t = {}
    for line in io.lines(path) do
        if line ~= "" then t[#t + 1] = line end
    end
    return t
end

function M.data(name)
    return M.readlines(os.getenv("BENCH_DATA") .. "/" .. name)
end

-- expected: a table of statuses (e.g. {[404] = true}) that count as correct answers.
function M.install(expected)
    expected = expected or {}
    function setup(thread)
        counter = counter + 1
        thread:set("tid", counter)
        table.insert(threads, thread)
    end
    function M.count(status)
        if status >= 500 then
            s5xx = s5xx + 1
        elseif status >= 300 then
            if expected[status] then sexp = sexp + 1 else sbad = sbad + 1 end
        end
    end
    if response == nil then
        function response(status, headers, body)
            M.count(status)
        end
    end
    function done(summary, latency, requests)
        local s5, bad, ex = 0, 0, 0
        for _, t in ipairs(threads) do
            s5 = s5 + (t:get("s5xx") or 0)
            bad = bad + (t:get("sbad") or 0)
            ex = ex + (t:get("sexp") or 0)
        end
        local e = summary.errors
        local sock = e.connect + e.read + e.write + e.timeout
        io.write(string.format(
            'BENCHJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
            '"socket_errors":%d,"http_5xx":%d,"unexpected_non2xx":%d,"expected_non2xx":%d,' ..
            '"wrk_non2xx":%d}\n',
            summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
            latency:percentile(50) / 1000, latency:percentile(99) / 1000, sock, s5, bad, ex,
            e.status))
    end
end

-- Per-thread state, initialised in init().
function M.init_thread()
    s5xx, sbad, sexp = 0, 0, 0
    local tid = tonumber(wrk.thread:get("tid")) or 1
    math.randomseed((tonumber(os.getenv("BENCH_SEED")) or 42) * 1000 + tid)
    return tid
end

return M
