-- Ask about a place: POST /v1/public/enquiries (JSON) for a random site of enquiry_sites.txt
-- (sites on the finder whose organisation takes enquiries by e-mail; bench/run prepares it), as
-- a parent asking with an e-mail address for the reply. Every accepted enquiry is sealed into the
-- outbox, which the server's worker drains to the loopback SMTP receiver.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.install()
local sites
function init(args)
    c.init_thread()
    sites = c.data("enquiry_sites.txt")
end
function request()
    local body = string.format('{"site_id":"%s","who":"self","name":"Bench Parent",' ..
        '"relationship":"parent","email":"parent@bench.example","message":"Is there a place ' ..
        'in your next group? We live nearby and can come on weekday evenings.","consent":true}',
        sites[math.random(1, #sites)])
    return wrk.format("POST", "/v1/public/enquiries", {["Content-Type"] = "application/json"}, body)
end
