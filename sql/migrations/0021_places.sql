-- 0021: the gazetteer behind a search by town (GET /v1/public/providers?place=, the finder's
-- "Postcode, Eircode or town" box) and the coordinates of Irish sites that give none.
--
-- `mpact-registry import-places FILE` (server/places.c) loads the ONS Index of Place Names (GB)
-- or the GeoNames country dump IE.txt (IE) into place_new, with the other country's rows copied
-- over, and swaps it in within one transaction, as import-postcodes swaps postcode (0003): so
-- nothing may refer to place by OID (no foreign key, no view, no BEGIN ATOMIC function).
--
-- One row per gazetteer entry: a town may appear more than once (a built-up area and a locality
-- of the same name, a place split between districts); the search takes one per name and area.
-- `size` orders the choices: the population where the file gives one, else a rank by the kind of
-- place (server/places.c).
CREATE TABLE place (
    name      text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    area      text CHECK (char_length(area) BETWEEN 1 AND 200),
    country   text NOT NULL CHECK (country IN ('GB', 'IE')),
    latitude  double precision NOT NULL CHECK (latitude BETWEEN 49 AND 61.5),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -11 AND 2.5),
    size      bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    -- The name as searched: accents removed, lower case (registry_fold, 0004), computed once on
    -- load (a search over thousands of prefix matches would otherwise fold each row again).
    name_key  text GENERATED ALWAYS AS (registry_fold(name)) STORED
);

-- Prefix search on the folded name: LIKE 'prefix%' uses it.
CREATE INDEX place_fold_idx ON place (name_key text_pattern_ops);
