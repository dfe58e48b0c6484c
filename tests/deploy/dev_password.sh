#!/usr/bin/env bash
# dev_password.sh: deploy/dev.sh keeps the demo accounts' password across `serve` runs. The
# first run makes one in the given file (owner-only), every later run reads the same one back,
# and an empty file gets a new one. Run by ctest as unit.dev_password.
set -euo pipefail

# shellcheck source=../../deploy/dev.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../../deploy/dev.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
file="$work/.local/demo-password"
fail()
{
    echo "dev_password: FAILED: $*" >&2
    exit 1
}

first="$(demo_password "$file")"
[[ "$first" =~ ^[A-Za-z0-9_-]{16}$ ]] || fail "first password '$first' is not 16 base64url characters"
[[ -f "$file" ]] || fail "no file kept"
[[ "$(stat -c %a "$file")" == 600 ]] || fail "the file is mode $(stat -c %a "$file"), not 600"
second="$(demo_password "$file")"
[[ "$second" == "$first" ]] || fail "second run gave '$second', not the kept '$first'"
third="$(demo_password "$file")"
[[ "$third" == "$first" ]] || fail "third run gave '$third', not the kept '$first'"
: >"$file"
fresh="$(demo_password "$file")"
[[ "$fresh" =~ ^[A-Za-z0-9_-]{16}$ && "$fresh" != "$first" ]] || fail "an empty file gave '$fresh'"
[[ "$(head -n 1 "$file")" == "$fresh" ]] || fail "the new password was not kept"
echo "dev_password: 1 passed, 0 failed"
