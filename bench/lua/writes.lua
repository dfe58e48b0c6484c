-- Writes: org_admins schedule programme runs (POST /v1/programmes) that the licensing rules
-- accept, and each run created is then changed once (PATCH with If-Match: the ETag of the POST):
-- planned -> recruiting with two families enrolled (writers.lua). writers.txt is prepared by
-- bench/run from bench_writer.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
local wr = require "writers"
c.install()
local writers, queue = {}, {}
function init(args)
    c.init_thread()
    writers = wr.load(c.data("writers.txt"))
end
function request()
    return wr.request(writers, queue)
end
function response(status, headers, body)
    c.count(status)
    wr.response(writers, queue, status, headers, body)
end
