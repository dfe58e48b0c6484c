-- bench/sql/generate.sql: the benchmark's registry, generated deterministically.
-- psql variables: seed (a number in [-1, 1]), norg, nfac, nloc, nrun, nuser, hash (the password
-- hash of the template user, copied to every generated user).
-- Identifiers are md5-derived UUIDs and every random choice comes from the seeded random(), so
-- the same seed gives the same data (dates are relative to registry_today()).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(:seed);

BEGIN;
CREATE TEMP TABLE words AS
SELECT * FROM (VALUES
  (ARRAY['Amelia','Oliver','Isla','George','Ava','Noah','Mia','Arthur','Ivy','Leo','Freya','Oscar',
         'Siân','Rhys','Niamh','Callum','Aisha','Mohammed','Zofia','Tomás','Chloé','Eilidh','Priya',
         'Kwame','Hannah','Dylan','Grace','Ethan','Lucy','Jack']::text[],
   ARRAY['Smith','Jones','Taylor','Brown','Williams','Wilson','Johnson','Davies','Patel','Wright',
         'Evans','Thomas','Roberts','Khan','Walker','Hughes','Green','Lewis','Hall','Clarke',
         'Ó Briain','Nowak','Müller','Campbell','Murray','MacLeod','Begum','Okafor','Price','Ward']::text[],
   ARRAY['Leeds','Bristol','Cardiff','Durham','Exeter','Norwich','Plymouth','Truro','Wakefield',
         'Blackburn','Chester','Canterbury','Doncaster','Gloucester','Hull','Leicester',
         'Birmingham','London','Glasgow','Liverpool','Manchester','Newcastle','Sheffield','York',
         'Swansea','Aberdeen','Inverness','Dundee','Carlisle','Lincoln']::text[])
) AS t(given, family, towns);

-- Organisations: mostly charities, councils and NHS bodies; a few prisons and schools.
INSERT INTO organisation (id, name, kind, address_lines, town, postcode, phone, email, website,
                          public_contact, created_at)
SELECT md5('org' || i)::uuid,
       format('%s %s %s', w.towns[1 + (i % 30)],
              (ARRAY['Family Support','Families Together','Community Trust','Parenting Network',
                     'Children''s Services','Outreach'])[1 + (i % 6)], i),
       CASE WHEN r < 0.45 THEN 'charity' WHEN r < 0.70 THEN 'local_authority'
            WHEN r < 0.85 THEN 'nhs' WHEN r < 0.95 THEN 'other'
            WHEN r < 0.98 THEN 'prison' ELSE 'school' END,
       jsonb_build_array(format('%s High Street', 1 + i % 300)),
       w.towns[1 + (i % 30)],
       format('%s%s %s%s', (ARRAY['LS','BS','CF','DH','EX','NR','PL','TR','WF','BB'])[1 + i % 10],
              1 + i % 29, i % 10, (ARRAY['AB','DE','FG','HJ','LN','PQ','RS','TU','WX','YZ'])[1 + (i / 10) % 10]),
       '0113 496 ' || lpad((i % 10000)::text, 4, '0'),
       format('contact%s@org.example', i), format('https://org%s.example', i),
       r2 < 0.6, now() - interval '3 years'
FROM (SELECT i, random() AS r, random() AS r2 FROM generate_series(1, :norg) i) g, words w;

-- Licences: 88% active (valid from 400 days ago for two years), 5% suspended, 4% expired, the
-- rest none. Each with its history row (the rules read the history).
CREATE TEMP TABLE lic AS
SELECT i, md5('lic' || i)::uuid AS id, md5('org' || i)::uuid AS org,
       CASE WHEN r < 0.88 THEN 'active' WHEN r < 0.93 THEN 'suspended' WHEN r < 0.97 THEN 'expired'
            ELSE NULL END AS status
FROM (SELECT i, random() AS r FROM generate_series(1, :norg) i) g;
INSERT INTO licence (id, organisation_id, number, status, valid_from, valid_until, created_at)
SELECT id, org, format('LIC-B%06s', i), status,
       CASE WHEN status = 'expired' THEN registry_today() - 900 ELSE registry_today() - 400 END,
       CASE WHEN status = 'expired' THEN registry_today() - 170 ELSE registry_today() + 700 END,
       now() - interval '400 days'
FROM lic WHERE status IS NOT NULL;
INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, changed_at)
SELECT l.id, l.status, l.valid_from, l.valid_until, now() - interval '400 days'
FROM licence l JOIN lic ON lic.id = l.id;

-- Facilitators MPF-000001..: 70% accredited (a few lapsed), 15% in training, 8% suspended,
-- 7% withdrawn; histories and employment (85% currently employed, some with a past employer).
CREATE TEMP TABLE fac AS
SELECT i, md5('fac' || i)::uuid AS id, 1 + floor(random() * :norg)::int AS org_i,
       random() AS r, random() AS r_emp, random() AS r_prev
FROM generate_series(1, :nfac) i;
INSERT INTO facilitator (id, registration_number, given_name, family_name, email, status,
                         accredited_on, accredited_until, trainer, created_at)
SELECT f.id, 'MPF-' || lpad(f.i::text, 6, '0'), w.given[1 + (f.i * 7) % 30],
       w.family[1 + (f.i * 13 / 7) % 30], format('f%s@facilitators.example', f.i),
       CASE WHEN f.r < 0.70 THEN 'accredited' WHEN f.r < 0.85 THEN 'in_training'
            WHEN f.r < 0.93 THEN 'suspended' ELSE 'withdrawn' END,
       CASE WHEN f.r < 0.70 OR f.r >= 0.85 THEN registry_today() - 300 END,
       CASE WHEN f.r < 0.035 THEN registry_today() - 30
            WHEN f.r < 0.70 OR f.r >= 0.85 THEN registry_today() + 400 END,
       f.i % 50 = 0, now() - interval '2 years'
FROM fac f, words w;
SELECT setval('facilitator_number_seq', :nfac);
INSERT INTO facilitator_status_history (facilitator_id, status, effective_on, changed_at)
SELECT id, 'in_training', registry_today() - 600, now() - interval '600 days' FROM fac;
INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on, accredited_until,
                                        effective_on, changed_at)
SELECT id, status, accredited_on, accredited_until, registry_today() - 300,
       now() - interval '300 days'
FROM facilitator f WHERE status <> 'in_training';
INSERT INTO facilitator_employment (facilitator_id, organisation_id, started_on, ended_on)
SELECT id, md5('org' || (1 + (org_i * 31) % :norg))::uuid, registry_today() - 1200,
       registry_today() - 601
FROM fac WHERE r_prev < 0.2;
INSERT INTO facilitator_employment (facilitator_id, organisation_id, started_on)
SELECT id, md5('org' || org_i)::uuid, registry_today() - 600 FROM fac WHERE r_emp < 0.85;

-- Each location's postcode is a loaded one (a seeded sample), so that it has a local authority
-- district (postcode.oslaua) for the delivery report's area filter.
CREATE TEMP TABLE locpc AS
SELECT row_number() OVER () AS k, postcode
FROM (SELECT postcode FROM postcode WHERE oslaua IS NOT NULL
      ORDER BY md5(postcode || 'loc' || :'seed') LIMIT :nloc) s;

-- Locations: 85% in the area the synthetic postcodes cover (England and Wales between latitude
-- 50.6 and 54.5, longitude -4.5 and 0.9), the rest in Scotland, Wales and the far north. 90% of
-- the sites that may be public are public; 5% inactive; prison and school sites 8%.
CREATE TEMP TABLE loc AS
SELECT i, md5('loc' || i)::uuid AS id, 1 + floor(random() * :norg)::int AS org_i,
       random() AS r_area, random() AS r_lat, random() AS r_lon, random() AS r_kind,
       random() AS r_pub, random() AS r_act
FROM generate_series(1, :nloc) i;
INSERT INTO location (id, organisation_id, name, kind, address_lines, town, postcode, latitude,
                      longitude, accessibility, public, active, last_verified_on, created_at)
SELECT l.id, md5('org' || l.org_i)::uuid, format('%s Family Centre %s', w.towns[1 + l.i % 30], l.i),
       k.kind, jsonb_build_array(format('%s Station Road', 1 + l.i % 200)), w.towns[1 + l.i % 30],
       coalesce(pc.postcode, format('ME%s %sAB', 1 + l.i % 29, l.i % 10)),
       CASE WHEN l.r_area < 0.85 THEN 50.6 + l.r_lat * 3.9
            WHEN l.r_area < 0.95 THEN 55.0 + l.r_lat * 2.6 ELSE 51.6 + l.r_lat * 1.6 END,
       CASE WHEN l.r_area < 0.85 THEN -4.5 + l.r_lon * 5.4
            WHEN l.r_area < 0.95 THEN -5.0 + l.r_lon * 3.0 ELSE -4.8 + l.r_lon * 1.8 END,
       CASE WHEN l.i % 3 = 0 THEN 'Step-free access; hearing loop' END,
       k.kind NOT IN ('prison', 'school') AND l.r_pub < 0.9, l.r_act >= 0.05,
       registry_today() - (l.i % 300), now() - interval '2 years'
FROM loc l
CROSS JOIN words w
LEFT JOIN locpc pc ON pc.k = l.i
CROSS JOIN LATERAL (SELECT CASE WHEN l.r_kind < 0.04 THEN 'prison' WHEN l.r_kind < 0.08 THEN 'school'
                                WHEN l.r_kind < 0.45 THEN 'community'
                                WHEN l.r_kind < 0.80 THEN 'family_centre'
                                WHEN l.r_kind < 0.92 THEN 'health' ELSE 'other' END AS kind) k;

-- Programme runs: 60% upcoming (planned or recruiting, some open to self-referral), 40% past and
-- completed with figures and a delivery record (referrals, who came, onward referrals, feedback,
-- a cost for 80%) whose breakdowns add up to its totals; two facilitators each.
CREATE TEMP TABLE run AS
SELECT i, md5('run' || i)::uuid AS id, 1 + floor(random() * :nloc)::int AS loc_i,
       random() AS r_when, floor(random() * 200)::int AS days, random() AS r_v, random() AS r_sr,
       1 + floor(random() * :nfac)::int AS f1, 1 + floor(random() * :nfac)::int AS f2
FROM generate_series(1, :nrun) i;
INSERT INTO programme_run (id, organisation_id, location_id, variant, starts_on, ends_on, weekday,
                           start_time, capacity_families, families_enrolled, accepting_referrals,
                           self_referral_allowed, status, families_started, families_completed,
                           adults, children, sessions_delivered, sessions_planned, review_held,
                           reunion_held, families_referred, families_assessed, delivery_cost_gbp,
                           referrals_by_source, onward_referrals, adults_by_relationship,
                           children_by_age_band, feedback, created_at)
SELECT r.id, l.organisation_id, l.id,
       (ARRAY['standard','standard','short','extended','aftercare'])[1 + floor(r.r_v * 5)::int],
       d.starts_on, d.starts_on + 70,
       (ARRAY['monday','tuesday','wednesday','thursday','friday'])[1 + r.i % 5], time '10:00',
       8, CASE WHEN d.upcoming THEN r.i % 8 ELSE 6 END, true, r.r_sr < 0.3,
       CASE WHEN NOT d.upcoming THEN 'completed' WHEN r.i % 2 = 0 THEN 'recruiting' ELSE 'planned' END,
       CASE WHEN NOT d.upcoming THEN 6 END, CASE WHEN NOT d.upcoming THEN 5 END,
       CASE WHEN NOT d.upcoming THEN 9 END, CASE WHEN NOT d.upcoming THEN 14 END,
       CASE WHEN NOT d.upcoming THEN 11 END, CASE WHEN NOT d.upcoming THEN 11 END,
       CASE WHEN NOT d.upcoming THEN true END, CASE WHEN NOT d.upcoming THEN true END,
       CASE WHEN NOT d.upcoming THEN 8 + r.i % 3 END, CASE WHEN NOT d.upcoming THEN 7 END,
       CASE WHEN NOT d.upcoming AND r.i % 5 <> 0 THEN 4000 + (r.i % 5) * 250 END,
       CASE WHEN NOT d.upcoming THEN jsonb_build_object('self', 2, 'school', 3, 'health', 3 + r.i % 3) END,
       CASE WHEN NOT d.upcoming THEN jsonb_build_object('advice', 2, 'mental_health', 1 + r.i % 2) END,
       CASE WHEN NOT d.upcoming THEN '{"mother": {"female": 5}, "father": {"male": 3}, "grandmother": {"female": 1}}'::jsonb END,
       CASE WHEN NOT d.upcoming THEN '{"8_11": {"female": 4, "male": 3}, "12_14": {"female": 3, "male": 2}, "15_17": {"male": 2}}'::jsonb END,
       CASE WHEN NOT d.upcoming THEN jsonb_build_object(
           'would_recommend', jsonb_build_object('agree', 7 + r.i % 2, 'neither', 1, 'disagree', 1 - r.i % 2),
           'wellbeing_improved', jsonb_build_object('agree', 6, 'neither', 2, 'disagree', 1)) END,
       now() - interval '1 year'
FROM run r
JOIN location l ON l.id = md5('loc' || r.loc_i)::uuid
CROSS JOIN LATERAL (SELECT r.r_when < 0.6 AS upcoming,
                           CASE WHEN r.r_when < 0.6 THEN registry_today() + 1 + r.days
                                ELSE registry_today() - 100 - r.days * 2 END AS starts_on) d;
-- The completed runs' outcome scores, as sufficient statistics (8 pairs on two measures).
INSERT INTO programme_outcome (run_id, measure_id, n, sum_pre, sum_post, sum_d, sum_d2)
SELECT p.id, m.id, 8, m.pre + p.k, m.pre + p.k + m.d, m.d, m.d2
FROM (SELECT id, (row_number() OVER (ORDER BY id)) % 4 AS k FROM programme_run
      WHERE status = 'completed') p
CROSS JOIN (SELECT id, CASE code WHEN 'coping_efficacy' THEN 20 ELSE 320 END AS pre,
                   CASE code WHEN 'coping_efficacy' THEN 10 ELSE 40 END AS d,
                   CASE code WHEN 'coping_efficacy' THEN 20 ELSE 260 END AS d2
            FROM outcome_measure WHERE code IN ('coping_efficacy', 'parental_wellbeing')) m;
INSERT INTO programme_facilitator (run_id, facilitator_id)
SELECT id, md5('fac' || f1)::uuid FROM run
UNION
SELECT id, md5('fac' || f2)::uuid FROM run;

-- Users, all with the one known password: 50 admins, one org_admin per organisation, the rest
-- staff of an organisation.
INSERT INTO app_user (id, email, password_hash, role, organisation_id)
SELECT md5('user' || i)::uuid, format('user%s@bench.example', i), :'hash',
       CASE WHEN i <= 50 THEN 'admin' WHEN i <= 50 + :norg THEN 'org_admin' ELSE 'org_staff' END,
       CASE WHEN i <= 50 THEN NULL
            WHEN i <= 50 + :norg THEN md5('org' || (i - 50))::uuid
            ELSE md5('org' || (1 + (i * 17) % :norg))::uuid END
FROM generate_series(1, :nuser) i;
COMMIT;

-- Who may write in the write scenario: org_admins of licensed organisations with an active site
-- and at least two facilitators eligible for a run starting within a year.
DROP TABLE IF EXISTS bench_writer;
CREATE TABLE bench_writer AS
SELECT u.email, o.id AS org, loc.id AS location_id, fs.ids AS facilitator_ids
FROM organisation o
JOIN app_user u ON u.organisation_id = o.id AND u.role = 'org_admin'
JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'
CROSS JOIN LATERAL (SELECT l.id FROM location l WHERE l.organisation_id = o.id AND l.active
                    AND l.archived_at IS NULL ORDER BY l.id LIMIT 1) loc
CROSS JOIN LATERAL (SELECT array_agg(f.id::text ORDER BY f.id) AS ids
                    FROM (SELECT f.id FROM facilitator f
                          JOIN facilitator_employment e ON e.facilitator_id = f.id
                               AND e.ended_on IS NULL AND e.organisation_id = o.id
                          WHERE f.status = 'accredited' AND f.accredited_until > registry_today() + 400 - 1
                          ORDER BY f.id LIMIT 2) f) fs
WHERE o.archived_at IS NULL AND cardinality(fs.ids) = 2
ORDER BY o.id LIMIT 16;

-- The postcodes the searches use: a seeded sample of the loaded table.
DROP TABLE IF EXISTS bench_postcode;
CREATE TABLE bench_postcode AS
SELECT row_number() OVER () AS k, postcode
FROM (SELECT postcode FROM postcode ORDER BY md5(postcode || :'seed') LIMIT 5000) s;

CREATE UNIQUE INDEX bench_postcode_k_idx ON bench_postcode (k);

ANALYZE;
