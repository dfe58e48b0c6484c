-- 0002: facilitators and their accreditation, accredited training, delivery locations and
-- programme runs. Rules that tie them together live in SQL functions below, so every room
-- (and every report) asks the same question the same way.

-- Facilitators ---------------------------------------------------------------------------

CREATE SEQUENCE facilitator_number_seq;

-- Stored status is what was decided (in_training, accredited, suspended, withdrawn); `lapsed`
-- is never stored: an accredited facilitator past accredited_until reads as lapsed.
CREATE TABLE facilitator (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    registration_number text NOT NULL UNIQUE
                        DEFAULT 'MPF-' || lpad(nextval('facilitator_number_seq')::text, 6, '0'),
    given_name          text NOT NULL CHECK (char_length(given_name) BETWEEN 1 AND 100),
    family_name         text NOT NULL CHECK (char_length(family_name) BETWEEN 1 AND 100),
    email               text,
    phone               text,
    status              text NOT NULL DEFAULT 'in_training'
                        CHECK (status IN ('in_training', 'accredited', 'suspended', 'withdrawn')),
    accredited_on       date,
    accredited_until    date,
    trainer             boolean NOT NULL DEFAULT false,
    reason              text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    CHECK (accredited_until IS NULL OR accredited_on IS NULL OR accredited_until >= accredited_on)
);
CREATE INDEX facilitator_name_idx ON facilitator (family_name, given_name, id);

-- Every state a facilitator has been in and the day it took effect (UK calendar), so the
-- eligibility verdict for a past date reads the records as they stood then.
CREATE TABLE facilitator_status_history (
    id               bigserial PRIMARY KEY,
    facilitator_id   uuid NOT NULL REFERENCES facilitator (id),
    status           text NOT NULL,
    accredited_on    date,
    accredited_until date,
    reason           text,
    effective_on     date NOT NULL DEFAULT registry_today(),
    changed_at       timestamptz NOT NULL DEFAULT now(),
    changed_by       uuid
);
CREATE INDEX facilitator_status_history_idx
    ON facilitator_status_history (facilitator_id, effective_on, id);

-- Employment: who employed whom, from when to when. At most one current employer.
CREATE TABLE facilitator_employment (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    facilitator_id  uuid NOT NULL REFERENCES facilitator (id),
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    started_on      date NOT NULL,
    ended_on        date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE UNIQUE INDEX facilitator_employment_current_idx
    ON facilitator_employment (facilitator_id) WHERE ended_on IS NULL;
CREATE INDEX facilitator_employment_org_idx ON facilitator_employment (organisation_id);

-- A licence's status on a date: its latest recorded status by that day, read through expiry.
CREATE FUNCTION licence_status_on(licence_id uuid, on_date date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT licence_effective_status(h.status, h.valid_until, on_date)
    FROM licence_status_history h
    WHERE h.licence_id = $1
      AND (h.changed_at AT TIME ZONE 'Europe/London')::date <= on_date
    ORDER BY h.changed_at DESC, h.id DESC
    LIMIT 1
$$;

-- 1 when the organisation held a licence that was active on the date (and covered it).
CREATE FUNCTION organisation_licensed_on(org uuid, on_date date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1
        FROM licence l
        JOIN LATERAL (
            SELECT h.status, h.valid_from, h.valid_until
            FROM licence_status_history h
            WHERE h.licence_id = l.id
              AND (h.changed_at AT TIME ZONE 'Europe/London')::date <= on_date
            ORDER BY h.changed_at DESC, h.id DESC
            LIMIT 1
        ) s ON true
        WHERE l.organisation_id = org
          AND licence_effective_status(s.status, s.valid_until, on_date) = 'active'
          AND on_date BETWEEN s.valid_from AND s.valid_until
    )
$$;

-- The eligibility verdict: may this facilitator deliver M-PACT on the date, and for which
-- organisation (their employer on that date). Reason codes are the API's.
CREATE FUNCTION facilitator_eligibility(fid uuid, on_date date,
                                        OUT eligible boolean, OUT reasons text[],
                                        OUT organisation_id uuid, OUT status text,
                                        OUT accredited_until date)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    st record;
BEGIN
    reasons := ARRAY[]::text[];
    SELECT h.status, h.accredited_on, h.accredited_until INTO st
    FROM facilitator_status_history h
    WHERE h.facilitator_id = fid AND h.effective_on <= on_date
    ORDER BY h.effective_on DESC, h.id DESC
    LIMIT 1;
    IF NOT FOUND THEN
        status := NULL;
        reasons := array_append(reasons, 'not_accredited');
    ELSE
        status := st.status;
        accredited_until := st.accredited_until;
        IF st.status = 'accredited' AND st.accredited_until IS NOT NULL
           AND st.accredited_until < on_date THEN
            status := 'lapsed';
            reasons := array_append(reasons, 'accreditation_lapsed');
        ELSIF st.status = 'accredited' AND st.accredited_on IS NOT NULL
              AND st.accredited_on > on_date THEN
            reasons := array_append(reasons, 'not_accredited');
        ELSIF st.status = 'in_training' THEN
            reasons := array_append(reasons, 'not_accredited');
        ELSIF st.status = 'suspended' THEN
            reasons := array_append(reasons, 'suspended');
        ELSIF st.status = 'withdrawn' THEN
            reasons := array_append(reasons, 'withdrawn');
        END IF;
    END IF;
    SELECT e.organisation_id INTO organisation_id
    FROM facilitator_employment e
    WHERE e.facilitator_id = fid AND e.started_on <= on_date
      AND (e.ended_on IS NULL OR e.ended_on >= on_date)
    ORDER BY e.started_on DESC
    LIMIT 1;
    IF organisation_id IS NULL THEN
        reasons := array_append(reasons, 'no_current_employer');
    ELSIF NOT organisation_licensed_on(organisation_id, on_date) THEN
        reasons := array_append(reasons, 'employer_licence_not_active');
    END IF;
    eligible := cardinality(reasons) = 0;
END
$$;

-- Accredited training --------------------------------------------------------------------

CREATE TABLE course (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code             text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{1,31}$'),
    title            text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    kind             text NOT NULL CHECK (kind IN ('practitioner', 'refresher', 'trainer')),
    accrediting_body text,
    credits          integer CHECK (credits BETWEEN 0 AND 1000),
    grants_months    integer CHECK (grants_months BETWEEN 1 AND 120),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          integer NOT NULL DEFAULT 1
);

-- Delivery locations (also venues of training sessions) -----------------------------------

-- Postcode centroids, loaded by the postcode import (a later migration may swap it whole).
CREATE TABLE postcode (
    postcode  text PRIMARY KEY,
    latitude  double precision NOT NULL,
    longitude double precision NOT NULL
);

CREATE TABLE location (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id  uuid NOT NULL REFERENCES organisation (id),
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind             text NOT NULL
                     CHECK (kind IN ('community', 'family_centre', 'school', 'prison', 'health',
                                     'other')),
    address_lines    jsonb NOT NULL
                     CHECK (jsonb_typeof(address_lines) = 'array'
                            AND jsonb_array_length(address_lines) BETWEEN 1 AND 3),
    town             text NOT NULL CHECK (char_length(town) BETWEEN 1 AND 100),
    postcode         text NOT NULL
                     CHECK (postcode ~ '^([A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}|GIR 0AA)$'),
    latitude         double precision CHECK (latitude BETWEEN 49 AND 61.5),
    longitude        double precision CHECK (longitude BETWEEN -11 AND 2.5),
    accessibility    text,
    public           boolean NOT NULL DEFAULT false,
    active           boolean NOT NULL DEFAULT true,
    last_verified_on date,
    archived_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          integer NOT NULL DEFAULT 1,
    -- Prison and school sites are never public, whatever a client asks for.
    CHECK (NOT (public AND kind IN ('prison', 'school'))),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX location_org_idx ON location (organisation_id, name, id);

CREATE TABLE training_session (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    course_id   uuid NOT NULL REFERENCES course (id),
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    venue       text,
    location_id uuid REFERENCES location (id),
    capacity    integer NOT NULL CHECK (capacity BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'completed', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CHECK (ends_on >= starts_on),
    CHECK (venue IS NOT NULL OR location_id IS NOT NULL)
);
CREATE INDEX training_session_starts_idx ON training_session (starts_on, id);

CREATE TABLE training_session_trainer (
    session_id     uuid NOT NULL REFERENCES training_session (id),
    facilitator_id uuid NOT NULL REFERENCES facilitator (id),
    PRIMARY KEY (session_id, facilitator_id)
);

CREATE TABLE enrolment (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id     uuid NOT NULL REFERENCES training_session (id),
    facilitator_id uuid NOT NULL REFERENCES facilitator (id),
    status         text NOT NULL DEFAULT 'enrolled'
                   CHECK (status IN ('enrolled', 'withdrawn', 'attended', 'passed', 'failed')),
    nominated_by   uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1,
    UNIQUE (session_id, facilitator_id)
);
CREATE INDEX enrolment_facilitator_idx ON enrolment (facilitator_id);

-- Programme runs --------------------------------------------------------------------------

-- Variants are data: how many sessions a run has and how many facilitators it needs.
CREATE TABLE programme_variant (
    code             text PRIMARY KEY,
    title            text NOT NULL,
    sessions         integer NOT NULL CHECK (sessions BETWEEN 1 AND 52),
    min_facilitators integer NOT NULL CHECK (min_facilitators BETWEEN 1 AND 10)
);
INSERT INTO programme_variant (code, title, sessions, min_facilitators) VALUES
    ('standard', 'Family assessment, 8 group sessions, family review and reunion', 11, 2),
    ('short', 'Family assessment, 5 group sessions and reunion', 7, 2),
    ('extended', 'Family assessment, 12 group sessions, family review and reunion', 15, 2),
    ('aftercare', 'Aftercare group sessions', 6, 1);

CREATE TABLE programme_run (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id       uuid NOT NULL REFERENCES organisation (id),
    location_id           uuid NOT NULL REFERENCES location (id),
    variant               text NOT NULL REFERENCES programme_variant (code),
    starts_on             date NOT NULL,
    ends_on               date NOT NULL,
    weekday               text CHECK (weekday IN ('monday', 'tuesday', 'wednesday', 'thursday',
                                                  'friday', 'saturday', 'sunday')),
    start_time            time,
    capacity_families     integer NOT NULL CHECK (capacity_families BETWEEN 1 AND 8),
    families_enrolled     integer NOT NULL DEFAULT 0 CHECK (families_enrolled >= 0),
    accepting_referrals   boolean NOT NULL DEFAULT true,
    self_referral_allowed boolean NOT NULL DEFAULT false,
    status                text NOT NULL DEFAULT 'planned'
                          CHECK (status IN ('planned', 'recruiting', 'running', 'completed',
                                            'cancelled')),
    -- Aggregate delivery figures, recorded on completion; never a family's personal data.
    families_started      integer CHECK (families_started >= 0),
    families_completed    integer CHECK (families_completed >= 0),
    adults                integer CHECK (adults >= 0),
    children              integer CHECK (children >= 0),
    sessions_delivered    integer CHECK (sessions_delivered >= 0),
    sessions_planned      integer CHECK (sessions_planned >= 0),
    review_held           boolean,
    reunion_held          boolean,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    version               integer NOT NULL DEFAULT 1,
    CHECK (ends_on >= starts_on),
    CHECK (families_enrolled <= capacity_families),
    CHECK (families_completed IS NULL OR families_started IS NULL
           OR families_completed <= families_started)
);
CREATE INDEX programme_run_org_idx ON programme_run (organisation_id, starts_on, id);
CREATE INDEX programme_run_location_idx ON programme_run (location_id, starts_on);

CREATE TABLE programme_facilitator (
    run_id         uuid NOT NULL REFERENCES programme_run (id),
    facilitator_id uuid NOT NULL REFERENCES facilitator (id),
    PRIMARY KEY (run_id, facilitator_id)
);
CREATE INDEX programme_facilitator_idx ON programme_facilitator (facilitator_id);
