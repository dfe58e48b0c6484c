-- Sign-in: the password grant for random generated users (bounded by the password hash).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local nuser, pw
function init(args) c.init_thread(); nuser = tonumber(os.getenv("BENCH_NUSER")); pw = os.getenv("BENCH_PASSWORD") end
function request()
    return wrk.format("POST", "/v1/auth/token", {["Content-Type"] = "application/json"},
                      string.format('{"email":"user%d@bench.example","password":"%s"}',
                                    math.random(51, nuser), pw))
end
