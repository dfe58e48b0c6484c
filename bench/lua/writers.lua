-- writers.lua: the programme-run writes that bench/lua/writes.lua and tests/soak/mix.lua share.
-- An org_admin schedules a run the licensing rules accept (POST /v1/programmes), and each run
-- created is then changed once (PATCH with If-Match: the ETag of the POST): planned ->
-- recruiting with two families enrolled. writers.txt lines: email TAB token TAB location TAB
-- facilitator1,facilitator2.
local M = {}

-- The writers of the lines of writers.txt.
function M.load(lines)
    local writers = {}
    for _, line in ipairs(lines) do
        local _, token, loc, facs = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
        local f1, f2 = facs:match("^([^,]+),([^,]+)$")
        writers[#writers + 1] = {token = token, loc = loc, f1 = f1, f2 = f2}
    end
    return writers
end

local function day(offset)
    return os.date("!%Y-%m-%d", os.time() + offset * 86400)
end

-- The next write: the PATCH of a run waiting in `queue`, or else a new run by a random writer.
function M.request(writers, queue)
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

-- After an answer: a run just created (201) joins `queue` for its PATCH, with the token of a
-- writer of the same organisation (the run's location says which), while the queue is shorter
-- than `cap` (nil: no limit).
function M.response(writers, queue, status, headers, body, cap)
    if status ~= 201 or (cap and #queue >= cap) then return end
    local loc, etag = headers["Location"], headers["ETag"]
    if not (loc and etag) then return end
    local path = loc:match("(/v1/programmes/[0-9a-fA-F-]+)")
    local id = body:match('"location_id"%s*:%s*"([0-9a-f-]+)"')
    for _, w in ipairs(writers) do
        if w.loc == id then
            queue[#queue + 1] = {path = path, etag = etag, token = w.token}
            break
        end
    end
end

return M
