-- Writes: org_admins schedule programme runs (POST /v1/programmes) that the licensing rules
-- accept, and each run created is then changed once (PATCH with If-Match: the ETag of the POST):
-- planned -> recruiting with two families enrolled. writers.txt: email TAB token TAB location TAB
-- facilitator1,facilitator2 (prepared by bench/run from bench_writer).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local writers, queue = {}, {}
function init(args)
    c.init_thread()
    for _, line in ipairs(c.data("writers.txt")) do
        local email, token, loc, facs = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
        local f1, f2 = facs:match("^([^,]+),([^,]+)$")
        writers[#writers + 1] = {token = token, loc = loc, f1 = f1, f2 = f2}
    end
end
local function day(offset)
    return os.date("!%Y-%m-%d", os.time() + offset * 86400)
end
function request()
    local job = table.remove(queue, 1)
    if job then
        return wrk.format("PATCH", job.path,
                          {["Authorization"] = "Bearer " .. job.token,
                           ["Content-Type"] = "application/json", ["If-Match"] = job.etag},
                          '{"status":"recruiting","families_enrolled":2}')
    end
    local w = writers[math.random(1, #writers)]
    local start = math.random(30, 300)
    local body = string.format(
        '{"location_id":"%s","variant":"standard","starts_on":"%s","ends_on":"%s",' ..
        '"weekday":"tuesday","start_time":"10:00","capacity_families":8,' ..
        '"facilitator_ids":["%s","%s"]}', w.loc, day(start), day(start + 70), w.f1, w.f2)
    return wrk.format("POST", "/v1/programmes",
                      {["Authorization"] = "Bearer " .. w.token,
                       ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
    c.count(status)
    if status == 201 then
        local loc, etag = headers["Location"], headers["ETag"]
        if loc and etag then
            local path = loc:match("(/v1/programmes/[0-9a-fA-F-]+)")
            -- The token: any writer of the same organisation; the run's location says which.
            local id = body:match('"location_id"%s*:%s*"([0-9a-f-]+)"')
            for _, w in ipairs(writers) do
                if w.loc == id then
                    queue[#queue + 1] = {path = path, etag = etag, token = w.token}
                    break
                end
            end
        end
    end
end
