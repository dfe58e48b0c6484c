#!/usr/bin/env bash
# dev.sh: the two commands of the README.
#
#   deploy/dev.sh serve   install what is missing, build, start a private PostgreSQL in .local/pg,
#                         migrate, load the demo data (prints the demo accounts) and serve on
#                         http://localhost:8080 (REGISTRY_LISTEN overrides).
#   deploy/dev.sh test    install what is missing, build build/ and build-asan/ (AddressSanitizer
#                         + UBSan), and run every test through ctest in both; then build every
#                         CMake build type once (build-debug/, build-release/, ...), tests
#                         included, without running them.
#
# The demo accounts' password is made once and kept in .local/demo-password; every serve seeds
# the accounts with it again and prints it (export REGISTRY_DEMO_PASSWORD to choose another).
#
# Stop the private PostgreSQL with: tests/integration/pg.sh stop .local/pg
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

JOBS="${JOBS:-2}"
PACKAGES=(
    build-essential cmake pkg-config
    libcivetweb-dev libjansson-dev libjwt-dev libpq-dev libcrypt-dev libssl-dev
    libcmocka-dev libcurl4-openssl-dev
    postgresql-15 postgresql-contrib
    valgrind curl ca-certificates clang-format-14
    nginx-light openssl
    chromium fonts-liberation systemd poppler-utils
    python3 # tests/integration/smtp_sink.py, the SMTP receiver of it.enquiries (stdlib only)
)

say()
{
    printf '==> %s\n' "$*" >&2
}

usage()
{
    cat >&2 <<'EOF'
usage: deploy/dev.sh serve   build, start a private PostgreSQL, migrate, seed the demo data and
                             serve on http://localhost:8080
       deploy/dev.sh test    build (plain and sanitizer builds) and run every test with ctest
EOF
    exit 2
}

install_packages()
{
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
            missing+=("$p")
        fi
    done
    # Node.js and npm only when there are none: a machine may have them from elsewhere (the
    # NodeSource nodejs package includes npm, and Debian's npm package would conflict with it).
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        missing+=(nodejs npm)
    fi
    if [[ ${#missing[@]} -eq 0 ]]; then
        return
    fi
    say "installing ${missing[*]}"
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "dev.sh: missing packages: ${missing[*]}; install them as root (apt-get install)" >&2
            exit 1
        fi
    fi
    # The it.nginx test runs its own nginx on loopback; the package must not start the system's
    # on port 80 when installed. A policy-rc.d that refuses every start does that, for this
    # install only, and only when there was none before (then it is ours to remove).
    local policy="" rc=0
    if [[ " ${missing[*]} " == *" nginx-light "* && ! -e /usr/sbin/policy-rc.d ]]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# dev.sh: no service starts while it installs packages\nexit 101\n' \
            | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    if [[ $rc -eq 0 ]]; then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if [[ -n "$policy" ]]; then
        "${sudo[@]}" rm -f "$policy"
    fi
    return $rc
}

# Installs the front-end packages (GOV.UK Frontend, Chart.js, and the browser-test
# tools) exactly as package-lock.json pins them, when node_modules/ does not already hold that
# lock. Install scripts are not run: none of these packages needs one.
install_node_modules()
{
    local want have=""
    want="$(sha256sum package-lock.json | cut -d' ' -f1)"
    if [[ -f node_modules/.mpact-lock ]]; then
        have="$(cat node_modules/.mpact-lock)"
    fi
    if [[ "$want" == "$have" ]]; then
        return
    fi
    say "installing the front-end packages (npm ci)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$want" >node_modules/.mpact-lock
}

# build DIR [CMAKE-ARG...]
build()
{
    local dir="$1"
    shift
    say "building $dir"
    cmake -S "$ROOT" -B "$ROOT/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null || return 1
    cmake --build "$ROOT/$dir" -j"$JOBS"
}

# demo_password FILE: prints the demo accounts' password kept in FILE, making one (16 characters
# of base64url from 12 random bytes, readable by the owner only) when FILE is missing or empty.
demo_password()
{
    local file="$1" pw=""
    if [[ -s "$file" ]]; then
        pw="$(head -n 1 "$file")"
    fi
    if [[ -z "$pw" ]]; then
        pw="$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')"
        mkdir -p "$(dirname -- "$file")"
        (umask 077 && printf '%s\n' "$pw" >"$file")
    fi
    printf '%s\n' "$pw"
}

cmd_serve()
{
    install_packages
    install_node_modules
    build build

    local bin="$ROOT/build/mpact-registry" conninfo keys="$ROOT/.local/keys"
    say "starting the private PostgreSQL in .local/pg"
    conninfo="$(tests/integration/pg.sh start "$ROOT/.local/pg" registry)"

    mkdir -p "$keys"
    chmod 700 "$keys"
    if ! compgen -G "$keys/*.pem" >/dev/null; then
        say "making a signing key in .local/keys"
        "$bin" keygen "$keys" >/dev/null
    fi

    export REGISTRY_DATABASE_URL="$conninfo dbname=registry"
    export REGISTRY_LISTEN="${REGISTRY_LISTEN:-127.0.0.1:8080}"
    export REGISTRY_JWT_KEY_DIR="$keys"
    export REGISTRY_STATIC_DIR="${REGISTRY_STATIC_DIR:-$ROOT/build/static}"

    say "migrating"
    "$bin" migrate
    if [[ -z "${REGISTRY_DEMO_PASSWORD:-}" ]]; then
        REGISTRY_DEMO_PASSWORD="$(demo_password "$ROOT/.local/demo-password")"
        export REGISTRY_DEMO_PASSWORD
        say "the demo password is kept in .local/demo-password"
    fi
    say "loading the demo data"
    "$bin" seed-demo

    local port="${REGISTRY_LISTEN##*:}"
    echo
    echo "Serving on http://localhost:$port   (Ctrl-C stops the server;"
    echo "  tests/integration/pg.sh stop .local/pg stops the private PostgreSQL)"
    exec "$bin" serve
}

# run_ctest DIR: runs every test there; returns ctest's status.
run_ctest()
{
    local dir="$1"
    say "ctest in $dir"
    ctest --test-dir "$ROOT/$dir" --output-on-failure -j"$JOBS"
}

# Every CMake build type must build (warnings are errors in each, and the optimisers of Release
# and MinSizeRel find warnings that the others do not): each in build-<type>/, tests included,
# without the web assets and without running the tests there.
BUILD_TYPES=(Debug Release RelWithDebInfo MinSizeRel)

build_types()
{
    local t dir
    for t in "${BUILD_TYPES[@]}"; do
        dir="build-${t,,}"
        if ! build "$dir" -DCMAKE_BUILD_TYPE="$t" -DWEB_ASSETS=OFF; then
            echo "dev.sh test: FAILED: $dir/ ($t) does not build"
            return 1
        fi
    done
}

cmd_test()
{
    local started=$SECONDS
    install_packages
    install_node_modules
    if ! build build; then
        echo "dev.sh test: FAILED: build/ does not build"
        return 1
    fi
    if ! build build-asan -DSANITIZE=ON; then
        echo "dev.sh test: FAILED: build-asan/ does not build"
        return 1
    fi

    local plain=0 asan=0
    run_ctest build || plain=$?
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        run_ctest build-asan || asan=$?

    local types=0
    build_types || types=$?

    local took=$((SECONDS - started))
    echo
    # Debian 12's nodejs (18) builds and serves the front end, but playwright-core needs 20:
    # the browser tests are then skipped (ctest's "did not run"), and this says why.
    if [[ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]]; then
        echo "dev.sh test: the browser tests were skipped: they need Node.js 20 or later" \
            "(playwright-core) and node is $(node --version 2>/dev/null || echo missing)"
    fi
    if [[ $types -ne 0 ]]; then
        echo "dev.sh test: FAILED: a build type does not build (see above); build/ tests" \
            "$([[ $plain -eq 0 ]] && echo passed || echo failed), build-asan/ tests" \
            "$([[ $asan -eq 0 ]] && echo passed || echo failed) (${took} s)"
        return 1
    fi
    if [[ $plain -eq 0 && $asan -eq 0 ]]; then
        echo "dev.sh test: PASSED: every test passed in build/ and build-asan/, and every build" \
            "type builds (${took} s)"
        return 0
    fi
    echo "dev.sh test: FAILED: build/ $([[ $plain -eq 0 ]] && echo passed || echo failed)," \
        "build-asan/ $([[ $asan -eq 0 ]] && echo passed || echo failed) (${took} s); see above"
    return 1
}

# Sourced (by tests/deploy/dev_password.sh), it only defines the functions above.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    return 0
fi
[[ $# -eq 1 ]] || usage
case "$1" in
serve) cmd_serve ;;
test) cmd_test ;;
-h | --help | help) usage ;;
*) usage ;;
esac
