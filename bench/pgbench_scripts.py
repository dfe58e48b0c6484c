#!/usr/bin/env python3
"""pgbench_scripts.py: writes the pgbench scripts of the database ceiling from the server's own
statement tables (the output of dump_stmts: name TAB sql), so pgbench runs the very SQL the
routes run.

  pgbench_scripts.py STMTS.tsv OUTDIR NFAC SEED POSTCODES.txt [FROM TO PREV_FROM PREV_TO AREA]

pgbench has no string expressions, so a text parameter (a registration number, a postcode) is
written into the statement as a quoted literal, one script per value (SCRIPTS scripts, chosen at
random by pgbench); NULL parameters (filters not given) are written as NULL. Values that flow
from one statement to the next (a postcode's coordinates, the ids of the sites found) travel
through \\gset variables and are sent as parameters (-M prepared).
"""
import json
import os
import random
import re
import sys

stmts_path, outdir, nfac, seed, pc_path = sys.argv[1:6]
report = sys.argv[6:11]  # the delivery report's period, the previous one, and the one district
nfac = int(nfac)
SCRIPTS = 20  # each client prepares every script's statements on first use: keep it small
rng = random.Random(int(seed))
stmts = {}
with open(stmts_path, encoding="utf-8") as f:
    for line in f:
        name, sql = line.rstrip("\n").split("\t", 1)
        stmts[name] = sql
postcodes = [l.strip() for l in open(pc_path, encoding="utf-8") if l.strip()]


def lit(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def unvar(sql):
    """pgbench reads ':name' anywhere, even inside a string literal ('HH24:MI'), as a variable:
    split such literals after the colon ('HH24:' || 'MI'), which the planner folds back."""
    return re.sub(r"'[^']*'", lambda m: re.sub(r":(?=\w)", ":' || '", m.group(0)), sql)


def bind(name, params):
    """The statement `name` with $n replaced: a str value is a literal, ('var', x) a pgbench
    variable :x, None NULL."""
    def sub(m):
        v = params[int(m.group(1)) - 1]
        if isinstance(v, tuple):
            return ":" + v[1]
        return lit(v)
    return re.sub(r"\$(\d+)", sub, unvar(stmts[name]))


def write(kind, i, text):
    d = os.path.join(outdir, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%03d.sql" % i), "w", encoding="utf-8") as f:
        f.write(text)


def num(n):
    return "MPF-%06d" % n


# 2: the public register lookup (pub_fac_get), numbers as the wrk script draws them.
for i in range(SCRIPTS):
    write("register", i, bind("pub_fac_get", [num(rng.randint(1, int(nfac * 1.1)))]) + ";\n")

# 3: find a provider: the postcode, then one statement for the page (the sites within 25 km,
# default radius and limit 20, with their runs), as public_find_providers() runs them. One script
# draws a postcode of the sample at random (bench_postcode by its key, \\gset, then sent as a
# parameter): with one script per postcode, each of the 64 clients planned every script's
# statements five times (custom plans) before settling on a generic one, and the measured seconds
# were mostly planning (15 transactions a second in one run).
NPC = len(postcodes)
PICK = "\\set k random(1, %d)\nSELECT postcode AS pc FROM bench_postcode WHERE k = :k\n\\gset\n" % NPC
near = bind("pub_near", [("var", "latitude"), ("var", "longitude"), "25000.000", "20"])
# Since the postcode is looked up in the page's own statement (pub_near_postcode, a full postcode
# without run filters), that one statement is what the route runs.
if "pub_near_postcode" in stmts:
    write("providers", 0, PICK + bind("pub_near_postcode", [("var", "pc"), "25000.000", "20"])
          + ";\n")
else:
    write("providers", 0, PICK + bind("postcodes_find_full", [("var", "pc")]) + "\n\\gset\n"
          + near + ";\n")

# 3k: the KNN ceiling (issue 19): the 20 nearest sites a family may see from points of the same
# sample, by public_site's GiST index alone: no joins, no filter, no rendering, no postcode
# lookup. The points as the server passes them (printf "%.6f" of the postcode's coordinates),
# written as literals, one script per point (planning this statement costs next to nothing).
points = {}
points_path = os.path.join(os.path.dirname(pc_path), "points.txt")
if os.path.exists(points_path):
    with open(points_path, encoding="utf-8") as f:
        for line in f:
            pc, la, lo = line.rstrip("\n").split("\t")
            points[pc] = (float(la), float(lo))
for i in range(SCRIPTS):
    pc = rng.choice(postcodes)
    if pc in points:
        la, lo = points[pc]
        write("knn", i, "SELECT location_id FROM public_site ORDER BY earth <-> "
              "registry_earth(%.6f, %.6f) LIMIT 20;\n" % (la, lo))

# 3o: an outward-code search (the district's centroid) of a sample postcode, the same page.
PICK_OUT = ("\\set k random(1, %d)\nSELECT split_part(postcode, ' ', 1) AS pc FROM bench_postcode"
            " WHERE k = :k\n\\gset\n" % NPC)
# Since migration 0042 the outward code is looked up in the page's own statement
# (pub_near_outward), as the route runs it.
if "pub_near_outward" in stmts:
    write("outward", 0, PICK_OUT + bind("pub_near_outward", [("var", "pc"), "25000.000", "20"])
          + ";\n")
else:
    write("outward", 0, PICK_OUT + bind("postcodes_find_outward", [("var", "pc")]) + "\n\\gset\n"
          + near + ";\n")

# 4: the licensee status check, single (fac_public_number: what the server runs for a licensee
# who is not the facilitator's employer, as nearly every request of scenario 4) and bulk.
for i in range(SCRIPTS):
    text = bind("fac_public_number", [num(rng.randint(1, nfac))]) + ";\n"
    write("status_single", i, text)
for i in range(10):
    nums = [num(rng.randint(1, int(nfac * 1.05))) for _ in range(100)]
    write("status_bulk", i, bind("fac_status_check", [json.dumps(nums)]) + ";\n")

# 5: a page of charities as an admin lists them (limit 20 asks the database for 21).
write("orgs", 0, bind("org_list", [None, None, "charity", None, None, None, "21"]) + ";\n")

# 8: the delivery report for a year (from, to), nationally and for one local authority, as
# impact_report() runs them for a licensing-body admin (no organisation, no commissioner's areas;
# the list of runs at its default length, 100): nationally the figures from the cube
# (imp_cube_report), the previous period's dates (imp_period) and its headline
# (imp_cube_previous); for the district the same from its runs (imp_report_area,
# imp_previous_area).
if len(report) == 5:
    frm, to, pfrm, pto, area = report
    text = bind("imp_cube_report", [None, frm, to, "100"]) + ";\n"
    text += bind("imp_period", [frm, to]) + ";\n"
    text += bind("imp_cube_previous", [None, pfrm, pto]) + ";\n"
    write("delivery_national", 0, text)
    for kind, areas in (("delivery_area", "{%s}" % area),):
        text = bind("imp_report_area", [None, None, areas, None, frm, to, None, "100"]) + ";\n"
        text += bind("imp_period", [frm, to]) + ";\n"
        text += bind("imp_previous_area", [None, None, areas, None, pfrm, pto, None]) + ";\n"
        write(kind, 0, text)

# 9: the open routes' other pages, each its own statements as the handler runs them.
# /v1/public/impact: imp_public and imp_history (no parameters).
if "imp_public" in stmts:
    write("impact", 0, bind("imp_public", []) + ";\n" + bind("imp_history", []) + ";\n")
# Open Referral /services, page 1 as filter_params() in server/openreferral.c passes it: no
# filters ($1-$7), offset 0, limit 50, no taxonomy, organization or modified_after, the list form.
OR_PAGE1 = [None, None, None, None, None, None, None, "0", "50", None, None, None, "list"]
if "or_services" in stmts:
    write("or_services", 0, bind("or_services", OR_PAGE1) + ";\n")
# Open Referral /service_at_locations?postcode=: the postcode, then or_sals nearest first.
if "or_sals" in stmts:
    write("or_sals", 0, PICK + bind("postcodes_find_full", [("var", "pc")]) + "\n\\gset\n"
          + bind("or_sals", OR_PAGE1 + [("var", "latitude"), ("var", "longitude"), None])
          + ";\n")

# 3p: find a provider by town (issue 19): the place (places_find, as places.c's places_find()
# passes it: no area, PLACES_CHOICES_MAX rows), then the page from its point, as
# public_find_providers() runs them; a town of bench_place (single places) drawn per transaction.
def sample_size(name):
    """The lines of the data file `name` (bench/run writes the sample tables' rows there too)."""
    path = os.path.join(os.path.dirname(pc_path), name)
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


NPLACE = sample_size("places.txt")
if "places_find" in stmts and NPLACE > 0:
    PICK_PLACE = ("\\set k random(1, %d)\nSELECT name AS pc FROM bench_place WHERE k = :k\n"
                  "\\gset\n" % NPLACE)
    if "pub_near_place" in stmts:
        # Since migration 0042 a name that is exactly one place's is looked up in the page's own
        # statement (pub_near_place), as the route runs it (bench_place holds such names).
        write("place", 0, PICK_PLACE + bind("pub_near_place", [("var", "pc"), None, "25000.000",
                                                               "20"]) + ";\n")
    else:
        write("place", 0, PICK_PLACE + bind("places_find", [("var", "pc"), None, "10"])
              + "\n\\gset\n" + near + ";\n")

# 13: ask about a place (issue 19): the site (enq_site, no run), then the sealed enquiry into the
# outbox (enq_insert), as enquiries_create() runs them; a site of bench_enquiry_site per
# transaction. The sealed text stands for what seal_hex() makes of a typical enquiry (12 bytes
# of nonce, about 330 of ciphertext, 16 of tag), as hex.
NSITE = sample_size("enquiry_sites.txt")
if "enq_site" in stmts and "enq_insert" in stmts and NSITE > 0:
    PICK_SITE = ("\\set k random(1, %d)\nSELECT id AS site FROM bench_enquiry_site WHERE k = :k\n"
                 "\\gset\n" % NSITE)
    sealed = "".join("%02x" % rng.randrange(256) for _ in range(12 + 330 + 16))
    write("enquiries", 0, PICK_SITE + bind("enq_site", [("var", "site"), None]) + "\n\\gset\n"
          + bind("enq_insert", [("var", "org_id"), "self", sealed]) + ";\n")
