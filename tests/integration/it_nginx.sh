#!/usr/bin/env bash
# it_nginx.sh: deploy/nginx/mpact-registry.conf, end to end. Renders the shipped site into a
# temporary prefix (each line marked "# mpact:NAME" replaced by its loopback value), checks it
# with `nginx -t`, runs nginx as this user on loopback high ports (pid, logs and temp files in
# the prefix; never a system service, never port 80/443) in front of a real mpact-registry, and
# checks over HTTPS with a self-signed certificate made here:
#   - /healthz answers through nginx, with HSTS; plain HTTP redirects to HTTPS;
#   - the caller's X-Request-Id comes back and reaches the service;
#   - a request framed twice (Content-Length and Transfer-Encoding) is refused by nginx and never
#     reaches the service;
#   - the service sees each client's own address (X-Forwarded-For from nginx): the per-client
#     rate limit counts two source addresses apart, and a forged X-Forwarded-For changes nothing;
#   - /metrics is refused through the proxy but answers a direct local scrape;
#   - problem pages come from static/ through nginx with a long cache lifetime;
#   - front-end assets come from the built static folder: content-hashed names immutable for a
#     year, plain names revalidated, the build's .gz sent to a client that accepts gzip;
#   - 128 idle sockets, 128 TLS handshakes and 128 plain-HTTP request heads at 1 byte a second
#     from 127.0.0.1 (sockflood) leave another client's /healthz and register lookup answered
#     within 200 ms (all but one of 12, and each within 1 s), and nginx closes them all at its
#     5 s client_header_timeout (measured);
#   - limit_conn: one address may have as many requests in progress as the HTTPS server's
#     limit_conn (16) and no more: the next is answered limit_conn_status (429) by nginx and never
#     reaches the service, while another client's /healthz answers 200 within 1 s.
# Run by ctest with IT_PG_DIR (the test cluster), MPACT_BIN and IT_SOURCE_DIR.
set -euo pipefail

# shellcheck source=tests/integration/itlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/itlib.sh"
db="it_nginx_$$"
work=$(mktemp -d /tmp/it_nginx.XXXXXX)
nginx_pid=""
server_pid=""

fail()
{
    echo "FAIL: $*" >&2
    for f in "$work/server.log" "$work/logs/error.log"; do
        if [[ -f "$f" ]]; then
            echo "---- last lines of $f ----" >&2
            tail -n 20 "$f" >&2 || true
        fi
    done
    exit 1
}

psqlc()
{
    psql --no-psqlrc -X -At -v ON_ERROR_STOP=1 "$@"
}

stop_pid()
{
    local pid="$1" sig="$2" i
    [[ -n "$pid" ]] || return 0
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup()
{
    stop_pid "$nginx_pid" QUIT
    stop_pid "$server_pid" TERM
    psqlc "$conninfo dbname=postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

command -v nginx >/dev/null || fail "nginx is not installed (deploy/dev.sh installs nginx-light)"
command -v openssl >/dev/null || fail "openssl is not installed"

# A port nothing listens on now (the start below still retries when another process wins it).
free_port()
{
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

# Waits until `curl ARGS` succeeds (up to 30 s).
wait_for()
{
    local i
    for ((i = 0; i < 300; i++)); do
        if curl -s -o /dev/null "$@" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ---- The service ------------------------------------------------------------------------------
psqlc "$conninfo dbname=postgres" -c "CREATE DATABASE $db TEMPLATE registry_template" >/dev/null
"$bin" keygen "$work/keys" >/dev/null
export REGISTRY_DATABASE_URL="$conninfo dbname=$db"
export REGISTRY_JWT_KEY_DIR="$work/keys"
export REGISTRY_STATIC_DIR="$src/static"
export REGISTRY_TRUSTED_PROXY=127.0.0.1
export REGISTRY_PUBLIC_RATE_LIMIT=3
for attempt in 1 2 3 4 5; do
    sport=$(free_port)
    REGISTRY_LISTEN="127.0.0.1:$sport" "$bin" serve >"$work/server.log" 2>&1 &
    server_pid=$!
    if wait_for "http://127.0.0.1:$sport/healthz"; then
        break
    fi
    stop_pid "$server_pid" TERM
    server_pid=""
done
[[ -n "$server_pid" ]] || fail "the service did not start"

# ---- nginx ------------------------------------------------------------------------------------
mkdir -p "$work/logs" "$work/tmp" "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>/dev/null \
    || fail "openssl could not make a certificate"

# Replaces each marked line of the site by NAME (an empty value drops the line).
render_site()
{
    local http_port="$1" https_port="$2"
    awk -v up="server 127.0.0.1:$sport;" \
        -v lh="listen 127.0.0.1:$http_port;" \
        -v ls="listen 127.0.0.1:$https_port ssl http2;" \
        -v sn="server_name localhost;" \
        -v crt="ssl_certificate $work/tls/cert.pem;" \
        -v key="ssl_certificate_key $work/tls/key.pem;" \
        -v prob="alias $src/static/problems/;" \
        -v assets="alias ${IT_STATIC_DIR:-$src/static}/assets/;" '
        match($0, /# mpact:[a-z0-9-]+/) {
            name = substr($0, RSTART + 8, RLENGTH - 8)
            indent = $0
            sub(/[^ ].*$/, "", indent)
            v["upstream"] = up; v["listen-http"] = lh; v["listen-https"] = ls
            v["listen-http6"] = ""; v["listen-https6"] = ""; v["server-name"] = sn
            v["certificate"] = crt; v["certificate-key"] = key; v["problems-dir"] = prob
            v["assets-dir"] = assets
            if (!(name in v)) { print "unknown marker " name > "/dev/stderr"; exit 3 }
            if (v[name] != "") { print indent v[name] }
            seen[name] = 1
            next
        }
        { print }
        END { n = 0; for (k in seen) n++; if (n != 10) { print "markers seen: " n > "/dev/stderr"; exit 4 } }
    ' "$src/deploy/nginx/mpact-registry.conf" >"$work/site.conf"
    cat >"$work/nginx.conf" <<EOF
# Written by it_nginx.sh: the shipped site inside a private prefix.
user $(id -un);
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; } # Debian's nginx.conf has 768; the floods below need 300
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $work/logs/access.log;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    include $work/site.conf;
}
EOF
}

for attempt in 1 2 3 4 5; do
    hport=$(free_port)
    tport=$(free_port)
    [[ "$hport" != "$tport" ]] || continue
    render_site "$hport" "$tport" || fail "the site did not render"
    # The file must be an nginx configuration in its own right, as shipped.
    nginx -t -q -p "$work" -c "$work/nginx.conf" 2>"$work/nginx-t.log" \
        || { cat "$work/nginx-t.log" >&2; fail "nginx -t rejects the rendered site"; }
    nginx -p "$work" -c "$work/nginx.conf" -g "daemon off;" 2>>"$work/logs/error.log" &
    nginx_pid=$!
    if wait_for -k "https://127.0.0.1:$tport/healthz"; then
        break
    fi
    stop_pid "$nginx_pid" QUIT
    nginx_pid=""
done
[[ -n "$nginx_pid" ]] || fail "nginx did not start"
base="https://127.0.0.1:$tport"

# ---- Checks -----------------------------------------------------------------------------------
# /healthz end to end, with HSTS.
headers=$(curl -sk -D - -o "$work/body" "$base/healthz")
grep -q '^HTTP/[0-9.]* 200' <<<"$headers" || fail "/healthz through nginx: $headers"
grep -q '"status":"ok"' "$work/body" || fail "/healthz body: $(cat "$work/body")"
grep -qi '^strict-transport-security: max-age=[0-9]' <<<"$headers" || fail "no HSTS: $headers"
echo "ok: /healthz over HTTPS through nginx, with HSTS"

# Plain HTTP goes to HTTPS.
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$hport/healthz")
[[ "$code" == "301 https://"*"/healthz" ]] || fail "plain HTTP: $code"
echo "ok: plain HTTP redirects to HTTPS"

# The caller's request id comes back and reaches the service.
rid="it-nginx-$$-rid"
headers=$(curl -sk -D - -o /dev/null -H "X-Request-Id: $rid" "$base/healthz")
grep -qi "^x-request-id: $rid"$'\r'"\?$" <<<"$headers" || fail "X-Request-Id not passed back: $headers"
grep -q "$rid" "$work/server.log" || fail "the service never saw request id $rid"
# Without one, nginx makes one up and the service uses it.
headers=$(curl -sk -D - -o /dev/null "$base/healthz")
gen=$(grep -i '^x-request-id:' <<<"$headers" | tr -d '\r' | awk '{print $2}')
[[ -n "$gen" ]] && grep -q "$gen" "$work/server.log" || fail "no request id made by nginx: $headers"
echo "ok: X-Request-Id passed through both ways"

# Content-Length and Transfer-Encoding together: nginx refuses, the service never sees it.
smuggle="it-nginx-$$-smuggle"
answer=$(printf 'POST /v1/auth/token HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: %s\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n' "$smuggle" \
    | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$tport" -servername localhost 2>/dev/null \
    | head -n 1 || true)
[[ "$answer" == "HTTP/1.1 400"* ]] || fail "CL+TE not refused by nginx: '$answer'"
sleep 0.2
! grep -q "$smuggle" "$work/server.log" || fail "a CL+TE request reached the service"
echo "ok: a request with both Content-Length and Transfer-Encoding is refused by nginx"

# The service limits each client by the address nginx saw (3 a minute on the open routes).
open_get()
{
    curl -sk -o /dev/null -w '%{http_code}' --interface "$1" "${@:2}" "$base/openreferral/"
}
for i in 1 2 3; do
    code=$(open_get 127.0.0.5)
    [[ "$code" == 200 ]] || fail "request $i from 127.0.0.5: $code"
done
code=$(open_get 127.0.0.5)
[[ "$code" == 429 ]] || fail "4th request from 127.0.0.5 not limited: $code"
code=$(open_get 127.0.0.5 -H "X-Forwarded-For: 127.0.0.77")
[[ "$code" == 429 ]] || fail "a forged X-Forwarded-For escaped the limit: $code"
code=$(open_get 127.0.0.6)
[[ "$code" == 200 ]] || fail "127.0.0.6 was limited with 127.0.0.5: $code"
echo "ok: the service rate-limits the real client address behind nginx"

# /metrics: refused through the proxy (the peer is nginx), answered to a direct local scrape.
code=$(curl -sk -o /dev/null -w '%{http_code}' "$base/metrics")
[[ "$code" == 404 ]] || fail "/metrics through nginx: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sport/metrics")
[[ "$code" == 200 ]] || fail "/metrics direct: $code"
echo "ok: /metrics only directly"

# Problem pages are files served by nginx, cached for long.
headers=$(curl -sk -D - -o "$work/body" "$base/problems/validation")
grep -q '^HTTP/[0-9.]* 200' <<<"$headers" || fail "/problems/validation: $headers"
grep -qi '^cache-control: max-age=604800' <<<"$headers" || fail "no long cache lifetime: $headers"
cmp -s "$work/body" "$src/static/problems/validation.html" || fail "problem page differs from static/"
! grep -q ' /problems/validation ' "$work/server.log" || fail "the problem page went to the service"
echo "ok: problem pages come from static/ through nginx"

# Front-end assets too, from the built static folder and never through the service, cached as the
# service caches them (server/static.c) and precompressed (the .gz the build writes):
#   - a plain name: "public, no-cache" (kept, revalidated: 304 on its ETag), no Content-Encoding
#     without Accept-Encoding;
#   - the content-hashed name the pages link to (asset-names.json): a year, immutable; with
#     Accept-Encoding: gzip the .gz's bytes with Content-Encoding: gzip and Vary: Accept-Encoding;
#   - a hashed name that is not the file's: 404, and not cached for a year;
#   - /openapi.json (the service's, not an asset): not immutable.
if [[ -n "${IT_STATIC_DIR:-}" && -f "$IT_STATIC_DIR/asset-names.json" ]]; then
    headers=$(curl -sk -D - -o "$work/body" "$base/assets/app.css")
    grep -q '^HTTP/[0-9.]* 200' <<<"$headers" || fail "/assets/app.css: $headers"
    grep -qi '^content-type: text/css; charset=utf-8' <<<"$headers" || fail "app.css content type: $headers"
    grep -qi '^cache-control: public, no-cache'$'\r''\?$' <<<"$headers" || fail "app.css (plain name) cache: $headers"
    ! grep -qi '^content-encoding:' <<<"$headers" || fail "app.css compressed unasked: $headers"
    grep -qi '^strict-transport-security: max-age=[0-9]' <<<"$headers" || fail "no HSTS on an asset: $headers"
    cmp -s "$work/body" "$IT_STATIC_DIR/assets/app.css" || fail "app.css differs from the build"
    etag=$(grep -i '^etag:' <<<"$headers" | tr -d '\r' | cut -d' ' -f2-)
    [[ -n "$etag" ]] || fail "app.css has no ETag: $headers"
    code=$(curl -sk -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/assets/app.css")
    [[ "$code" == 304 ]] || fail "app.css with If-None-Match its ETag: $code"

    hashed=$(sed -n 's|^ *"/assets/app\.css": *"\(/assets/app\.[0-9a-f]\{8\}\.css\)".*|\1|p' \
        "$IT_STATIC_DIR/asset-names.json")
    [[ -n "$hashed" && -f "$IT_STATIC_DIR$hashed.gz" ]] || fail "no hashed app.css with a .gz in the build"
    headers=$(curl -sk -D - -o "$work/body" "$base$hashed")
    grep -q '^HTTP/[0-9.]* 200' <<<"$headers" || fail "$hashed: $headers"
    grep -qi '^cache-control: public, max-age=31536000, immutable'$'\r''\?$' <<<"$headers" \
        || fail "$hashed (hashed name) not immutable for a year: $headers"
    cmp -s "$work/body" "$IT_STATIC_DIR/assets/app.css" || fail "$hashed differs from app.css"
    headers=$(curl -sk -D - -o "$work/body" -H 'Accept-Encoding: gzip' "$base$hashed")
    grep -qi '^content-encoding: gzip' <<<"$headers" || fail "$hashed not gzip with Accept-Encoding: $headers"
    grep -qi '^vary: accept-encoding' <<<"$headers" || fail "$hashed has no Vary: Accept-Encoding: $headers"
    grep -qi '^cache-control: public, max-age=31536000, immutable' <<<"$headers" \
        || fail "$hashed (gzip) not immutable: $headers"
    cmp -s "$work/body" "$IT_STATIC_DIR$hashed.gz" || fail "$hashed (gzip) is not the build's .gz"
    gzip -dc "$work/body" | cmp -s - "$IT_STATIC_DIR/assets/app.css" || fail "$hashed.gz does not unpack to app.css"
    plain_size=$(stat -c %s "$IT_STATIC_DIR/assets/app.css")
    gz_size=$(stat -c %s "$work/body")
    # A module's hashed name too (the pages' scripts), compressed the same way.
    mod=$(sed -n 's|^ *"/assets/js/[^"]*\.mjs": *"\(/assets/js/[^"]*\.[0-9a-f]\{8\}\.mjs\)".*|\1|p' \
        "$IT_STATIC_DIR/asset-names.json" | head -n 1)
    [[ -n "$mod" ]] || fail "no hashed module in asset-names.json"
    headers=$(curl -sk -D - -o /dev/null -H 'Accept-Encoding: gzip, deflate, br' "$base$mod")
    grep -qi '^cache-control: public, max-age=31536000, immutable' <<<"$headers" || fail "$mod: $headers"
    # The type the service gives (Debian's mime.types knows no .mjs; a module of another type
    # is refused by the browser).
    grep -qi '^content-type: text/javascript; charset=utf-8' <<<"$headers" || fail "$mod content type: $headers"
    if [[ -f "$IT_STATIC_DIR$mod.gz" ]]; then
        grep -qi '^content-encoding: gzip' <<<"$headers" || fail "$mod not gzip: $headers"
    fi

    fake=$(sed 's/\.[0-9a-f]\{8\}\.css$/.00000000.css/' <<<"$hashed")
    [[ "$fake" != "$hashed" ]] || fake=${hashed/.css/.0.css}
    headers=$(curl -sk -D - -o /dev/null "$base$fake")
    grep -q '^HTTP/[0-9.]* 404' <<<"$headers" || fail "$fake (not the file's hash): $headers"
    ! grep -qi '^cache-control:.*immutable' <<<"$headers" || fail "a 404 is cached as immutable: $headers"

    headers=$(curl -sk -D - -o /dev/null -H 'Accept-Encoding: gzip' "$base/openapi.json")
    grep -q '^HTTP/[0-9.]* 200' <<<"$headers" || fail "/openapi.json through nginx: $headers"
    ! grep -qi '^cache-control:.*immutable' <<<"$headers" || fail "/openapi.json is immutable: $headers"
    grep -qi '^cache-control: public, max-age=300' <<<"$headers" || fail "/openapi.json cache: $headers"

    ! grep -q ' /assets/app' "$work/server.log" || fail "an asset went to the service"
    echo "ok: assets through nginx: plain names revalidated, $hashed immutable for a year and gzip ($gz_size of $plain_size bytes)"
else
    echo "ok: no built front end (WEB_ASSETS=OFF): assets not checked"
fi

# ---- Idle and slowloris sockets (issue 13, item 2) ------------------------------------------
flood=${SOCKFLOOD:?}
# One probe from $1 (curl's --interface) to path $2: prints "<status> <ms>".
probe()
{
    curl -sk -o /dev/null -m 2 --interface "$1" -w '%{http_code} %{time_total}' "$base$2" \
        | awk '{ printf "%s %d", $1, $2 * 1000 }'
}
# Floods nginx's port $1 from 127.0.0.1 with 128 sockets of kind $2 while another client probes,
# then checks nginx closed every one at client_header_timeout (5 s).
flood_check()
{
    local port="$1" kind="$2" out="$work/flood_$2" i answer worst=0 slow=0
    "$flood" 127.0.0.1 127.0.0.1 "$port" 128 "$kind" 9 >"$out" &
    local fpid=$!
    sleep 0.5
    # Each probe answers well before the 5 s the flood's sockets are held (a service or nginx
    # stuck behind them would answer at the timeout or not at all), and all but one of the 12
    # within 200 ms: one slow answer is a busy machine (ctest runs tests side by side), not the
    # flood.
    for i in 1 2 3 4 5 6; do
        answer=$(probe 127.0.0.2 /healthz)
        [[ "${answer% *}" == 200 && "${answer#* }" -le 1000 ]] \
            || { kill "$fpid" 2>/dev/null; fail "$kind flood: /healthz from 127.0.0.2: $answer (status ms)"; }
        ((${answer#* } > worst)) && worst=${answer#* }
        ((${answer#* } > 200)) && slow=$((slow + 1))
        # A number not on the register (404); one address each, under the rate limit of 3.
        answer=$(probe "127.0.0.$((20 + i))" /v1/public/facilitators/MPF-000001)
        [[ "${answer% *}" == 404 && "${answer#* }" -le 1000 ]] \
            || { kill "$fpid" 2>/dev/null; fail "$kind flood: register lookup from 127.0.0.$((20 + i)): $answer"; }
        ((${answer#* } > worst)) && worst=${answer#* }
        ((${answer#* } > 200)) && slow=$((slow + 1))
        sleep 0.3
    done
    ((slow <= 1)) || { kill "$fpid" 2>/dev/null; fail "$kind flood: $slow of 12 answers took more than 200 ms (slowest $worst ms)"; }
    wait "$fpid" || fail "sockflood $kind failed: $(cat "$out")"
    # refused=R held=H first_close_ms=F last_close_ms=L open=O connect_failed=C
    local held first last open failed
    held=$(sed -n 's/.* held=\([0-9]*\).*/\1/p' "$out")
    first=$(sed -n 's/.* first_close_ms=\(-\?[0-9]*\).*/\1/p' "$out")
    last=$(sed -n 's/.* last_close_ms=\([0-9]*\).*/\1/p' "$out")
    open=$(sed -n 's/.* open=\([0-9]*\).*/\1/p' "$out")
    failed=$(sed -n 's/.* connect_failed=\([0-9]*\).*/\1/p' "$out")
    [[ "$open" == 0 && "$failed" == 0 ]] || fail "$kind flood: sockets left open by nginx: $(cat "$out")"
    ((first >= 4500 && last <= 6500)) || fail "$kind flood: not closed at the 5 s header timeout: $(cat "$out")"
    echo "ok: 128 $kind sockets: the other client's slowest answer ${worst} ms; nginx closed $held of them after $first..$last ms"
}
flood_check "$tport" idle
flood_check "$tport" tls-trickle
flood_check "$hport" trickle

# ---- limit_conn: requests in progress per client address (issue 13, item 2) ------------------
# The HTTPS server's own limit_conn and limit_conn_status, read from the rendered site (the
# directives at the level of the server block that listens with ssl).
read -r conn_limit conn_status < <(awk '
    { line = $0; sub(/#.*/, "", line) }
    depth == 1 && line ~ /^[ \t]*listen .* ssl/ { tls = 1 }
    depth == 1 && match(line, /^[ \t]*limit_conn mpact_conn [0-9]+;/) { split(line, w, " "); lim = w[3] + 0 }
    depth == 1 && match(line, /^[ \t]*limit_conn_status [0-9]+;/) { split(line, w, " "); st = w[2] + 0 }
    {   # The site opens and closes at most one kind of brace on a line.
        for (o = gsub(/{/, "{", line); o > 0; o--) { if (++depth == 1) { tls = 0; lim = ""; st = "" } }
        for (c = gsub(/}/, "}", line); c > 0; c--) { if (--depth == 0 && tls) { print lim, st; exit } }
    }' "$work/site.conf")
[[ "$conn_limit" =~ ^[0-9]+$ && "$conn_limit" -gt 0 ]] || fail "the HTTPS server sets no limit_conn"
[[ "$conn_status" =~ ^4[0-9][0-9]$ ]] \
    || fail "the HTTPS server's limit_conn_status is '$conn_status', not a 4xx (nginx's default is 503)"
# One request from 127.0.0.9 that stays in progress: its head is read (limit_conn counts it from
# there) and its chunked body never ends, so nginx waits on the body (client_body_timeout) and
# the service never sees it. Its stdin is a FIFO nobody writes to.
mkfifo "$work/hold.fifo"
exec 7<>"$work/hold.fifo"
hold_pids=()
hold()
{
    curl -sk --http1.1 --interface 127.0.0.9 -m 60 -H 'Expect:' -H 'Content-Type: application/json' \
        -H "X-Request-Id: it-nginx-$$-hold" -T - -o /dev/null "$base/v1/auth/token" \
        <"$work/hold.fifo" &
    hold_pids+=($!)
}
# Waits until $1 connections from 127.0.0.9 to nginx are established, then a little longer for
# their request heads.
held()
{
    local i
    for ((i = 0; i < 100; i++)); do
        if (($(ss -tnH state established "( dport = :$tport and src 127.0.0.9 )" 2>/dev/null \
            | wc -l) >= $1)); then
            sleep 0.5
            return 0
        fi
        sleep 0.1
    done
    return 1
}
release()
{
    local p
    for p in "${hold_pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    hold_pids=()
}
for ((i = 1; i < conn_limit; i++)); do
    hold
done
held $((conn_limit - 1)) || { release; fail "limit_conn: $((conn_limit - 1)) requests could not be opened"; }
# The limit is not reached yet: one more request from the same address is answered.
answer=$(probe 127.0.0.9 /healthz)
[[ "${answer% *}" == 200 ]] \
    || { release; fail "limit_conn: request $conn_limit from 127.0.0.9 (limit $conn_limit): $answer"; }
hold
held "$conn_limit" || { release; fail "limit_conn: $conn_limit requests could not be opened"; }
for p in "${hold_pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { release; fail "limit_conn: a held request ended early"; }
done
# Now it is: nginx answers limit_conn_status itself, and the service never sees the request.
over="it-nginx-$$-over"
code=$(curl -sk -o /dev/null -m 2 --interface 127.0.0.9 -H "X-Request-Id: $over" \
    -w '%{http_code}' "$base/healthz")
[[ "$code" == "$conn_status" ]] \
    || { release; fail "limit_conn: request $((conn_limit + 1)) from 127.0.0.9: $code, not $conn_status"; }
# Another client is not limited with it: answered 200, and promptly (within 1 s: a limited one
# would be refused at once, a service held by 127.0.0.9's requests would wait for them).
answer=$(probe 127.0.0.2 /healthz)
[[ "${answer% *}" == 200 && "${answer#* }" -le 1000 ]] \
    || { release; fail "limit_conn: /healthz from 127.0.0.2 while 127.0.0.9 is at the limit: $answer"; }
other_ms=${answer#* }
sleep 0.2
! grep -q "$over" "$work/server.log" || { release; fail "limit_conn: the refused request reached the service"; }
release
exec 7>&-
# Once they end, the address is answered again.
for ((i = 0; i < 50; i++)); do
    answer=$(probe 127.0.0.9 /healthz)
    [[ "${answer% *}" == 200 ]] && break
    sleep 0.1
done
[[ "${answer% *}" == 200 ]] || fail "limit_conn: 127.0.0.9 still limited after its requests ended: $answer"
! grep -q "it-nginx-$$-hold" "$work/server.log" || fail "limit_conn: a held request reached the service"
echo "ok: limit_conn: $conn_limit requests in progress from one address, the next gets $conn_status from nginx; another client's /healthz ${other_ms} ms"

echo "PASS"
