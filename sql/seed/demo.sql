-- Demo data for `mpact-registry seed-demo`: a believable registry of 12 organisations across
-- England, Wales (and one in Scotland), 60 facilitators in every status, 3 courses, 4 training
-- sessions with outcomes, 25 delivery locations, 15 programme runs past and upcoming (the
-- completed ones with their delivery records and outcome statistics); and one organisation in
-- Ireland (Cork, an Eircode site), with the towns of the demo sites in the gazetteer (the
-- search by town; the Newports for "which one did you mean?").
--
-- Invented organisations at real-looking places and invented people; no personal data. Demo
-- accounts are made by the seed command itself (server/migrate.c), because their passwords must
-- be hashed.
--
-- Idempotent: `deploy/dev.sh serve` runs it on every start. Every row has a fixed id (or is
-- inserted only WHERE NOT EXISTS), so a second run adds nothing. Dates are relative to the day
-- the seed first ran (registry_today()); once stored, later statements read them back from the
-- tables rather than computing them again, so a run on a later day stays consistent.
--
-- The rules hold for every run in the data, on its start date: the organisation's licence is
-- active (licence_status_history rows are dated on the day each status took effect, so
-- organisation_licensed_on() answers for past dates), the location is the organisation's and
-- active, and each facilitator is eligible for that organisation (facilitator_eligibility()).

-- Organisations ----------------------------------------------------------------------------

INSERT INTO organisation (id, name, kind, address_lines, town, postcode, phone, email, website,
                          public_contact)
VALUES
  ('7b0c1a3e-0000-4000-8000-000000000001', 'Medway Family Recovery Service', 'local_authority',
   '["Gun Wharf", "Dock Road"]', 'Chatham', 'ME4 4TR', '01634 306000',
   'families@medway-recovery.example', 'https://medway-recovery.example', true),
  ('7b0c1a3e-0000-4000-8000-000000000002', 'Bristol Hidden Harm Partnership', 'charity',
   '["12 Queen Square"]', 'Bristol', 'BS1 4NT', '0117 900 1234',
   'hello@bristol-hiddenharm.example', 'https://bristol-hiddenharm.example', true),
  ('7b0c1a3e-0000-4000-8000-000000000003', 'Lothian Children and Families Trust', 'charity',
   '["4 Leith Walk"]', 'Edinburgh', 'EH6 8RG', '0131 555 0100',
   'info@lothian-families.example', NULL, true),
  ('7b0c1a3e-0000-4000-8000-000000000004', 'HMP Northmoor Family Interventions', 'prison',
   '["Northmoor Road"]', 'Wakefield', 'WF2 9AG', NULL, NULL, NULL, false),
  ('7b0c1a3e-0000-4000-8000-000000000005', 'Cardiff Young Carers Network', 'charity',
   '["Unit 3", "Bute Street"]', 'Cardiff', 'CF10 5LB', '029 2000 1000',
   'support@cardiff-youngcarers.example', 'https://cardiff-youngcarers.example', true),
  ('7b0c1a3e-0000-4000-8000-000000000006', 'Swansea Bay Family Support', 'charity',
   '["Orchard Street"]', 'Swansea', 'SA1 5AT', '01632 960106',
   'hello@swanseabay-families.example', 'https://swanseabay-families.example', true),
  ('7b0c1a3e-0000-4000-8000-000000000007', 'Leeds Children and Families Service',
   'local_authority', '["Civic Hall", "Calverley Street"]', 'Leeds', 'LS1 1UR', '01632 960107',
   'mpact@leeds-families.example', 'https://leeds-families.example', true),
  ('7b0c1a3e-0000-4000-8000-000000000008', 'Manchester Families First', 'charity',
   '["22 Great Ancoats Street"]', 'Manchester', 'M4 5AB', '01632 960108',
   'team@manchester-familiesfirst.example', NULL, true),
  ('7b0c1a3e-0000-4000-8000-000000000009', 'Norfolk and Waveney Family Health', 'nhs',
   '["Thorpe Road"]', 'Norwich', 'NR1 1BY', '01632 960109',
   'familyhealth@norfolk-waveney.example', 'https://norfolk-waveney.example', false),
  ('7b0c1a3e-0000-4000-8000-000000000010', 'Tyneside Recovery Community', 'charity',
   '["Shields Road"]', 'Newcastle upon Tyne', 'NE6 1AA', '01632 960110',
   'contact@tyneside-recovery.example', NULL, true),
  ('7b0c1a3e-0000-4000-8000-000000000011', 'Sparkbrook Hope Families', 'charity',
   '["Stratford Road"]', 'Birmingham', 'B11 1AR', '01632 960111',
   'office@sparkbrook-hope.example', NULL, false),
  ('7b0c1a3e-0000-4000-8000-000000000012', 'Cornwall Family Partnership', 'local_authority',
   '["New County Hall", "Treyew Road"]', 'Truro', 'TR1 3AY', '01632 960112',
   'families@cornwall-partnership.example', 'https://cornwall-partnership.example', true)
ON CONFLICT DO NOTHING;

-- Licences: every state. Medway, Bristol, Northmoor, Swansea, Leeds, Manchester (running out
-- within weeks) and Cornwall are active; Lothian suspended; Norfolk pending; Tyneside active but
-- past valid_until (reads as expired); Sparkbrook revoked; Cardiff has none. Leeds also holds
-- an older licence stored as expired.

CREATE TEMP TABLE demo_licence ON COMMIT DROP AS
SELECT l.id::uuid AS id, l.org::uuid AS org, l.status, l.from_days, l.until_days, l.reason
FROM (VALUES
  ('5d1e2f00-0000-4000-8000-000000000001', '7b0c1a3e-0000-4000-8000-000000000001', 'active',
   -400, 695, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000002', '7b0c1a3e-0000-4000-8000-000000000002', 'active',
   -200, 895, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000003', '7b0c1a3e-0000-4000-8000-000000000003', 'suspended',
   -500, 595, 'Suspended pending supervision review'),
  ('5d1e2f00-0000-4000-8000-000000000004', '7b0c1a3e-0000-4000-8000-000000000004', 'active',
   -100, 995, 'Licensed for custodial delivery'),
  ('5d1e2f00-0000-4000-8000-000000000006', '7b0c1a3e-0000-4000-8000-000000000006', 'active',
   -700, 395, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000107', '7b0c1a3e-0000-4000-8000-000000000007', 'expired',
   -1995, -901, 'Replaced by the renewed licence'),
  ('5d1e2f00-0000-4000-8000-000000000007', '7b0c1a3e-0000-4000-8000-000000000007', 'active',
   -900, 195, 'Renewed for a further three years'),
  ('5d1e2f00-0000-4000-8000-000000000008', '7b0c1a3e-0000-4000-8000-000000000008', 'active',
   -1050, 40, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000009', '7b0c1a3e-0000-4000-8000-000000000009', 'pending',
   30, 1125, 'Awaiting the first practitioners'' accreditation'),
  ('5d1e2f00-0000-4000-8000-000000000010', '7b0c1a3e-0000-4000-8000-000000000010', 'active',
   -1200, -20, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000011', '7b0c1a3e-0000-4000-8000-000000000011', 'revoked',
   -800, 295, 'Revoked: delivery outside the programme model'),
  ('5d1e2f00-0000-4000-8000-000000000012', '7b0c1a3e-0000-4000-8000-000000000012', 'active',
   -600, 495, 'Licensed after practitioner training')
) AS l (id, org, status, from_days, until_days, reason);

INSERT INTO licence (id, organisation_id, number, status, valid_from, valid_until, reason,
                     created_at, updated_at)
SELECT l.id, l.org,
       'MPL-' || to_char(registry_today() + l.from_days, 'YYYY') || '-'
           || lpad(nextval('licence_number_seq')::text, 4, '0'),
       l.status, registry_today() + l.from_days, registry_today() + l.until_days, l.reason,
       least(now(), (registry_today() + l.from_days)::timestamp AT TIME ZONE 'Europe/London'),
       now()
FROM demo_licence l
WHERE NOT EXISTS (SELECT 1 FROM licence WHERE licence.id = l.id)
ORDER BY l.from_days, l.id;

-- Each licence's status history, dated by days after its (stored) valid_from. A pending
-- licence's row is dated before its valid_from.
CREATE TEMP TABLE demo_licence_history ON COMMIT DROP AS
SELECT h.id::uuid AS licence_id, h.status, h.after_days, h.reason,
       ((l.valid_from + h.after_days)::timestamp + interval '9 hours')
           AT TIME ZONE 'Europe/London' AS at, l.valid_from, l.valid_until
FROM (VALUES
  ('5d1e2f00-0000-4000-8000-000000000001', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000002', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000003', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000003', 'suspended', 400,
   'Suspended pending supervision review'),
  ('5d1e2f00-0000-4000-8000-000000000004', 'active', 0, 'Licensed for custodial delivery'),
  ('5d1e2f00-0000-4000-8000-000000000006', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000107', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000107', 'expired', 1095, 'Replaced by the renewed licence'),
  ('5d1e2f00-0000-4000-8000-000000000007', 'active', 0, 'Renewed for a further three years'),
  ('5d1e2f00-0000-4000-8000-000000000008', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000009', 'pending', -40,
   'Awaiting the first practitioners'' accreditation'),
  ('5d1e2f00-0000-4000-8000-000000000010', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000011', 'active', 0, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000011', 'revoked', 710,
   'Revoked: delivery outside the programme model'),
  ('5d1e2f00-0000-4000-8000-000000000012', 'active', 0, 'Licensed after practitioner training')
) AS h (id, status, after_days, reason)
JOIN licence l ON l.id = h.id::uuid;

-- Earlier versions of this seed dated the history rows of the first four licences by the time
-- the seed ran; move such rows (written by no user) back to the day the status took effect.
UPDATE licence_status_history h
SET changed_at = d.at
FROM demo_licence_history d
WHERE h.licence_id = d.licence_id AND h.status = d.status AND h.changed_by IS NULL
  AND h.changed_at > d.at + interval '1 day';

INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason,
                                    changed_at)
SELECT d.licence_id, d.status, d.valid_from, d.valid_until, d.reason, d.at
FROM demo_licence_history d
WHERE NOT EXISTS (SELECT 1 FROM licence_status_history h
                  WHERE h.licence_id = d.licence_id AND h.status = d.status)
ORDER BY d.licence_id, d.at;

-- Courses ----------------------------------------------------------------------------------

INSERT INTO course (id, code, title, kind, accrediting_body, credits, grants_months)
VALUES
  ('6c000000-0000-4000-8000-000000000001', 'MPACT-PRAC', 'M-PACT Practitioner Programme',
   'practitioner', 'University of Bath', 20, 36),
  ('6c000000-0000-4000-8000-000000000002', 'MPACT-REFRESH', 'M-PACT Practitioner Refresher',
   'refresher', 'University of Bath', 5, 36),
  ('6c000000-0000-4000-8000-000000000003', 'MPACT-TRAINER', 'M-PACT Trainer Programme',
   'trainer', 'University of Bath', 10, NULL)
ON CONFLICT DO NOTHING;

-- Postcodes and delivery locations -----------------------------------------------------------

-- Centroids for every location's postcode, and a few neighbours (for "near me" searches), with
-- their real local authority districts and countries (ONS GSS codes, given by outward code: the
-- demo's postcodes of each outward code lie in one district). A postcode loaded earlier without
-- them gets them; a district a real import set is left alone.
INSERT INTO postcode (postcode, latitude, longitude, oslaua, ctry)
SELECT v.postcode, v.latitude, v.longitude, d.oslaua, d.ctry
FROM (VALUES
  ('ME4 4TR', 51.3853, 0.5233), ('ME4 5BA', 51.3745, 0.5370), ('ME7 5XX', 51.3780, 0.5570),
  ('BS1 4NT', 51.4508, -2.5945), ('BS5 0AX', 51.4593, -2.5664), ('BS10 6DF', 51.4960, -2.5930),
  ('EH6 8RG', 55.9650, -3.1770), ('EH16 4AX', 55.9330, -3.1370), ('WF2 9AG', 53.6750, -1.5200),
  ('WF2 9AJ', 53.6762, -1.5186), ('CF10 5JA', 51.4700, -3.1680), ('CF11 6JA', 51.4730, -3.2050),
  ('SA1 8AS', 51.6230, -3.9300), ('SA1 6PW', 51.6330, -3.9600), ('LS7 3EX', 53.8170, -1.5290),
  ('LS9 7TF', 53.8020, -1.5190), ('LS8 5HE', 53.8130, -1.5100), ('M4 6DE', 53.4840, -2.2250),
  ('M8 8BE', 53.5050, -2.2380), ('NR1 3RE', 52.6270, 1.2930), ('NR30 2PA', 52.6070, 1.7290),
  ('NE6 2PA', 54.9760, -1.5780), ('B11 1AB', 52.4630, -1.8800), ('TR1 2SJ', 50.2630, -5.0510),
  ('TR18 3JT', 50.1230, -5.5370),
  ('ME4 4UH', 51.3850, 0.5260), ('ME4 6DU', 51.3790, 0.5280), ('BS1 5TR', 51.4520, -2.5970),
  ('BS5 0BB', 51.4600, -2.5650), ('LS7 3HB', 53.8190, -1.5300), ('LS9 7AB', 53.8010, -1.5210),
  ('M4 6BF', 53.4830, -2.2270), ('SA1 8BZ', 51.6220, -3.9320), ('CF10 5BG', 51.4710, -3.1660),
  ('TR1 2TH', 50.2620, -5.0530), ('EH6 8RU', 55.9640, -3.1760)
) AS v (postcode, latitude, longitude)
JOIN (VALUES
  ('ME4', 'E06000035', 'E92000001'), ('ME7', 'E06000035', 'E92000001'),
  ('BS1', 'E06000023', 'E92000001'), ('BS5', 'E06000023', 'E92000001'),
  ('BS10', 'E06000023', 'E92000001'), ('EH6', 'S12000036', 'S92000003'),
  ('EH16', 'S12000036', 'S92000003'), ('WF2', 'E08000036', 'E92000001'),
  ('CF10', 'W06000015', 'W92000004'), ('CF11', 'W06000015', 'W92000004'),
  ('SA1', 'W06000011', 'W92000004'), ('LS7', 'E08000035', 'E92000001'),
  ('LS8', 'E08000035', 'E92000001'), ('LS9', 'E08000035', 'E92000001'),
  ('M4', 'E08000003', 'E92000001'), ('M8', 'E08000003', 'E92000001'),
  ('NR1', 'E07000148', 'E92000001'), ('NR30', 'E07000145', 'E92000001'),
  ('NE6', 'E08000021', 'E92000001'), ('B11', 'E08000025', 'E92000001'),
  ('TR1', 'E06000052', 'E92000001'), ('TR18', 'E06000052', 'E92000001')
) AS d (outward, oslaua, ctry) ON d.outward = split_part(v.postcode, ' ', 1)
ON CONFLICT (postcode) DO UPDATE SET oslaua = EXCLUDED.oslaua, ctry = EXCLUDED.ctry
WHERE postcode.oslaua IS NULL;

-- The names of those districts (and of Neath Port Talbot, which Swansea Bay also serves), as the
-- ONS "LA_UA names and codes" file spells them; import-areas renames them when it runs.
INSERT INTO local_authority (code, name)
VALUES
  ('E06000035', 'Medway'), ('E06000023', 'Bristol, City of'), ('S12000036', 'City of Edinburgh'),
  ('E08000036', 'Wakefield'), ('W06000015', 'Cardiff'), ('W06000011', 'Swansea'),
  ('W06000012', 'Neath Port Talbot'), ('E08000035', 'Leeds'), ('E08000003', 'Manchester'),
  ('E07000148', 'Norwich'), ('E07000145', 'Great Yarmouth'),
  ('E08000021', 'Newcastle upon Tyne'), ('E08000025', 'Birmingham'), ('E06000052', 'Cornwall')
ON CONFLICT DO NOTHING;

-- The districts each organisation is commissioned for (Sparkbrook, revoked, none), unless set.
UPDATE organisation o SET serves_areas = a.areas::text[]
FROM (VALUES
  (1, '{E06000035}'), (2, '{E06000023}'), (3, '{S12000036}'), (4, '{E08000036}'),
  (5, '{W06000015}'), (6, '{W06000011,W06000012}'), (7, '{E08000035}'), (8, '{E08000003}'),
  (9, '{E07000148,E07000145}'), (10, '{E08000021}'), (12, '{E06000052}')
) AS a (n, areas)
WHERE o.id = ('7b0c1a3e-0000-4000-8000-0000000000' || lpad(a.n::text, 2, '0'))::uuid
  AND o.serves_areas = '{}';

-- 25 sites: 9 community, 7 family centres, 4 health, 4 schools, 1 prison. Schools and the
-- prison are never public; Sparkbrook's hub closed with its revoked licence (inactive).
INSERT INTO location (id, organisation_id, name, kind, address_lines, town, postcode, latitude,
                      longitude, accessibility, public, active, last_verified_on)
SELECT ('b0000000-0000-4000-8000-0000000000' || lpad(v.n::text, 2, '0'))::uuid,
       ('7b0c1a3e-0000-4000-8000-0000000000' || lpad(v.org::text, 2, '0'))::uuid,
       v.name, v.kind, v.address::jsonb, v.town, v.postcode, p.latitude, p.longitude,
       v.access, v.kind NOT IN ('prison', 'school') AND v.active, v.active,
       registry_today() - (v.n * 23) % 300
FROM (VALUES
  (1, 1, 'Gun Wharf Family Centre', 'family_centre', '["Dock Road"]', 'Chatham', 'ME4 4TR',
   'Step-free entrance; hearing loop in the group room', true),
  (2, 1, 'Luton Road Community Hub', 'community', '["112 Luton Road"]', 'Chatham', 'ME4 5BA',
   'Ground floor; accessible toilet', true),
  (3, 1, 'Byron Primary School', 'school', '["Byron Road"]', 'Gillingham', 'ME7 5XX',
   NULL, true),
  (4, 2, 'Queen Square Family Rooms', 'family_centre', '["12 Queen Square"]', 'Bristol',
   'BS1 4NT', 'Lift to the first floor', true),
  (5, 2, 'Barton Hill Settlement', 'community', '["43 Ducie Road"]', 'Bristol', 'BS5 0AX',
   'Step-free; creche on site', true),
  (6, 2, 'Southmead Health Centre', 'health', '["Ullswater Road"]', 'Bristol', 'BS10 6DF',
   'Step-free; parking for blue badge holders', true),
  (7, 3, 'Leith Walk Family Centre', 'family_centre', '["4 Leith Walk"]', 'Edinburgh',
   'EH6 8RG', 'Ramp at the side entrance', true),
  (8, 3, 'Craigmillar Community Rooms', 'community', '["Niddrie Mains Road"]', 'Edinburgh',
   'EH16 4AX', NULL, true),
  (9, 4, 'HMP Northmoor Family Wing', 'prison', '["Northmoor Road"]', 'Wakefield', 'WF2 9AG',
   'Visits booked through the prison', true),
  (10, 4, 'Northmoor Visitors'' Centre', 'community', '["Northmoor Road"]', 'Wakefield',
   'WF2 9AJ', 'Step-free; baby changing', true),
  (11, 5, 'Butetown Community Centre', 'community', '["Loudoun Square"]', 'Cardiff',
   'CF10 5JA', 'Step-free; Welsh and English spoken', true),
  (12, 5, 'Ninian Park Primary School', 'school', '["Sloper Road"]', 'Cardiff', 'CF11 6JA',
   NULL, true),
  (13, 6, 'St Thomas Family Centre', 'family_centre', '["Port Tennant Road"]', 'Swansea',
   'SA1 8AS', 'Ground floor', true),
  (14, 6, 'Townhill Health Clinic', 'health', '["Townhill Road"]', 'Swansea', 'SA1 6PW',
   'Step-free; accessible toilet', true),
  (15, 7, 'Chapeltown Family Centre', 'family_centre', '["Reginald Terrace"]', 'Leeds',
   'LS7 3EX', 'Step-free; quiet room', true),
  (16, 7, 'Burmantofts Community Hall', 'community', '["Stoney Rock Lane"]', 'Leeds',
   'LS9 7TF', NULL, true),
  (17, 7, 'Harehills High School', 'school', '["Harehills Lane"]', 'Leeds', 'LS8 5HE', NULL,
   true),
  (18, 8, 'Ancoats Community Rooms', 'community', '["Blossom Street"]', 'Manchester', 'M4 6DE',
   'Lift; accessible toilet', true),
  (19, 8, 'Cheetham Hill Health Centre', 'health', '["Cheetham Hill Road"]', 'Manchester',
   'M8 8BE', 'Step-free', true),
  (20, 9, 'Norwich Community Health Hub', 'health', '["Rouen Road"]', 'Norwich', 'NR1 3RE',
   'Step-free; hearing loop', true),
  (21, 9, 'Great Yarmouth Family Centre', 'family_centre', '["Northgate Street"]',
   'Great Yarmouth', 'NR30 2PA', NULL, true),
  (22, 10, 'Byker Community Centre', 'community', '["Brinkburn Street"]', 'Newcastle upon Tyne',
   'NE6 2PA', 'Ramp at the front entrance', true),
  (23, 11, 'Sparkbrook Family Hub', 'community', '["Stratford Road"]', 'Birmingham', 'B11 1AB',
   NULL, false),
  (24, 12, 'Truro Family Centre', 'family_centre', '["Lemon Street"]', 'Truro', 'TR1 2SJ',
   'Step-free; parking', true),
  (25, 12, 'Penwith Academy', 'school', '["St Clare Street"]', 'Penzance', 'TR18 3JT', NULL,
   true)
) AS v (n, org, name, kind, address, town, postcode, access, active)
LEFT JOIN postcode p ON p.postcode = v.postcode
ON CONFLICT DO NOTHING;

-- Training sessions ------------------------------------------------------------------------

-- Two practitioner courses (their passes accredit for 36 months), a refresher that extended
-- most of those accreditations, and this week's course, awaiting its outcomes.
INSERT INTO training_session (id, course_id, starts_on, ends_on, venue, location_id, capacity,
                              status)
VALUES
  ('7e000000-0000-4000-8000-000000000001', '6c000000-0000-4000-8000-000000000001',
   registry_today() - 1204, registry_today() - 1200, 'University of Bath, Claverton Down', NULL,
   30, 'completed'),
  ('7e000000-0000-4000-8000-000000000002', '6c000000-0000-4000-8000-000000000001',
   registry_today() - 1079, registry_today() - 1075, NULL, 'b0000000-0000-4000-8000-000000000005',
   24, 'completed'),
  ('7e000000-0000-4000-8000-000000000003', '6c000000-0000-4000-8000-000000000002',
   registry_today() - 151, registry_today() - 150, 'Leeds Civic Hall', NULL, 30, 'completed'),
  ('7e000000-0000-4000-8000-000000000004', '6c000000-0000-4000-8000-000000000001',
   registry_today() - 4, registry_today() - 1, NULL, 'b0000000-0000-4000-8000-000000000001', 16,
   'scheduled')
ON CONFLICT DO NOTHING;

-- The sessions' dates as stored, which the facilitators' records follow.
CREATE TEMP TABLE demo_dates ON COMMIT DROP AS
SELECT max(starts_on) FILTER (WHERE n = 1) AS t1s, max(ends_on) FILTER (WHERE n = 1) AS t1e,
       max(starts_on) FILTER (WHERE n = 2) AS t2s, max(ends_on) FILTER (WHERE n = 2) AS t2e,
       max(ends_on) FILTER (WHERE n = 3) AS t3e, max(starts_on) FILTER (WHERE n = 4) AS t4s
FROM (SELECT right(id::text, 1)::int AS n, starts_on, ends_on FROM training_session
      WHERE id::text LIKE '7e000000-0000-4000-8000-00000000000_') s;

-- Facilitators ------------------------------------------------------------------------------

-- The plan: 60 people, by number i.
--   1-2    trainers, accredited before the registry began (records carried over)
--   3-26   passed a practitioner course (3-14 the first, 15-26 the second) and the refresher
--   27-30  passed the second practitioner course, not refreshed: expire within weeks
--   31-38  passed the first practitioner course, not refreshed: lapsed
--   39-48  in training: at this week's course (39 failed and 40 withdrew from the second)
--   49-54  passed a practitioner course, then suspended
--   55-60  passed a practitioner course, then withdrawn (57 and 60 left their employer)
-- Names come from two lists of coprime length, so every (given, family) pair differs.
CREATE TEMP TABLE demo_fac ON COMMIT DROP AS
SELECT p.i, p.grp, p.cohort,
       ('fa000000-0000-4000-8000-' || lpad(p.i::text, 12, '0'))::uuid AS id,
       ('7b0c1a3e-0000-4000-8000-0000000000' || lpad(p.org::text, 2, '0'))::uuid AS org,
       (ARRAY['Aisha', 'Ben', 'Carys', 'Dylan', 'Eleanor', 'Farhan', 'Gemma', 'Harri', 'Imogen',
              'Jamal', 'Kirsty', 'Liam', 'Megan', 'Nia', 'Owen', 'Priya', 'Rhys', 'Sian',
              'Tomasz', 'Usha', 'Victoria', 'Wyn', 'Yasmin', 'Zach', 'Amara', 'Bethan',
              'Callum', 'Deepa', 'Ffion', 'Grace', 'Hamza'])[(p.i * 7) % 31 + 1] AS given_name,
       (ARRAY['Ashworth', 'Bevan', 'Chaudhry', 'Davies', 'Ellison', 'Fairbrother', 'Griffiths',
              'Hallam', 'Iqbal', 'Jenkins', 'Kowalski', 'Llewellyn', 'Mensah', 'Nightingale',
              'Okafor', 'Pritchard', 'Quayle', 'Rowntree', 'Sandhu', 'Thackeray', 'Underwood',
              'Vaughan', 'Whitfield', 'Yardley', 'Zielinski', 'Akhtar', 'Blackwood', 'Carrick',
              'Dunmore'])[(p.i * 11) % 29 + 1] AS family_name,
       CASE p.cohort WHEN 1 THEN d.t1s - 100 WHEN 2 THEN d.t2s - 75
                     ELSE CASE WHEN p.grp = 'trainer' THEN d.t1s - 400
                               ELSE d.t4s - 90 + (p.i % 5) * 7 END END AS hired_on,
       CASE p.cohort WHEN 1 THEN d.t1e WHEN 2 THEN d.t2e
                     ELSE CASE WHEN p.grp = 'trainer' THEN d.t1s - 300 END END AS accredited_on,
       CASE p.cohort WHEN 1 THEN (d.t1e + interval '36 months')::date
                     WHEN 2 THEN (d.t2e + interval '36 months')::date
                     ELSE CASE WHEN p.grp = 'trainer' THEN d.t3e + 750 END END AS first_until,
       (d.t3e + interval '36 months')::date AS refreshed_until,
       d.t3e AS refreshed_on,
       d.t3e - 30 AS suspended_on,
       d.t3e - 100 AS withdrawn_on
FROM (
  SELECT i,
         CASE WHEN i <= 2 THEN 'trainer' WHEN i <= 26 THEN 'refreshed'
              WHEN i <= 30 THEN 'expiring' WHEN i <= 38 THEN 'lapsed'
              WHEN i <= 48 THEN 'in_training' WHEN i <= 54 THEN 'suspended'
              ELSE 'withdrawn' END AS grp,
         CASE WHEN i BETWEEN 3 AND 14 OR i BETWEEN 31 AND 38 OR i BETWEEN 49 AND 51
                   OR i BETWEEN 55 AND 57 THEN 1
              WHEN i BETWEEN 15 AND 30 OR i BETWEEN 52 AND 54 OR i BETWEEN 58 AND 60 THEN 2
         END AS cohort,
         CASE WHEN i <= 2 THEN i
              WHEN i <= 26 THEN (ARRAY[1, 2, 4, 6, 7, 8, 12])[(i - 3) % 7 + 1]
              ELSE (ARRAY[3, 1, 9, 7,                      -- 27-30 expiring
                          10, 11, 5, 3, 9, 2, 6, 12,       -- 31-38 lapsed
                          9, 5, 1, 2, 6, 7, 12, 9, 5, 4,   -- 39-48 in training
                          1, 7, 3, 10, 2, 8,               -- 49-54 suspended
                          11, 6, 4, 12, 10, 1])[i - 26]    -- 55-60 withdrawn
         END AS org
  FROM generate_series(1, 60) AS i
) p
CROSS JOIN demo_dates d;

-- Registration numbers come from the sequence (MPF-000001 upwards on a fresh database);
-- WHERE NOT EXISTS rather than ON CONFLICT, so a second run draws no numbers.
INSERT INTO facilitator (id, given_name, family_name, email, phone, status, accredited_on,
                         accredited_until, trainer, reason)
SELECT f.id, f.given_name, f.family_name,
       lower(f.given_name || '.' || f.family_name) || '@'
           || coalesce(split_part(o.email, '@', 2), 'northmoor-families.example'),
       '07700 900' || lpad(f.i::text, 3, '0'),
       CASE f.grp WHEN 'in_training' THEN 'in_training' WHEN 'suspended' THEN 'suspended'
                  WHEN 'withdrawn' THEN 'withdrawn' ELSE 'accredited' END,
       f.accredited_on,
       CASE WHEN f.grp = 'refreshed' THEN f.refreshed_until ELSE f.first_until END,
       f.grp = 'trainer',
       CASE f.grp WHEN 'suspended' THEN 'Suspended pending a practice review'
                  WHEN 'withdrawn' THEN 'Withdrawn at their own request' END
FROM demo_fac f
JOIN organisation o ON o.id = f.org
WHERE NOT EXISTS (SELECT 1 FROM facilitator x WHERE x.id = f.id)
ORDER BY f.i;

-- Employment: everyone's employer since they were hired; 31 and 36 moved from an earlier
-- employer; 57 and 60 left theirs when they withdrew and have none now.
INSERT INTO facilitator_employment (id, facilitator_id, organisation_id, started_on, ended_on)
SELECT ('fe000000-0000-4000-8000-' || lpad(f.i::text, 12, '0'))::uuid, f.id, f.org,
       CASE WHEN f.i IN (31, 36) THEN f.refreshed_on - 250 ELSE f.hired_on END,
       CASE WHEN f.i IN (57, 60) THEN f.withdrawn_on END
FROM demo_fac f
UNION ALL
SELECT ('fe000000-0000-4000-8001-' || lpad(f.i::text, 12, '0'))::uuid, f.id,
       CASE f.i WHEN 31 THEN '7b0c1a3e-0000-4000-8000-000000000007'::uuid
                ELSE '7b0c1a3e-0000-4000-8000-000000000001'::uuid END,
       f.hired_on, f.refreshed_on - 251
FROM demo_fac f
WHERE f.i IN (31, 36)
ON CONFLICT DO NOTHING;

-- Status history, for facilitators that have none yet: in training from hiring (the trainers'
-- records start at their carried-over accreditation), accredited on passing, extended by the
-- refresher, then suspended or withdrawn.
INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on, accredited_until,
                                        reason, effective_on, changed_at)
SELECT h.id, h.status, h.accredited_on, h.accredited_until, h.reason, h.effective_on,
       (h.effective_on::timestamp + interval '9 hours') AT TIME ZONE 'Europe/London'
FROM (
  SELECT f.i, 1 AS step, f.id, 'in_training' AS status, NULL::date AS accredited_on,
         NULL::date AS accredited_until, 'Started practitioner training' AS reason,
         f.hired_on AS effective_on
  FROM demo_fac f WHERE f.grp <> 'trainer'
  UNION ALL
  SELECT f.i, 2, f.id, 'accredited', f.accredited_on, f.first_until,
         CASE WHEN f.grp = 'trainer' THEN 'Accreditation carried over from the paper register'
              ELSE 'Passed MPACT-PRAC' END,
         f.accredited_on
  FROM demo_fac f WHERE f.accredited_on IS NOT NULL
  UNION ALL
  SELECT f.i, 3, f.id, 'accredited', f.accredited_on, f.refreshed_until, 'Passed MPACT-REFRESH',
         f.refreshed_on
  FROM demo_fac f WHERE f.grp = 'refreshed'
  UNION ALL
  SELECT f.i, 4, f.id, f.grp, f.accredited_on, f.first_until,
         CASE f.grp WHEN 'suspended' THEN 'Suspended pending a practice review'
                    ELSE 'Withdrawn at their own request' END,
         CASE f.grp WHEN 'suspended' THEN f.suspended_on ELSE f.withdrawn_on END
  FROM demo_fac f WHERE f.grp IN ('suspended', 'withdrawn')
) h
WHERE NOT EXISTS (SELECT 1 FROM facilitator_status_history x WHERE x.facilitator_id = h.id)
ORDER BY h.i, h.step;

-- Trainers of every session, and the enrolments with their outcomes.
INSERT INTO training_session_trainer (session_id, facilitator_id)
SELECT ('7e000000-0000-4000-8000-00000000000' || s)::uuid,
       ('fa000000-0000-4000-8000-' || lpad(t::text, 12, '0'))::uuid
FROM generate_series(1, 4) AS s, generate_series(1, 2) AS t
ON CONFLICT DO NOTHING;

INSERT INTO enrolment (id, session_id, facilitator_id, status)
SELECT ('e0000000-0000-4000-8000-' || lpad((e.s * 1000 + f.i)::text, 12, '0'))::uuid,
       ('7e000000-0000-4000-8000-00000000000' || e.s)::uuid, f.id, e.status
FROM demo_fac f
CROSS JOIN LATERAL (
  SELECT 1 AS s, 'passed' AS status WHERE f.cohort = 1
  UNION ALL SELECT 2, 'passed' WHERE f.cohort = 2
  UNION ALL SELECT 2, 'failed' WHERE f.i = 39
  UNION ALL SELECT 2, 'withdrawn' WHERE f.i = 40
  UNION ALL SELECT 3, 'passed' WHERE f.grp = 'refreshed'
  UNION ALL SELECT 4, 'attended' WHERE f.grp = 'in_training'
) e
ON CONFLICT DO NOTHING;

-- Programme runs ----------------------------------------------------------------------------

-- 15 runs: 7 completed (with their aggregate figures), 2 running, 5 upcoming, 1 cancelled.
-- Each is delivered by facilitators of its organisation who were accredited on its start date.
INSERT INTO programme_run (id, organisation_id, location_id, variant, starts_on, ends_on,
                           weekday, start_time, capacity_families, families_enrolled,
                           accepting_referrals, self_referral_allowed, status, families_started,
                           families_completed, adults, children, sessions_delivered,
                           sessions_planned, review_held, reunion_held, created_at)
SELECT ('9a000000-0000-4000-8000-0000000000' || lpad(r.n::text, 2, '0'))::uuid,
       ('7b0c1a3e-0000-4000-8000-0000000000' || lpad(r.org::text, 2, '0'))::uuid,
       ('b0000000-0000-4000-8000-0000000000' || lpad(r.loc::text, 2, '0'))::uuid,
       r.variant, registry_today() + r.start_days, registry_today() + r.start_days + r.weeks * 7,
       to_char(registry_today() + r.start_days, 'FMday'), r.start_time::time, r.capacity,
       r.enrolled, r.status IN ('planned', 'recruiting'), r.n % 3 = 0, r.status,
       r.started, r.completed, r.adults, r.children,
       CASE WHEN r.status = 'completed' THEN v.sessions - (r.n % 4 = 1)::int END,
       CASE WHEN r.status = 'completed' THEN v.sessions END,
       CASE WHEN r.status = 'completed' AND r.variant <> 'aftercare' THEN true END,
       CASE WHEN r.status = 'completed' AND r.variant <> 'aftercare' THEN true END,
       least(now(), (registry_today() + r.start_days - 60)::timestamp
                        AT TIME ZONE 'Europe/London')
FROM (VALUES
  (1, 1, 1, 'standard', -350, 10, '10:00', 'completed', 8, 7, 7, 6, 9, 12),
  (2, 1, 2, 'standard', -180, 10, '18:00', 'completed', 8, 6, 6, 5, 8, 10),
  (3, 1, 1, 'standard', 21, 10, '10:00', 'recruiting', 8, 4, NULL, NULL, NULL, NULL),
  (4, 2, 4, 'standard', -170, 10, '10:00', 'completed', 8, 8, 8, 7, 11, 15),
  (5, 2, 5, 'short', -20, 6, '17:30', 'running', 6, 6, NULL, NULL, NULL, NULL),
  (6, 2, 6, 'standard', 60, 10, '13:00', 'planned', 8, 0, NULL, NULL, NULL, NULL),
  (7, 4, 9, 'extended', -30, 14, '14:00', 'running', 8, 8, NULL, NULL, NULL, NULL),
  (8, 4, 9, 'standard', 45, 10, '14:00', 'planned', 8, 0, NULL, NULL, NULL, NULL),
  (9, 6, 13, 'standard', -600, 10, '10:00', 'completed', 7, 7, 7, 5, 8, 13),
  (10, 6, 14, 'standard', 14, 10, '10:30', 'recruiting', 8, 3, NULL, NULL, NULL, NULL),
  (11, 7, 15, 'standard', -800, 10, '18:00', 'completed', 8, 8, 8, 8, 12, 17),
  (12, 7, 16, 'aftercare', -300, 5, '18:00', 'completed', 6, 5, 5, 5, 6, 8),
  (13, 8, 18, 'standard', -400, 10, '10:00', 'completed', 8, 6, 6, 4, 7, 9),
  (14, 12, 24, 'standard', 30, 10, '11:00', 'recruiting', 8, 2, NULL, NULL, NULL, NULL),
  (15, 8, 19, 'short', -90, 6, '10:00', 'cancelled', 6, 0, NULL, NULL, NULL, NULL)
) AS r (n, org, loc, variant, start_days, weeks, start_time, status, capacity, enrolled,
        started, completed, adults, children)
JOIN programme_variant v ON v.code = r.variant
ON CONFLICT DO NOTHING;

INSERT INTO programme_facilitator (run_id, facilitator_id)
SELECT ('9a000000-0000-4000-8000-0000000000' || lpad(a.n::text, 2, '0'))::uuid,
       ('fa000000-0000-4000-8000-' || lpad(a.i::text, 12, '0'))::uuid
FROM (VALUES (1, 3), (1, 10), (2, 17), (2, 24), (3, 3), (3, 17), (4, 4), (4, 11), (5, 18),
             (5, 25), (6, 4), (6, 25), (7, 5), (7, 12), (8, 19), (8, 26), (9, 6), (9, 13),
             (10, 6), (10, 20), (11, 7), (11, 14), (12, 21), (13, 8), (13, 15), (14, 9),
             (14, 16), (15, 15), (15, 22)) AS a (n, i)
ON CONFLICT DO NOTHING;

-- Delivery records of the completed runs (issue 15): referrals, onward referrals, carers and
-- children, feedback and cost, all counts. Run 12 is like a council's first run: 5 families, every
-- carer female (mothers and a grandmother). An aftercare run holds no review or reunion.
UPDATE programme_run p SET families_referred = d.referred, families_assessed = d.assessed,
       delivery_cost_gbp = d.cost, referrals_by_source = d.refs::jsonb,
       onward_referrals = d.onward::jsonb, adults_by_relationship = d.adults::jsonb,
       children_by_age_band = d.children::jsonb, feedback = d.feedback::jsonb,
       review_held = coalesce(p.review_held, false), reunion_held = coalesce(p.reunion_held, false)
FROM (VALUES
  (1, 8, 7, 5882,
   '{"drug_alcohol_treatment": 1, "self": 2, "criminal_justice": 1, "childrens_social_care": 1, "school": 1, "family_member": 1, "young_peoples_service": 1}',
   '{"domestic_abuse": 2, "mental_health": 1, "housing": 1, "counselling_trauma": 1}',
   '{"mother": {"female": 5}, "grandmother": {"female": 1}, "step_parent_partner": {"female": 1, "male": 2}}',
   '{"8_11": {"male": 4, "female": 1}, "12_14": {"female": 3}, "15_17": {"male": 3, "female": 1}}',
   '{"wellbeing_improved": {"agree": 12, "neither": 2, "disagree": 1}, "more_able_to_parent": {"agree": 12, "neither": 2, "disagree": 1}, "child_understands_addiction": {"agree": 7, "neither": 1, "disagree": 1}, "family_gets_on_better": {"agree": 12, "neither": 2, "disagree": 1}, "would_recommend": {"agree": 14, "neither": 0, "disagree": 1}}'),
  (2, 8, 7, 4900,
   '{"criminal_justice": 1, "childrens_social_care": 2, "drug_alcohol_treatment": 2, "child_protection_plan": 1, "self": 1, "family_member": 1}',
   '{"drug_alcohol_treatment": 2, "domestic_abuse": 1, "mental_health": 1}',
   '{"step_parent_partner": {"female": 2}, "mother": {"female": 3}, "other_relative": {"female": 1}, "father": {"male": 2}}',
   '{"12_14": {"female": 3, "male": 2}, "15_17": {"male": 1, "female": 2}, "8_11": {"male": 2}}',
   '{"wellbeing_improved": {"agree": 10, "neither": 2, "disagree": 1}, "more_able_to_parent": {"agree": 10, "neither": 2, "disagree": 1}, "child_understands_addiction": {"agree": 6, "neither": 1, "disagree": 1}, "family_gets_on_better": {"agree": 10, "neither": 2, "disagree": 1}, "would_recommend": {"agree": 12, "neither": 0, "disagree": 1}}'),
  (4, 10, 9, 6594,
   '{"self": 2, "voluntary_organisation": 1, "childrens_social_care": 2, "child_protection_plan": 2, "drug_alcohol_treatment": 1, "health": 1, "criminal_justice": 1}',
   '{"advice": 1, "counselling_trauma": 3, "domestic_abuse": 1}',
   '{"grandmother": {"female": 2}, "step_parent_partner": {"female": 1}, "mother": {"female": 6}, "father": {"male": 2}}',
   '{"8_11": {"female": 2, "male": 2}, "15_17": {"male": 3, "not_given": 1}, "12_14": {"male": 3, "female": 4}}',
   '{"wellbeing_improved": {"agree": 14, "neither": 3, "disagree": 1}, "more_able_to_parent": {"agree": 14, "neither": 3, "disagree": 1}, "child_understands_addiction": {"agree": 8, "neither": 2, "disagree": 1}, "family_gets_on_better": {"agree": 14, "neither": 3, "disagree": 1}, "would_recommend": {"agree": 17, "neither": 0, "disagree": 1}}'),
  (9, 10, 8, 5317,
   '{"health": 1, "young_peoples_service": 1, "criminal_justice": 1, "child_protection_plan": 1, "drug_alcohol_treatment": 2, "voluntary_organisation": 1, "self": 1, "childrens_social_care": 1, "school": 1}',
   '{"counselling_trauma": 1, "drug_alcohol_treatment": 2, "domestic_abuse": 1}',
   '{"foster_kinship": {"female": 2}, "mother": {"female": 2}, "grandmother": {"female": 1}, "other_relative": {"female": 1}, "grandfather": {"male": 1}, "father": {"male": 1}}',
   '{"12_14": {"male": 3, "female": 2}, "15_17": {"female": 3}, "8_11": {"male": 4, "female": 1}}',
   '{"wellbeing_improved": {"agree": 10, "neither": 2, "disagree": 1}, "more_able_to_parent": {"agree": 10, "neither": 2, "disagree": 1}, "child_understands_addiction": {"agree": 6, "neither": 1, "disagree": 1}, "family_gets_on_better": {"agree": 10, "neither": 2, "disagree": 1}, "would_recommend": {"agree": 12, "neither": 0, "disagree": 1}}'),
  (11, 11, 11, 6349,
   '{"child_protection_plan": 4, "childrens_social_care": 2, "health": 1, "drug_alcohol_treatment": 1, "young_peoples_service": 2, "family_member": 1}',
   '{"advice": 2, "mental_health": 1, "counselling_trauma": 1, "further_mpact": 1}',
   '{"mother": {"female": 6}, "foster_kinship": {"female": 1}, "grandmother": {"female": 1}, "other_relative": {"female": 1, "male": 2}, "grandfather": {"male": 1}}',
   '{"8_11": {"male": 3, "female": 3, "not_given": 1}, "15_17": {"male": 1, "not_given": 1}, "12_14": {"female": 4, "male": 4}}',
   '{"wellbeing_improved": {"agree": 16, "neither": 3, "disagree": 1}, "more_able_to_parent": {"agree": 16, "neither": 3, "disagree": 1}, "child_understands_addiction": {"agree": 9, "neither": 2, "disagree": 1}, "family_gets_on_better": {"agree": 16, "neither": 3, "disagree": 1}, "would_recommend": {"agree": 19, "neither": 0, "disagree": 1}}'),
  (12, 6, 5, 3893,
   '{"childrens_social_care": 3, "drug_alcohol_treatment": 2, "self": 1}',
   '{"domestic_abuse": 2, "advice": 1, "counselling_trauma": 1, "drug_alcohol_treatment": 1}',
   '{"mother": {"female": 4}, "grandmother": {"female": 2}}',
   '{"8_11": {"female": 2, "male": 2}, "12_14": {"female": 2, "male": 1}, "15_17": {"male": 1}}',
   '{"wellbeing_improved": {"agree": 8, "neither": 1, "disagree": 1}, "more_able_to_parent": {"agree": 8, "neither": 1, "disagree": 1}, "child_understands_addiction": {"agree": 4, "neither": 0, "disagree": 1}, "family_gets_on_better": {"agree": 8, "neither": 1, "disagree": 1}, "would_recommend": {"agree": 10, "neither": 0, "disagree": 0}}'),
  (13, 9, 8, 4958,
   '{"childrens_social_care": 4, "child_protection_plan": 1, "family_member": 2, "school": 1, "voluntary_organisation": 1}',
   '{"counselling_trauma": 1, "domestic_abuse": 1, "housing": 1}',
   '{"foster_kinship": {"female": 1}, "grandmother": {"female": 2}, "mother": {"female": 1}, "other_relative": {"female": 2}, "grandfather": {"male": 1}}',
   '{"12_14": {"female": 3, "male": 1}, "8_11": {"female": 1, "male": 2}, "15_17": {"female": 1, "male": 1}}',
   '{"wellbeing_improved": {"agree": 9, "neither": 1, "disagree": 1}, "more_able_to_parent": {"agree": 9, "neither": 1, "disagree": 1}, "child_understands_addiction": {"agree": 5, "neither": 1, "disagree": 1}, "family_gets_on_better": {"agree": 9, "neither": 1, "disagree": 1}, "would_recommend": {"agree": 10, "neither": 0, "disagree": 1}}')
) AS d (n, referred, assessed, cost, refs, onward, adults, children, feedback)
WHERE p.id = ('9a000000-0000-4000-8000-0000000000' || lpad(d.n::text, 2, '0'))::uuid
  AND p.families_referred IS NULL;

-- Outcome statistics of the completed runs, one row per seeded measure: sufficient statistics only
-- (n, sums before and after, sum of changes and of their squares), as the API stores them; the
-- scores they were computed from are not kept anywhere.
INSERT INTO programme_outcome (run_id, measure_id, n, sum_pre, sum_post, sum_d, sum_d2, pre_only,
                               post_only)
SELECT ('9a000000-0000-4000-8000-0000000000' || lpad(o.n::text, 2, '0'))::uuid, m.id, o.pairs, o.pre,
       o.post, o.d, o.d2, o.pre_only, 0
FROM (VALUES
  (1, 'family_functioning', 5, 14.5, 12.5, -2, 1.125, 1),
  (1, 'problem_severity', 9, 55, 42, -13, 31, 0),
  (1, 'family_managing', 6, 21, 32, 11, 27, 0),
  (1, 'coping_efficacy', 9, 22, 24, 2, 2, 0),
  (1, 'parental_wellbeing', 8, 255, 335, 80, 968, 1),
  (2, 'family_functioning', 4, 11.25, 9.25, -2, 1.125, 1),
  (2, 'problem_severity', 7, 47, 35, -12, 24, 1),
  (2, 'family_managing', 4, 12, 16, 4, 6, 1),
  (2, 'coping_efficacy', 8, 19, 22, 3, 3, 0),
  (2, 'parental_wellbeing', 7, 236, 304, 68, 854, 1),
  (4, 'family_functioning', 7, 20, 18.5, -1.5, 0.75, 0),
  (4, 'problem_severity', 11, 72, 55, -17, 39, 0),
  (4, 'family_managing', 6, 21, 25, 4, 4, 1),
  (4, 'coping_efficacy', 11, 27, 30, 3, 3, 0),
  (4, 'parental_wellbeing', 11, 371, 454, 83, 957, 0),
  (9, 'family_functioning', 5, 15.75, 13.25, -2.5, 1.625, 0),
  (9, 'problem_severity', 7, 47, 38, -9, 15, 1),
  (9, 'family_managing', 5, 17, 25, 8, 22, 0),
  (9, 'coping_efficacy', 7, 17, 19, 2, 2, 1),
  (9, 'parental_wellbeing', 7, 225, 271, 46, 428, 1),
  (11, 'family_functioning', 8, 23.75, 20.75, -3, 2.125, 0),
  (11, 'problem_severity', 11, 76, 69, -7, 13, 1),
  (11, 'family_managing', 8, 30, 37, 7, 11, 0),
  (11, 'coping_efficacy', 12, 28, 32, 4, 4, 0),
  (11, 'parental_wellbeing', 12, 385, 454, 69, 789, 0),
  (12, 'family_functioning', 5, 15, 12.25, -2.75, 1.8125, 0),
  (12, 'problem_severity', 4, 28, 24, -4, 10, 1),
  (12, 'family_managing', 5, 20, 25, 5, 13, 0),
  (12, 'coping_efficacy', 4, 9, 10, 1, 1, 1),
  (12, 'parental_wellbeing', 5, 175, 206, 31, 277, 0),
  (13, 'family_functioning', 3, 8.75, 8, -0.75, 0.3125, 1),
  (13, 'problem_severity', 7, 44, 36, -8, 16, 0),
  (13, 'family_managing', 3, 8, 11, 3, 9, 1),
  (13, 'coping_efficacy', 7, 18, 20, 2, 2, 0),
  (13, 'parental_wellbeing', 7, 224, 284, 60, 692, 0)
) AS o (n, code, pairs, pre, post, d, d2, pre_only)
JOIN outcome_measure m ON m.code = o.code
ON CONFLICT DO NOTHING;

-- Outward-code (district) centroids for the demo postcodes, as the postcode import builds them.
SELECT postcode_district_refresh();

-- Ireland and the search by town -----------------------------------------------------------

-- An organisation in Cork with one site, by Eircode (no open Eircode file: the site's
-- coordinates are its town's, from the places below), county Cork.
INSERT INTO organisation (id, name, kind, address_lines, town, postcode, country, phone, email,
                          website, public_contact)
VALUES ('7b0c1a3e-0000-4000-8000-000000000013', 'Cork Families Together', 'charity',
        '["14 South Mall"]', 'Cork', 'T12 K8AF', 'IE', '+353 21 000 0013',
        'hello@corkfamilies.example', 'https://corkfamilies.example', true)
ON CONFLICT DO NOTHING;

INSERT INTO licence (id, organisation_id, number, status, valid_from, valid_until, reason)
SELECT '5d1e2f00-0000-4000-8000-000000000013', '7b0c1a3e-0000-4000-8000-000000000013',
       'MPL-' || to_char(registry_today() - 200, 'YYYY') || '-'
           || lpad(nextval('licence_number_seq')::text, 4, '0'),
       'active', registry_today() - 200, registry_today() + 895,
       'Licensed after practitioner training'
WHERE NOT EXISTS (SELECT 1 FROM licence WHERE id = '5d1e2f00-0000-4000-8000-000000000013');

INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason,
                                    changed_at)
SELECT l.id, 'active', l.valid_from, l.valid_until, l.reason,
       (l.valid_from::timestamp + interval '9 hours') AT TIME ZONE 'Europe/London'
FROM licence l
WHERE l.id = '5d1e2f00-0000-4000-8000-000000000013'
  AND NOT EXISTS (SELECT 1 FROM licence_status_history h WHERE h.licence_id = l.id);

-- The towns of the demo sites (and the Newports), as import-places would load them from the ONS
-- Index of Place Names and GeoNames' IE.txt: one row per place, its district or province.
INSERT INTO place (name, area, country, latitude, longitude, size)
SELECT v.name, v.area, v.country, v.lat, v.lon, v.size
FROM (VALUES
  ('Chatham', 'Medway', 'GB', 51.3807, 0.5290, 5000),
  ('Gillingham', 'Medway', 'GB', 51.3890, 0.5486, 5000),
  ('Bristol', 'Bristol, City of', 'GB', 51.4545, -2.5879, 10000),
  ('Edinburgh', 'City of Edinburgh', 'GB', 55.9533, -3.1883, 100),
  ('Wakefield', 'Wakefield', 'GB', 53.6833, -1.4977, 10000),
  ('Cardiff', 'Cardiff', 'GB', 51.4816, -3.1791, 10000),
  ('Swansea', 'Swansea', 'GB', 51.6214, -3.9436, 10000),
  ('Leeds', 'Leeds', 'GB', 53.8008, -1.5491, 10000),
  ('Manchester', 'Manchester', 'GB', 53.4808, -2.2426, 10000),
  ('Norwich', 'Norwich', 'GB', 52.6309, 1.2974, 10000),
  ('Great Yarmouth', 'Great Yarmouth', 'GB', 52.6083, 1.7305, 10000),
  ('Newcastle upon Tyne', 'Newcastle upon Tyne', 'GB', 54.9783, -1.6178, 10000),
  ('Birmingham', 'Birmingham', 'GB', 52.4862, -1.8904, 10000),
  ('Truro', 'Cornwall', 'GB', 50.2632, -5.0510, 5000),
  ('Penzance', 'Cornwall', 'GB', 50.1186, -5.5371, 5000),
  ('Newport', 'Newport', 'GB', 51.5842, -2.9977, 10000),
  ('Newport', 'Isle of Wight', 'GB', 50.7019, -1.2883, 10000),
  ('Newport', 'Telford and Wrekin', 'GB', 52.7691, -2.3787, 100),
  ('Cork', 'Munster', 'IE', 51.8985, -8.4756, 222333),
  ('Newport', 'Connacht', 'IE', 53.8833, -9.5500, 600)
) AS v (name, area, country, lat, lon, size)
WHERE NOT EXISTS (SELECT 1 FROM place p WHERE p.name = v.name AND p.area = v.area
                  AND p.country = v.country);

INSERT INTO location (id, organisation_id, name, kind, address_lines, town, postcode, country,
                      county, latitude, longitude, accessibility, public, active,
                      last_verified_on)
SELECT 'b0000000-0000-4000-8000-000000000026', '7b0c1a3e-0000-4000-8000-000000000013',
       'South Mall Family Centre', 'family_centre', '["14 South Mall"]', 'Cork', 'T12 K8AF',
       'IE', 'IE-CO', p.latitude, p.longitude, 'Step-free; lift to the first floor', true, true,
       registry_today() - 20
FROM place p
WHERE p.name = 'Cork' AND p.country = 'IE'
ORDER BY p.size DESC
LIMIT 1
ON CONFLICT DO NOTHING;

-- "Ask about a place" (enquiries.c): the Medway service takes enquiries from families, and the
-- licensing body's central contact is what the finder offers when nothing is near. Fictional
-- numbers (Ofcom's drama range) and example addresses.
UPDATE organisation SET enquiries_enabled = true, enquiry_email = 'enquiries@medway-recovery.example'
WHERE id = '7b0c1a3e-0000-4000-8000-000000000001';
UPDATE central_contact_setting
SET name = 'M-PACT family counsellors', phone = '01632 960000',
    email = 'counsellors@licensing-body.example', web_chat_url = 'https://chat.licensing-body.example/',
    opening_hours = 'Monday to Friday, 9am to 5pm', feedback_email = 'feedback@licensing-body.example'
WHERE name IS NULL;
