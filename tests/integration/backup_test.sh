#!/usr/bin/env bash
# Backs up a demo registry with deploy/backup, restores it with deploy/restore into a new
# database, and checks that every table (the audit trail included) and every sequence came back
# exactly. Also: restore refuses a non-empty target, and retention keeps the newest backups.
# Run by ctest with IT_PG_DIR (the test cluster), MPACT_BIN and IT_SOURCE_DIR.
set -euo pipefail

# shellcheck source=tests/integration/itlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/itlib.sh"
db_src="backup_src_$$"
db_dst="backup_dst_$$"
work=$(mktemp -d)
psqlc() { psql --no-psqlrc -X -At -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    psqlc "$conninfo dbname=postgres" -c "DROP DATABASE IF EXISTS $db_src" -c "DROP DATABASE IF EXISTS $db_dst" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

psqlc "$conninfo dbname=postgres" -c "CREATE DATABASE $db_src TEMPLATE registry_template" >/dev/null
psqlc "$conninfo dbname=postgres" -c "CREATE DATABASE $db_dst TEMPLATE template0" >/dev/null
for ext in cube earthdistance; do
    psqlc "$conninfo dbname=$db_dst" -c "CREATE EXTENSION IF NOT EXISTS $ext" >/dev/null
done

export REGISTRY_DATABASE_URL="$conninfo dbname=$db_src"
REGISTRY_DEMO_PASSWORD=backup-test-password "$bin" seed-demo >/dev/null
# An audit trail with before/after JSON, as the service writes it.
psqlc -d "$REGISTRY_DATABASE_URL" -c "
  INSERT INTO audit_event (actor_id, action, resource_type, resource_id, before, after, request_id)
  SELECT NULL, 'update', 'organisation', id::text, to_jsonb(o), to_jsonb(o) || '{\"town\":\"X\"}', 'req-' || id
  FROM organisation o" >/dev/null

# Table-by-table digests and sequence positions: what "every row intact" means here.
digest() {
    psqlc -d "$1" -c "
      SELECT string_agg(format('%s:%s', c.relname,
               (xpath('/row/d/text()', query_to_xml(format(
                  'SELECT count(*) || ''/'' || coalesce(md5(string_agg(t::text, '','' ORDER BY t::text)), '''') AS d FROM public.%I t',
                  c.relname), false, true, '')))[1]::text), E'\n' ORDER BY c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'"
    psqlc -d "$1" -c "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public'"
}
before=$(digest "$REGISTRY_DATABASE_URL")
audit_rows=$(psqlc -d "$REGISTRY_DATABASE_URL" -c "SELECT count(*) FROM audit_event")
[[ $audit_rows -gt 0 ]] || fail "no audit rows to back up"

out=$("$src/deploy/backup" "$work/backups")
file=$(ls -1 "$work"/backups/mpact-registry-*.dump)
[[ -s $file ]] || fail "no backup written: $out"
[[ $(stat -c %a "$file") == 600 ]] || fail "backup readable by others: $(stat -c %a "$file")"

"$src/deploy/restore" "$file" "$conninfo dbname=$db_dst" >/dev/null
after=$(digest "$conninfo dbname=$db_dst")
if [[ "$before" != "$after" ]]; then
    diff <(echo "$before") <(echo "$after") >&2 || true
    fail "restored database differs from the original"
fi
restored_audit=$(psqlc -d "$conninfo dbname=$db_dst" -c "SELECT count(*) FROM audit_event")
[[ $restored_audit == "$audit_rows" ]] || fail "audit rows $restored_audit != $audit_rows"
# The restored registry is usable by the binary as it is.
REGISTRY_DATABASE_URL="$conninfo dbname=$db_dst" "$bin" migrate | grep -q "0 migration(s) applied" \
    || fail "restored schema is not current"

# A second restore into the now non-empty database is refused without --replace.
if "$src/deploy/restore" "$file" "$conninfo dbname=$db_dst" >/dev/null 2>&1; then
    fail "restore into a non-empty database was not refused"
fi
"$src/deploy/restore" "$file" "$conninfo dbname=$db_dst" --replace >/dev/null
[[ "$(digest "$conninfo dbname=$db_dst")" == "$before" ]] || fail "--replace restore differs"

# Retention: with keep_min 2 and keep_days 0, old backups beyond the newest two go.
for i in 1 2 3; do
    touch -d "3 days ago" "$work/backups/mpact-registry-2000010${i}T000000Z.dump"
done
REGISTRY_BACKUP_KEEP_DAYS=0 REGISTRY_BACKUP_KEEP_MIN=2 "$src/deploy/backup" "$work/backups" >/dev/null
left=$(ls -1 "$work"/backups/*.dump | wc -l)
[[ $left == 2 ]] || fail "retention left $left backups, expected 2"

echo "1 passed, 0 failed"
