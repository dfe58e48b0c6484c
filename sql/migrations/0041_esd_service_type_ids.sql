-- 0041: the esd Service types identifiers of the service types 0030 seeded without one
-- (issue 18; README: "Open Referral UK", Taxonomy).
--
-- Source: the LGA's Service types list (http://id.esd.org.uk/list/services) as its CSV download
-- (Identifier,Label,Description,...), in the copy kept by the okfn ckanext-esdstandards
-- extension (ckanext-esdstandards-data/services.csv): history notes up to list version 4.0.1,
-- newest items dated 2015-02-05. Identifiers never change; labels have (the CSV's history notes).
-- A directory matches a term by its identifier and shows the list's label, so a term identified
-- here takes the list's label and scope note as its name and description:
--
--   831  Family support groups        (seeded as "Family support")
--   730  Drugs advice and support     (seeded as "Drug and alcohol support"; the list keeps
--                                      alcohol apart, so:)
--   727  Alcohol advice and support   (new: M-PACT is for families affected by either)
--
-- "Parenting support" is removed: that list has no parenting support service type (175
-- "Parenting orders" is the court order; 1579 "Family information services" and 53 "Children's
-- centres" are other services), and a term without an identifier in a published list is no term
-- a directory can match. Nothing stores a term's id (the services' attributes are computed).
--
-- Idempotent by key: each row is set by its fixed id, and only when it differs.
UPDATE openreferral_taxonomy_term t
SET name = v.name, description = v.description, code = v.code, updated_at = now()
FROM (VALUES
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9101'::uuid, 'Family support groups',
     'Information and advice about organisations in the local area who may be able to provide '
     'support to children and their families.', '831'),
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9102'::uuid, 'Drugs advice and support',
     'This service offers confidential help and support to people affected by abuse of both '
     'illegal drugs and prescribed drugs.', '730')
) AS v (id, name, description, code)
WHERE t.id = v.id
  AND t.taxonomy_id = '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9001'
  AND (t.name, t.description, t.code) IS DISTINCT FROM (v.name, v.description, v.code);

INSERT INTO openreferral_taxonomy_term (id, taxonomy_id, name, description, code) VALUES
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9104', '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9001',
     'Alcohol advice and support',
     'This service provides counselling advice and support for people affected by alcohol '
     'abuse/dependency.', '727')
ON CONFLICT (id) DO NOTHING;

DELETE FROM openreferral_taxonomy_term
 WHERE id = '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9103' AND code IS NULL;
