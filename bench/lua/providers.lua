-- Find a provider: random postcodes from a seeded sample of the loaded postcode table.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local pcs
function init(args) c.init_thread(); pcs = c.data("postcodes.txt") end
function request()
    local pc = pcs[math.random(1, #pcs)]:gsub(" ", "%%20")
    return wrk.format("GET", "/v1/public/providers?postcode=" .. pc)
end
