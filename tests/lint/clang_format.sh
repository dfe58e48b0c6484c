#!/usr/bin/env bash
# The ctest test "lint": fails when clang-format 14 with the repository's .clang-format would
# change any *.c or *.h file under server/, include/ or tests/, and lists those files. A missing
# clang-format (or another major version, which formats differently) is a failure, not a skip:
# deploy/dev.sh installs clang-format-14.
#
# usage: clang_format.sh SOURCE_DIR
set -uo pipefail

src="${1:?usage: clang_format.sh SOURCE_DIR}"
cd "$src" || exit 1

bin=""
for c in "${CLANG_FORMAT:-}" clang-format-14 clang-format; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
        bin="$c"
        break
    fi
done
if [ -z "$bin" ]; then
    echo "lint: clang-format 14 is not installed (deploy/dev.sh installs clang-format-14)" >&2
    exit 1
fi
version="$("$bin" --version)"
if ! [[ "$version" =~ version\ 14\. ]]; then
    echo "lint: $bin is not clang-format 14: $version" >&2
    exit 1
fi
if [ ! -f .clang-format ]; then
    echo "lint: no .clang-format in $src" >&2
    exit 1
fi

mapfile -d '' files < <(find server include tests -type f \( -name '*.c' -o -name '*.h' \) \
    -not -path 'tests/fuzz/corpus/*' -print0 | sort -z)
if [ "${#files[@]}" -eq 0 ]; then
    echo "lint: no C files found under server/, include/, tests/" >&2
    exit 1
fi

# One run over every file (one process per file took 50 s on a loaded machine); a drifting file
# shows as "FILE:LINE:COL: error: code should be clang-formatted".
out="$("$bin" --style=file --dry-run -Werror "${files[@]}" 2>&1)"
rc=$?
mapfile -t drift < <(printf '%s\n' "$out" | grep -E '^[^ :]+:[0-9]+:[0-9]+: error' | cut -d: -f1 |
    sort -u)
if [ "$rc" -ne 0 ] && [ "${#drift[@]}" -eq 0 ]; then
    printf '%s\n' "$out" >&2
    echo "lint: $bin failed (exit $rc)" >&2
    exit 1
fi
if [ "${#drift[@]}" -ne 0 ]; then
    echo "lint: clang-format would change ${#drift[@]} of ${#files[@]} files:" >&2
    printf '  %s\n' "${drift[@]}" >&2
    echo "lint: run: clang-format -i ${drift[*]}" >&2
    exit 1
fi
echo "lint: ${#files[@]} files formatted as .clang-format says"
