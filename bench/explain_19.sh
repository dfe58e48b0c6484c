#!/usr/bin/env bash
# bench/explain_19.sh: what each step of issue 19 bought, on the databases of the last bench/run
# (bench/.pg, left stopped by bench/run: this starts it, and stops it at the end).
#
#   bench/explain_19.sh > bench/results/<stamp>.explain19.txt
#
# For the first postcode of the sample, on `bench` and on the larger scale copy, each variant of
# the provider search is run warm (5 times first in the same session) under EXPLAIN (ANALYZE,
# BUFFERS), and timed with pgbench, one client, 5 s (transactions a second of the statement
# alone, literal parameters):
#   old      the statements before issue 19 (sql/providers_old.tsv): pub_near, then pub_runs for
#            the page's sites;
#   knn      public_site's KNN scan, the runs in the same statement, at-risk still by
#            programme_at_risk() and the distance by sec_to_gc() (steps 1-2, 4);
#   inline   the at-risk test written inline (step 3);
#   final    and the distance's arithmetic written out (step 5), as the server runs it now;
#   generic  the final statement prepared with parameters under force_generic_plan;
#   ceiling  the KNN ceiling's statement (the GiST index alone).
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
B="$ROOT/bench"
PGBIN=/usr/lib/postgresql/15/bin
CONNINFO="$("$ROOT/tests/integration/pg.sh" start "$B/.pg" bench 2>/dev/null | tail -1)"
trap '"$ROOT/tests/integration/pg.sh" stop "$B/.pg" >/dev/null 2>&1 || true' EXIT
SOCK="$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$CONNINFO")"
PORT="$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$CONNINFO")"
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres "$@"; }
STMTS="$B/.run/stmts.tsv"
stmt() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$2"; }
PC1="$(head -1 "$B/.run/data/postcodes.txt")"
LARGE="$(psql_ -d postgres -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'bench\_%'
  ORDER BY length(datname) DESC, datname DESC LIMIT 1")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"; "$ROOT/tests/integration/pg.sh" stop "$B/.pg" >/dev/null 2>&1 || true' EXIT

# Writes the variants' scripts into $TMP for the point LAT LON (the parameters of a search by
# postcode: 25 km, 20 sites, no filters, as literals; pub_runs gets the page's ids by a subquery).
variants() # LAT LON
{
    python3 - "$B/sql/providers_old.tsv" "$STMTS" "$TMP" "$1" "$2" <<'EOF'
import re, sys
old_path, new_path, tmp, la, lo = sys.argv[1:6]
def load(path):
    d = {}
    for line in open(path, encoding="utf-8"):
        if "\t" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("\t", 1)
            d[k] = v
    return d
old, new = load(old_path), load(new_path)
def bind(sql, vals):
    return re.sub(r"\$(\d+)", lambda m: vals[int(m.group(1)) - 1], sql)
def pgb(sql):  # pgbench reads :MI in 'HH24:MI' as a variable
    return sql.replace("'HH24:MI'", "'HH24:' || 'MI'")
P = ["'%s'" % la, "'%s'" % lo, "'25000.000'", "'20'", "NULL", "NULL", "NULL"]
near = bind(old["pub_near"], P)
runs = bind(old["pub_runs"], ["(SELECT array_agg(_location_id::uuid) FROM (%s) s)" % near,
                              "NULL", "NULL"])
final = bind(new["pub_near"], P)
a = final.index("r.accepting_referrals AND NOT (")
b = final.index("'withdrawn')))", a) + len("'withdrawn')))")
risk = final[:a] + "r.accepting_referrals AND programme_at_risk(r.id) = '[]'::jsonb" + final[b:]
# sec_to_gc() called as earth_distance() did, instead of its arithmetic written out.
gc = re.compile(r"\(CASE WHEN k\.chord < 0 THEN .*? END\)")
knn = gc.sub("sec_to_gc(k.chord)", risk)
inline = gc.sub("sec_to_gc(k.chord)", final)
assert knn != risk and inline != final
ceiling = ("SELECT location_id FROM public_site ORDER BY earth <-> registry_earth(%s, %s) LIMIT 20"
           % (la, lo))
for name, text in (("old", near + ";\n" + runs + ";\n"), ("knn", knn + ";\n"),
                   ("inline", inline + ";\n"), ("final", final + ";\n"),
                   ("ceiling", ceiling + ";\n")):
    open("%s/%s.sql" % (tmp, name), "w").write(pgb(text))
EOF
}

for db in bench "$LARGE"; do
    read -r LA LO < <(psql_ -d "$db" -At -F ' ' -c "SELECT to_char(latitude, 'FM990.000000'),
      to_char(longitude, 'FM990.000000') FROM postcode WHERE postcode = '$PC1'")
    sites="$(psql_ -d "$db" -At -c "SELECT count(*) FROM public_site")"
    echo "######## $db: $sites rows in public_site; search from the sample's first postcode, 25 km, 20 sites"
    variants "$LA" "$LO"
    for v in old knn inline final ceiling; do
        tps="$(cd "$TMP" && "$PGBIN/pgbench" -n -M prepared -c 1 -T 5 -h "$SOCK" -p "$PORT" -U postgres \
            -f "$v.sql" "$db" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')"
        echo "==== $db $v: pgbench 1 client, 5 s: ${tps:-?} transactions/s"
        {
            for _ in 1 2 3 4 5; do sed 's/;$/ \\g \/dev\/null/' "$TMP/$v.sql"; done
            sed 's/^/EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) /' "$TMP/$v.sql"
        } | psql_ -d "$db" 2>&1
    done
    echo "==== $db generic: pub_near prepared with parameters, plan_cache_mode = force_generic_plan"
    {
        echo "SET plan_cache_mode = force_generic_plan;"
        echo "PREPARE near (float8, float8, float8, int) AS $(stmt pub_near "$STMTS");"
        for _ in 1 2 3 4 5; do echo "EXECUTE near ($LA, $LO, 25000, 20) \\g /dev/null"; done
        echo "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE near ($LA, $LO, 25000, 20);"
    } | psql_ -d "$db" 2>&1
done
