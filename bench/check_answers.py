#!/usr/bin/env python3
"""check_answers.py: the provider search answers what the statements before issue 19 answered.

  check_answers.py BASE_URL OLD_STMTS.tsv POINTS.txt N SEED PSQL-COMMAND...

For N postcodes of the benchmark's sample (POINTS.txt: postcode TAB latitude TAB longitude,
chosen with SEED) and three searches each (the default: 25 km, 20 sites; 3 km, where many answer
nothing within the radius and give nearest_beyond; and self_referral=true within 40 km, the
filtered statement), the server's answer (GET BASE_URL/v1/public/providers) is compared with the
one the old statements give (bench/sql/providers_old.tsv: pub_near, pub_nearest and pub_runs, run
by psql with the coordinates as the server passes them, printf "%.6f"). Items are compared in
order, whole (distance, organisation, site, every run and its fields), and so is nearest_beyond.
Since migration 0042 outward codes and towns are looked up in the page's own statement, so the
same is checked for N/2 outward codes of the sample (OUTWARDS.txt beside POINTS.txt; the point
the district's centroid at "%.6f", as the lookup and pub_near had it) and N/2 towns (PLACES.txt,
single places; the point the place's coordinates as psql prints them, as places_find passed
them), the default search and 3 km each.
Prints one line of JSON: {"checked": n, "mismatches": m, "with_items": k, "beyond": b, ...} and
the first mismatches on stderr. Exit status 0 when every answer matched, 1 otherwise.
"""
import os
import json
import random
import re
import subprocess
import sys
import urllib.request

base, old_path, points_path, n, seed = sys.argv[1:6]
psql = sys.argv[6:]
n = int(n)
old = {}
with open(old_path, encoding="utf-8") as f:
    for line in f:
        if line.startswith("#") or "\t" not in line:
            continue
        name, sql = line.rstrip("\n").split("\t", 1)
        old[name] = sql
points = []
with open(points_path, encoding="utf-8") as f:
    for line in f:
        pc, la, lo = line.rstrip("\n").split("\t")
        points.append((pc, "%.6f" % float(la), "%.6f" % float(lo)))
rng = random.Random(int(seed))
sample = rng.sample(points, min(n, len(points)))

# (query string after the postcode, radius in metres, limit, self_referral)
SEARCHES = [("", "25000.000", "20", None), ("&radius_km=3", "3000.000", "20", None),
            ("&radius_km=40&self_referral=true", "40000.000", "20", "true")]


def lit(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def bind(name, params):
    """Statement `name` with $n replaced: a str is a literal, a tuple ('sql', x) raw SQL."""
    def sub(m):
        v = params[int(m.group(1)) - 1]
        return v[1] if isinstance(v, tuple) else lit(v)
    return re.sub(r"\$(\d+)", sub, old[name])


def with_runs(sites_sql, sr):
    """One JSON array: each site of `sites_sql` as the server renders it, with its runs."""
    runs = bind("pub_runs", [("sql", "ARRAY[s._location_id::uuid]"), sr, None])
    return ("SELECT coalesce(json_agg(json_build_object('distance_km', s.distance_km, "
            "'organisation', s.organisation, 'site', s.site, 'upcoming_runs', "
            "(SELECT coalesce(json_agg(to_jsonb(r) - '_location_id'), '[]') FROM (" + runs
            + ") r))), '[]') FROM (" + sites_sql + ") s")


def lines(name):
    path = os.path.join(os.path.dirname(points_path), name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def rows(sql):
    text = subprocess.run(psql + ["-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"], input=sql,
                          capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in text.splitlines()]


# (what goes after ?, latitude, longitude as the old statements get them), each search of SEARCHES
# (postcodes) or of the first two (outward codes, towns).
cases = [("postcode=" + pc.replace(" ", "%20"), la, lo, SEARCHES) for pc, la, lo in sample]
outwards = rng.sample(lines("outwards.txt"), min(n // 2, len(lines("outwards.txt"))))
if outwards:
    for code, la, lo in rows("SELECT outward, latitude, longitude FROM postcode_district WHERE"
                             " outward IN (%s) ORDER BY outward;" % ",".join(map(lit, outwards))):
        cases.append(("postcode=" + code, "%.6f" % float(la), "%.6f" % float(lo), SEARCHES[:2]))
towns = rng.sample(lines("places.txt"), min(n // 2, len(lines("places.txt"))))
if towns:
    for name, la, lo in rows("SELECT name, latitude, longitude FROM place WHERE name IN (%s)"
                             " ORDER BY name;" % ",".join(map(lit, towns))):
        cases.append(("place=" + name.replace(" ", "%20"), la, lo, SEARCHES[:2]))

queries = []
for _, la, lo, searches in cases:
    for qs, metres, limit, sr in searches:
        near = bind("pub_near", [la, lo, metres, limit, sr, None, None])
        nearest = bind("pub_nearest", [la, lo, sr, None, None])
        queries.append("SELECT json_build_object('items', (" + with_runs(near, sr)
                       + "), 'beyond', (" + with_runs(nearest, sr) + "))::text;")
out = subprocess.run(psql + ["-At", "-v", "ON_ERROR_STOP=1"], input="\n".join(queries),
                     capture_output=True, text=True, check=True).stdout.splitlines()
if len(out) != len(queries):
    sys.exit("check_answers.py: psql gave %d answers for %d queries" % (len(out), len(queries)))

checked = mismatches = with_items = beyond = 0
k = 0
for what, _, _, searches in cases:
    for qs, metres, limit, sr in searches:
        want = json.loads(out[k])
        k += 1
        url = "%s/v1/public/providers?%s%s" % (base, what, qs)
        with urllib.request.urlopen(url, timeout=30) as resp:
            got = json.loads(resp.read())
        want_items = want["items"]
        want_beyond = None if want_items else (want["beyond"][0] if want["beyond"] else None)
        checked += 1
        with_items += 1 if want_items else 0
        beyond += 1 if want_beyond is not None else 0
        if got.get("items") != want_items or got.get("nearest_beyond") != want_beyond:
            mismatches += 1
            if mismatches <= 3:
                print("mismatch for search %d (%s):\n  old %s\n  new %s" %
                      (k, qs or "default", json.dumps({"items": want_items,
                                                       "nearest_beyond": want_beyond})[:600],
                       json.dumps(got)[:600]), file=sys.stderr)
print(json.dumps({"checked": checked, "mismatches": mismatches, "with_items": with_items,
                  "beyond": beyond, "postcodes": len(sample), "outward_codes": len(outwards),
                  "towns": len(towns)}))
sys.exit(1 if mismatches else 0)
