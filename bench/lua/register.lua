-- Public register lookup: random registration numbers, about 9% of them unknown (404 expected;
-- in-training facilitators are not on the register either, also 404).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install({[404] = true})
local n
function init(args) c.init_thread(); n = tonumber(os.getenv("BENCH_NFAC")) end
function request()
    return wrk.format("GET", string.format("/v1/public/facilitators/MPF-%06d",
                                           math.random(1, math.floor(n * 1.1))))
end
