-- bench/sql/scale.sql: resizes a copy of the benchmark database to :target delivery locations
-- for the scale check. Fewer: a random subset is kept (with its runs). More: every site is copied
-- :copies times, moved by up to about 5 km, with its programme runs.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(0.25);
BEGIN;
CREATE TEMP TABLE gone AS SELECT id FROM location ORDER BY id OFFSET :target;
DELETE FROM programme_facilitator WHERE run_id IN
    (SELECT r.id FROM programme_run r JOIN gone g ON g.id = r.location_id);
DELETE FROM programme_outcome WHERE run_id IN
    (SELECT r.id FROM programme_run r JOIN gone g ON g.id = r.location_id);
DELETE FROM programme_run WHERE location_id IN (SELECT id FROM gone);
DELETE FROM location WHERE id IN (SELECT id FROM gone);
CREATE TEMP TABLE copy AS
SELECT l.id AS old, md5(l.id::text || '/' || g)::uuid AS id, g
FROM location l, generate_series(1, :copies) g;
INSERT INTO location (id, organisation_id, name, kind, address_lines, town, postcode, latitude,
                      longitude, accessibility, public, active, last_verified_on, created_at)
SELECT c.id, l.organisation_id, l.name || ' ' || c.g, l.kind, l.address_lines, l.town, l.postcode,
       l.latitude + (random() - 0.5) * 0.09, l.longitude + (random() - 0.5) * 0.14,
       l.accessibility, l.public, l.active, l.last_verified_on, l.created_at
FROM copy c JOIN location l ON l.id = c.old;
INSERT INTO programme_run (id, organisation_id, location_id, variant, starts_on, ends_on, weekday,
                           start_time, capacity_families, families_enrolled, accepting_referrals,
                           self_referral_allowed, status, created_at)
SELECT md5(r.id::text || '/' || c.g)::uuid, r.organisation_id, c.id, r.variant, r.starts_on,
       r.ends_on, r.weekday, r.start_time, r.capacity_families, r.families_enrolled,
       r.accepting_referrals, r.self_referral_allowed, r.status, r.created_at
FROM copy c JOIN programme_run r ON r.location_id = c.old
WHERE r.status <> 'completed';
COMMIT;
ANALYZE location;
ANALYZE programme_run;
ANALYZE public_site;
SELECT count(*) AS locations FROM location;
