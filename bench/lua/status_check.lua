-- Licensee status check, bulk: POST /v1/facilitators/status-check with 100 random numbers
-- (about 5% unknown; they come back as not_found in a 200).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local tokens, n
function init(args) c.init_thread(); tokens = c.data("tokens_licensee.txt"); n = tonumber(os.getenv("BENCH_NFAC")) end
function request()
    local nums = {}
    for i = 1, 100 do
        nums[i] = string.format('"MPF-%06d"', math.random(1, math.floor(n * 1.05)))
    end
    return wrk.format("POST", "/v1/facilitators/status-check",
                      {["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)],
                       ["Content-Type"] = "application/json"},
                      '{"registration_numbers":[' .. table.concat(nums, ",") .. ']}')
end
