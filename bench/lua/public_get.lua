-- An open GET route (issue 19's scenarios): BENCH_GET_PATH is the path, with "%s" replaced by a
-- random line of BENCH_GET_DATA (a file in the data directory: postcodes or outward codes) when
-- that is set; spaces are sent as %20.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local path, lines
function init(args)
    c.init_thread()
    path = os.getenv("BENCH_GET_PATH")
    local data = os.getenv("BENCH_GET_DATA")
    if data ~= nil and data ~= "" then lines = c.data(data) end
end
function request()
    if lines == nil then return wrk.format("GET", path) end
    local v = lines[math.random(1, #lines)]:gsub(" ", "%%20")
    return wrk.format("GET", (path:gsub("%%s", function() return v end)))
end
