-- 0030: the Open Referral UK feed's taxonomies and the length of a programme session
-- (server/openreferral.c: /openreferral/taxonomies, /openreferral/taxonomy_terms, the services'
-- `attributes`, the schedules' `closes_at`).
--
-- The vocabularies are the LGA's "electronic service delivery" (esd) lists, the ones Open
-- Referral UK's guidance tells UK directories to use (CURIEs esdServiceType and esdNeed): the
-- Service types list (http://id.esd.org.uk/list/services) and the Needs list
-- (http://id.esd.org.uk/list/needs). Only the few terms the programme needs are here, not the
-- lists. A term's `code` is its identifier in the list, NULL where it was not confirmed against
-- standards.esd.org.uk when this migration was written (README: "Open Referral UK").
-- Ids are fixed here and never change: directories keep them.
CREATE TABLE openreferral_taxonomy (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
    description text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 500),
    uri         text NOT NULL CHECK (uri ~ '^https?://'),
    -- A term's term_uri is this followed by its code.
    term_uri_prefix text NOT NULL CHECK (term_uri_prefix ~ '^https?://'),
    version     text CHECK (char_length(version) BETWEEN 1 AND 40),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- `tags_services`: every M-PACT service carries the term (as an attribute).
CREATE TABLE openreferral_taxonomy_term (
    id            uuid PRIMARY KEY,
    taxonomy_id   uuid NOT NULL REFERENCES openreferral_taxonomy (id),
    parent_id     uuid REFERENCES openreferral_taxonomy_term (id),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description   text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 500),
    code          text CHECK (char_length(code) BETWEEN 1 AND 40),
    tags_services boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (taxonomy_id, name)
);
CREATE INDEX openreferral_taxonomy_term_taxonomy_idx
    ON openreferral_taxonomy_term (taxonomy_id, name, id);

INSERT INTO openreferral_taxonomy (id, name, description, uri, term_uri_prefix) VALUES
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9001', 'esdServiceTypes',
     'LGA Service types list (electronic service delivery standards)',
     'http://id.esd.org.uk/list/services', 'http://id.esd.org.uk/service/'),
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9002', 'esdNeeds',
     'LGA Needs list (electronic service delivery standards)',
     'http://id.esd.org.uk/list/needs', 'http://id.esd.org.uk/need/');

INSERT INTO openreferral_taxonomy_term (id, taxonomy_id, name, description, code) VALUES
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9101', '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9001',
     'Family support', 'Support for families and children in need', NULL),
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9102', '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9001',
     'Drug and alcohol support',
     'Support for people affected by drug or alcohol misuse, their own or a family member''s',
     NULL),
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9103', '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9001',
     'Parenting support', 'Help and courses for parents and carers', NULL),
    ('5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9201', '5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9002',
     'Social inclusion', 'Taking part in community life; not being isolated', '69');

-- How long one group session of a variant lasts: a schedule's closes_at is its opens_at plus
-- this. M-PACT groups meet for two hours.
ALTER TABLE programme_variant
    ADD COLUMN session_minutes integer NOT NULL DEFAULT 120
        CHECK (session_minutes BETWEEN 15 AND 480);

-- GET /openreferral/service_at_locations/{id} finds the site from its service_at_location id.
CREATE INDEX location_openreferral_sal_idx
    ON location (openreferral_uuid('service_at_location', id));
