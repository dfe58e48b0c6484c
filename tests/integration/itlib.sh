# itlib.sh: what the shell integration tests (backup_test.sh, it_nginx.sh) take from ctest,
# sourced after `set -euo pipefail`: the test cluster's directory and conninfo, the binary and
# the source tree (IT_PG_DIR, MPACT_BIN and IT_SOURCE_DIR, which must be set).
# shellcheck shell=bash
# shellcheck disable=SC2034 # used by the scripts that source this file
pg_dir=${IT_PG_DIR:?}
bin=${MPACT_BIN:?}
src=${IT_SOURCE_DIR:?}
conninfo=$(cat "$pg_dir/conninfo")
