-- 0017: indexes for the delivery report of one or a few local authorities (GET
-- /v1/reports/delivery?local_authority=, server/impact.c): from the districts' postcodes to the
-- sites at them, then (programme_run_location_idx, 0002) to their runs, instead of every run of
-- the period joined to its site and postcode and then filtered (bench/README.md, scenario 8b).
-- The postcode table is swapped whole by `mpact-registry import-postcodes`, which builds this
-- index on the new table too (server/postcodes.c).
CREATE INDEX postcode_oslaua_idx ON postcode (oslaua);
CREATE INDEX location_postcode_idx ON location (postcode);
