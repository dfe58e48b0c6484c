-- The delivery report (issue 16) as the licensing body asks for it: GET /v1/reports/delivery with
-- the query in BENCH_DELIVERY_QUERY (bench/run: a year, nationally or for one local authority),
-- with 4 admin tokens.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local tokens
local path = "/v1/reports/delivery?" .. (os.getenv("BENCH_DELIVERY_QUERY") or "")
function init(args) c.init_thread(); tokens = c.data("tokens_admin.txt") end
function request()
    return wrk.format("GET", path,
                      {["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]})
end
