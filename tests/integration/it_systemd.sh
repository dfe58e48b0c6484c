#!/usr/bin/env bash
# it_systemd.sh: deploy/systemd/mpact-registry.service as systemd reads it. `systemd-analyze
# verify` on the shipped unit (with ExecStart pointing at the binary just built, since the unit's
# /usr/local/bin path is not installed here) must print nothing at all: an unknown or misspelt
# directive is only a warning to systemd, so it would be silently ignored in production, and a
# hardening line lost that way is a hole nobody sees. Then the lines issue 8 asks for are there.
set -euo pipefail

src="${IT_SOURCE_DIR:?}"
bin="${MPACT_BIN:?}"
unit="$src/deploy/systemd/mpact-registry.service"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail()
{
    echo "FAIL: $*" >&2
    exit 1
}

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd)"
sed -e "s|/usr/local/bin/mpact-registry|$bin|g" "$unit" >"$work/mpact-registry.service"
out="$(systemd-analyze verify "$work/mpact-registry.service" 2>&1)" || fail "verify failed: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify complained: $out"
echo "ok: systemd-analyze verify is silent"

for line in 'User=mpact-registry' 'EnvironmentFile=/etc/mpact-registry/registry.env' \
    'ExecStartPre=/usr/local/bin/mpact-registry migrate' \
    'ExecStart=/usr/local/bin/mpact-registry serve' 'Restart=on-failure' \
    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
    'CapabilityBoundingSet=' 'KillSignal=SIGTERM'; do
    grep -qx "$line" "$unit" || fail "the unit lacks: $line"
done
echo "ok: dedicated user, environment file, migrate before start, restart on failure, hardening"

# The check itself can fail: a misspelt directive is caught.
sed -e 's/^NoNewPrivileges=yes/NoNewPrivilegez=yes/' "$work/mpact-registry.service" \
    >"$work/bad.service"
out="$(systemd-analyze verify "$work/bad.service" 2>&1 || true)"
[[ "$out" == *NoNewPrivilegez* ]] || fail "a misspelt directive went unnoticed: $out"
echo "ok: a misspelt directive is reported"
echo "PASS"
