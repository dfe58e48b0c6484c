-- Demo data for `mpact-registry seed-demo`: idempotent (fixed ids, ON CONFLICT DO NOTHING).
-- Invented organisations at real-looking places; no personal data. Demo accounts are made by
-- the seed command itself, because their passwords must be hashed.

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
   'support@cardiff-youngcarers.example', 'https://cardiff-youngcarers.example', true)
ON CONFLICT (id) DO NOTHING;

INSERT INTO licence (id, organisation_id, number, status, valid_from, valid_until, reason)
SELECT l.id::uuid, l.org::uuid,
       'MPL-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('licence_number_seq')::text, 4, '0'),
       l.status, (registry_today() + l.from_days), (registry_today() + l.until_days), l.reason
FROM (VALUES
  ('5d1e2f00-0000-4000-8000-000000000001', '7b0c1a3e-0000-4000-8000-000000000001', 'active',
   -400, 695, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000002', '7b0c1a3e-0000-4000-8000-000000000002', 'active',
   -200, 895, 'Licensed after practitioner training'),
  ('5d1e2f00-0000-4000-8000-000000000003', '7b0c1a3e-0000-4000-8000-000000000003', 'suspended',
   -500, 595, 'Suspended pending supervision review'),
  ('5d1e2f00-0000-4000-8000-000000000004', '7b0c1a3e-0000-4000-8000-000000000004', 'active',
   -100, 995, 'Licensed for custodial delivery')
) AS l (id, org, status, from_days, until_days, reason)
WHERE NOT EXISTS (SELECT 1 FROM licence WHERE licence.id = l.id::uuid);

INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason)
SELECT l.id, l.status, l.valid_from, l.valid_until, l.reason
FROM licence l
WHERE l.id::text LIKE '5d1e2f00-%'
  AND NOT EXISTS (SELECT 1 FROM licence_status_history h WHERE h.licence_id = l.id);
