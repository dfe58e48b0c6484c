-- Authenticated list: a page of charities, as the licensing body's admins see it.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local tokens
function init(args) c.init_thread(); tokens = c.data("tokens_admin.txt") end
function request()
    return wrk.format("GET", "/v1/organisations?kind=charity&limit=20",
                      {["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]})
end
