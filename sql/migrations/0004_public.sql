-- 0004: the public register's name search, accent- and case-insensitive ("Sian" finds "Siân"),
-- backed by indexes.
--
-- unaccent is a trusted extension in PostgreSQL 15, but creating one still needs CREATE on the
-- database, so the database bootstrap (tests/integration/pg.sh) creates it next to cube and
-- earthdistance; this line is then a no-op, and only creates it where the migrating role may.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- The form names are compared in: accents removed, lower case. unaccent() itself is only
-- STABLE (its dictionary could be changed), so an index cannot use it directly; naming the
-- dictionary with its schema pins it, which makes this wrapper safe to declare IMMUTABLE.
CREATE FUNCTION registry_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT lower(public.unaccent('public.unaccent'::regdictionary, t))
$$;

-- A name search matches the start of the full name in either order: "Siân", "Siân Jones",
-- "Jones" and "Jones Sian" all find Siân Jones. text_pattern_ops lets LIKE 'prefix%' use them.
CREATE INDEX facilitator_fold_given_idx
    ON facilitator (registry_fold(given_name || ' ' || family_name) text_pattern_ops);
CREATE INDEX facilitator_fold_family_idx
    ON facilitator (registry_fold(family_name || ' ' || given_name) text_pattern_ops);
