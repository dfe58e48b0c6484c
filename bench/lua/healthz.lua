package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
function init(args) c.init_thread() end
function request() return wrk.format("GET", "/healthz") end
