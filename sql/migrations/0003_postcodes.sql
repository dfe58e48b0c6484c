-- 0003_postcodes.sql: outward-code (district) centroids and nearest-neighbour search on locations.
--
-- `mpact-registry import-postcodes FILE` replaces postcode and postcode_district whole: it loads
-- postcode_new, builds postcode_district_new with postcode_district_refresh() below, and renames
-- both in within one transaction (server/postcodes.c). Because the tables are swapped, nothing
-- may hold a dependency on them by OID: no foreign key to them, no view over them, no SQL
-- function with a BEGIN ATOMIC body reading them. Query them by name (prepared statements and
-- plpgsql are re-planned after the swap).

-- One row per outward code ("ME4"): the average position of its live postcodes.
CREATE TABLE postcode_district (
    outward   text PRIMARY KEY CHECK (outward ~ '^([A-Z]{1,2}[0-9][A-Z0-9]?|GIR)$'),
    latitude  double precision NOT NULL,
    longitude double precision NOT NULL,
    postcodes integer NOT NULL CHECK (postcodes > 0)
);

-- Rebuilds the district table `target` from the postcode table `source` and returns the number
-- of districts. With no arguments it refreshes postcode_district from postcode in place (the demo
-- seed calls it after loading its postcodes); the import passes its new tables.
CREATE FUNCTION postcode_district_refresh(source text DEFAULT 'postcode',
                                          target text DEFAULT 'postcode_district')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('DELETE FROM %I', target);
    EXECUTE format('INSERT INTO %I (outward, latitude, longitude, postcodes) '
                   'SELECT split_part(postcode, '' '', 1), avg(latitude), avg(longitude), count(*) '
                   'FROM %I GROUP BY 1', target, source);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- A point on the earth for a latitude and longitude: earthdistance's ll_to_earth, written with
-- every name schema-qualified. ll_to_earth's own body names `earth` unqualified, so an index on
-- it cannot be rebuilt by pg_restore, which runs with an empty search_path; this one can.
-- (earthdistance and cube come from the database bootstrap, in schema public.)
CREATE FUNCTION registry_earth(lat double precision, lon double precision)
RETURNS public.earth LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT public.cube(public.cube(public.cube(
               public.earth() * cos(radians(lat)) * cos(radians(lon))),
               public.earth() * cos(radians(lat)) * sin(radians(lon))),
               public.earth() * sin(radians(lat)))::public.earth
$$;

-- Nearest-neighbour search on delivery sites: ORDER BY registry_earth(latitude, longitude) <-> ...
CREATE INDEX location_earth_idx ON location USING gist (registry_earth(latitude, longitude))
    WHERE latitude IS NOT NULL;
