-- 0038: each site's local authority district (or, in Ireland, its county) stored on the site, so
-- that the delivery report of a few districts (GET /v1/reports/delivery?local_authority=,
-- server/impact.c) starts from the districts' sites by an index instead of from the districts'
-- postcodes: the planner hash-joined those against every site (a sequential scan of 20,000
-- locations, two thirds of the one-district report's time at full size; bench/README.md).
--
-- location.la_code is what the report used to compute per run: the district of the site's
-- postcode (postcode.oslaua), else the site's Irish county. It is kept current
-- - by a row trigger on location when a site is written (its postcode or county set or changed);
-- - by a statement trigger on postcode when postcodes are written by SQL;
-- - and after `mpact-registry import-postcodes` swaps in a new postcode table (which has neither
--   the old table's trigger nor its districts), by CALL registry_postcodes_swapped() in the
--   swap's transaction (server/postcodes.c), which puts the trigger on the new table and sets
--   every site whose district changed.
ALTER TABLE location ADD COLUMN la_code text;

CREATE FUNCTION registry_site_district(postcode text, county text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT p.oslaua FROM postcode p WHERE p.postcode = $1), $2)
$$;

CREATE FUNCTION location_district_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.la_code := registry_site_district(NEW.postcode, NEW.county);
    RETURN NEW;
END
$$;

CREATE TRIGGER location_district BEFORE INSERT OR UPDATE OF postcode, county ON location
    FOR EACH ROW EXECUTE FUNCTION location_district_trg();

-- The sites at the postcodes a statement wrote (or every site, for a TRUNCATE or a swap) whose
-- district is no longer the one stored.
CREATE FUNCTION registry_site_districts_refresh(postcodes text[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE location l SET la_code = registry_site_district(l.postcode, l.county)
     WHERE ($1 IS NULL OR l.postcode = ANY ($1))
       AND l.la_code IS DISTINCT FROM registry_site_district(l.postcode, l.county)
$$;

CREATE FUNCTION postcode_district_ins_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_site_districts_refresh(ARRAY(SELECT postcode FROM new_rows));
    RETURN NULL;
END
$$;

CREATE FUNCTION postcode_district_del_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_site_districts_refresh(ARRAY(SELECT postcode FROM old_rows));
    RETURN NULL;
END
$$;

CREATE FUNCTION postcode_district_upd_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_site_districts_refresh(
        ARRAY(SELECT postcode FROM old_rows UNION SELECT postcode FROM new_rows));
    RETURN NULL;
END
$$;

CREATE FUNCTION postcode_district_trunc_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_site_districts_refresh(NULL);
    RETURN NULL;
END
$$;

-- The postcode table's triggers, on whatever table is called postcode now.
CREATE PROCEDURE registry_postcode_district_triggers() LANGUAGE plpgsql AS $$
BEGIN
    DROP TRIGGER IF EXISTS postcode_district_ins ON postcode;
    DROP TRIGGER IF EXISTS postcode_district_upd ON postcode;
    DROP TRIGGER IF EXISTS postcode_district_del ON postcode;
    DROP TRIGGER IF EXISTS postcode_district_trunc ON postcode;
    CREATE TRIGGER postcode_district_ins AFTER INSERT ON postcode
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION postcode_district_ins_trg();
    CREATE TRIGGER postcode_district_upd AFTER UPDATE ON postcode
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION postcode_district_upd_trg();
    CREATE TRIGGER postcode_district_del AFTER DELETE ON postcode
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
        EXECUTE FUNCTION postcode_district_del_trg();
    CREATE TRIGGER postcode_district_trunc AFTER TRUNCATE ON postcode
        FOR EACH STATEMENT EXECUTE FUNCTION postcode_district_trunc_trg();
END
$$;

-- Called by import-postcodes right after it swapped the new postcode table in.
CREATE PROCEDURE registry_postcodes_swapped() LANGUAGE plpgsql AS $$
BEGIN
    CALL registry_postcode_district_triggers();
    PERFORM registry_site_districts_refresh(NULL);
END
$$;

CALL registry_postcodes_swapped();

CREATE INDEX location_la_code_idx ON location (la_code) WHERE la_code IS NOT NULL;
