-- Licensee status check, single: GET /v1/facilitators/{number} with the ES256 tokens of several
-- licensee users (org_admin and org_staff), known numbers only. A facilitator still in training is
-- not in a licensee's view (404, expected: about 15 % of the generated ones).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install({[404] = true})
local tokens, n
function init(args) c.init_thread(); tokens = c.data("tokens_licensee.txt"); n = tonumber(os.getenv("BENCH_NFAC")) end
function request()
    return wrk.format("GET", string.format("/v1/facilitators/MPF-%06d", math.random(1, n)),
                      {["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]})
end
