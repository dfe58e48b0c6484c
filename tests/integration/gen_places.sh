#!/usr/bin/env bash
# gen_places.sh: writes a synthetic gazetteer for load tests of `mpact-registry import-places`, in
# either published layout:
#
#   tests/integration/gen_places.sh ipn ROWS > IPN_GB_2023.csv   # the ONS Index of Place Names
#   tests/integration/gen_places.sh geonames ROWS > IE.txt       # the GeoNames country dump
#
# ipn: the 2023 header of 44 columns, CRLF line ends, a district name with a comma quoted; the
# rows cycle through the kinds of place (BUA, BUASD, LOC, and wards and parishes the import
# skips), names "Synthetic Town N" (every tenth one "Newport", in a district of its own),
# positions spread over England. geonames: 19 tab-separated fields, LF, no header; populated
# places (P: PPL, PPLA2, PPLX, and historical PPLH the import skips) and streams (H), names
# "Baile N" with accents in their alternate names and a quote in some, positions over Ireland,
# provinces C, L, M, U. it.ireland writes small files of both kinds itself.
set -euo pipefail
kind="${1:-}"
rows="${2:-}"
[[ "$kind" == ipn || "$kind" == geonames ]] && [[ "$rows" =~ ^[0-9]+$ ]] || {
    echo "usage: gen_places.sh ipn|geonames ROWS" >&2
    exit 2
}
if [[ "$kind" == ipn ]]; then
    LC_ALL=C awk -v rows="$rows" 'BEGIN {
        ORS = "\r\n"
        print "placeid,place23cd,placesort,place23nm,splitind,descnm,ctyhistnm,cty61nm,cty91nm," \
              "ctyltnm,ctry23nm,cty23cd,cty23nm,lad61nm,lad61desc,lad91nm,lad91desc,lad23cd," \
              "lad23nm,lad23desc,ced23cd,wd23cd,par23cd,hlth23cd,hlth23nm,regd23cd,regd23nm," \
              "rgn23cd,rgn23nm,npark23cd,npark23nm,bua22cd,pcon23cd,pcon23nm,eer23cd,eer23nm," \
              "pfa23cd,pfa23nm,gridgb1m,gridgb1e,gridgb1n,grid1km,lat,long"
        split("BUA BUASD LOC LOC WD PAR", kinds, " ")
        for (i = 1; i <= rows; i++) {
            name = (i % 10 == 0) ? "Newport" : sprintf("Synthetic Town %d", i)
            lad = (i % 7 == 0) ? sprintf("\"District %d, Borough of\"", i % 300) \
                               : sprintf("District %d", (i % 10 == 0) ? i : i % 300)
            printf "%d,IPN%07d,%s,%s,0,%s,Kent,Kent,Kent,Kent,England,E10000016,Kent,Old,MB," \
                   "Old,UA,E07000%03d,%s,UA,,E05002000,,E18000007,NHS,E33000001,Reg,E12000008," \
                   "South East,,,E63000001,E14000620,Seat,E15000008,South East,E23000032,Kent," \
                   "575000,575000,168000,TQ7568,%.6f,%.6f" ORS,
                   i, i, name, name, kinds[i % 6 + 1], i % 1000, lad,
                   50.5 + (i % 3000) / 1000.0, -2.5 + (i % 3500) / 1000.0
        }
    }'
else
    LC_ALL=C awk -v rows="$rows" 'BEGIN {
        OFS = "\t"
        split("PPL PPL PPLA2 PPLX PPLH STM", codes, " ")
        split("C L M U", prov, " ")
        for (i = 1; i <= rows; i++) {
            code = codes[i % 6 + 1]
            class = (code == "STM") ? "H" : "P"
            alt = (i % 5 == 0) ? sprintf("Baile \xc3\x81tha %d,\"Town\" %d", i, i) \
                               : sprintf("Baile \xc3\x81tha %d", i)
            print 3000000 + i, sprintf("Baile %d", i), sprintf("Baile %d", i), alt,
                  sprintf("%.5f", 51.5 + (i % 3000) / 1000.0),
                  sprintf("%.5f", -10.0 + (i % 4000) / 1000.0), class, code, "IE", "",
                  prov[i % 4 + 1], "04", "", "", i % 5000, "", "25", "Europe/Dublin", "2024-01-01"
        }
    }'
fi
