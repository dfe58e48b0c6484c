#!/usr/bin/env bash
# gen_postcodes.sh: writes a synthetic ONS Postcode Directory (ONSPD) CSV for load tests of
# `mpact-registry import-postcodes`: the published layout (a header naming 50 columns, lat, long,
# doterm and pcds among them; every field quoted; CRLF line ends), about 480 bytes a row like the
# real file, about a third of the rows terminated and 1% without a grid reference.
#
#   tests/integration/gen_postcodes.sh ROWS > onspd.csv     # e.g. 2700000 for the full size
#   tests/integration/gen_postcodes.sh --areas > la_ua.csv  # the names of their districts
#
# The postcodes are unique and valid, in ~3000 outward codes; positions are spread over England.
# Their local authority districts (oslaua) are E07000000 to E07000999 (as many as the file has
# rows, up to 1000), their country (ctry) England. --areas writes the "LA_UA names and codes"
# file for those 1000 districts as ONS publishes it (LAD23CD,LAD23NM,LAD23NMW; CRLF; a name with
# a comma quoted).
set -euo pipefail
if [[ "${1:-}" == "--areas" ]]; then
    LC_ALL=C awk 'BEGIN {
        ORS = "\r\n"
        print "LAD23CD,LAD23NM,LAD23NMW"
        for (d = 0; d < 1000; d++) {
            printf "E07000%03d,\"Synthetic District %03d, Borough of\"," ORS, d, d
        }
    }'
    exit 0
fi
rows="${1:?usage: gen_postcodes.sh ROWS | --areas}"
[[ "$rows" =~ ^[0-9]+$ ]] || { echo "gen_postcodes.sh: ROWS must be a number" >&2; exit 2; }
LC_ALL=C awk -v rows="$rows" 'BEGIN {
    ORS = "\r\n"
    hdr = "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,parish,usertype,oseast1m," \
          "osnrth1m,osgrdind,oshlthau,nhser,ctry,rgn,streg,pcon,eer,teclec,ttwa,pct,itl," \
          "statsward,oa01,casward,npark,lsoa01,msoa01,ur01ind,oac01,oa11,lsoa11,msoa11,wz11," \
          "sicbl,bua24,ru11ind,oac11,lat,long,lep1,lep2,pfa,imd,calncv,icb,oa21"
    n = split(hdr, h, ",")
    line = ""
    for (i = 1; i <= n; i++) line = line (i > 1 ? "," : "") "\"" h[i] "\""
    print line
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    split("AB BS CF DH EH LS ME MK NR PL SW TR WF BB CH CT DN EX GL HU LE B E G L M N S W Y", areas, " ")
    for (r = 0; r < rows; r++) {
        # 30 areas x 100 districts x 4000 inward codes: unique up to 12 million rows.
        k = int(r / 3000) % 4000; d = r % 3000
        area = areas[int(d / 100) + 1]
        dist = d % 100
        inward = (k % 10) substr(letters, int(k / 10) % 20 + 1, 1) substr(letters, int(k / 200) % 20 + 1, 1)
        pcds = area dist " " inward
        pcd = sprintf("%-4s%s", area dist, inward)
        doterm = (r % 3 == 1) ? "201" (r % 10) "0" (r % 9 + 1) : ""
        if (r % 100 == 7) { lat = "99.999999"; lon = "0.000000"; east = ""; north = "" }
        else {
            lat = sprintf("%.6f", 50.6 + (d % 97) * 0.04 + (k % 89) * 0.0003)
            lon = sprintf("%.6f", -4.5 + (d % 61) * 0.09 + (k % 83) * 0.0004)
            east = 300000 + d * 7; north = 100000 + k * 13
        }
        printf "\"%s\",\"%s\",\"%s\",\"198001\",\"%s\",\"E10000016\",\"E58000%03d\"," \
               "\"E07000%03d\",\"E05000%03d\",\"E43000%03d\",\"0\",\"%s\",\"%s\",\"1\"," \
               "\"E18000008\",\"E40000005\",\"E92000001\",\"E12000008\",\"0\",\"E14000%03d\"," \
               "\"E15000008\",\"E41000%03d\",\"E30000%03d\",\"E16000%03d\",\"E06000%03d\"," \
               "\"15UH%02d\",\"00AAFA%04d\",\"00AAFA\",\"E65000001\",\"E01000%03d\"," \
               "\"E02000%03d\",\"A\",\"1C3\",\"E00000%03d\",\"E01000%03d\",\"E02000%03d\"," \
               "\"E33000%03d\",\"E38000%03d\",\"E63000%03d\",\"C1\",\"1A1\",\"%s\",\"%s\"," \
               "\"E37000%03d\",\"\",\"E23000%03d\",\"%d\",\"E56000%03d\",\"E54000%03d\"," \
               "\"E00000%03d\"" ORS,
               pcd, pcd, pcds, doterm, d % 1000, d % 1000, k % 1000, d % 1000, east, north,
               d % 1000, d % 1000, d % 1000, d % 1000, d % 1000, d % 100, k % 10000, k % 1000,
               k % 1000, k % 1000, k % 1000, k % 1000, d % 1000, d % 1000, k % 1000, lat, lon,
               d % 1000, d % 1000, (r * 7) % 32844 + 1, d % 1000, d % 1000, k % 1000
    }
}'
