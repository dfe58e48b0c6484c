-- 0001: organisations and their licences, accounts, refresh tokens, sign-in throttling, audit.
-- Extensions needing superuser (cube, earthdistance) are created by the database bootstrap,
-- not here; gen_random_uuid() is built in since PostgreSQL 13.

CREATE TABLE organisation (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind           text NOT NULL
                   CHECK (kind IN ('local_authority', 'nhs', 'charity', 'prison', 'school', 'other')),
    address_lines  jsonb NOT NULL
                   CHECK (jsonb_typeof(address_lines) = 'array'
                          AND jsonb_array_length(address_lines) BETWEEN 1 AND 3),
    town           text NOT NULL CHECK (char_length(town) BETWEEN 1 AND 100),
    postcode       text NOT NULL CHECK (postcode ~ '^([A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}|GIR 0AA)$'),
    phone          text,
    email          text,
    website        text,
    public_contact boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    archived_at    timestamptz,
    version        integer NOT NULL DEFAULT 1
);
CREATE INDEX organisation_name_idx ON organisation (name, id) WHERE archived_at IS NULL;

CREATE SEQUENCE licence_number_seq;

-- The registry's calendar is the UK's: a licence valid until 31 March is valid all of that day
-- in the UK, whatever the server's or the session's time zone.
CREATE FUNCTION registry_today() RETURNS date LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE 'Europe/London')::date
$$;

-- How a licence reads on a date: active or suspended past valid_until is expired.
CREATE FUNCTION licence_effective_status(status text, valid_until date, on_date date)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status IN ('active', 'suspended') AND valid_until < on_date
                THEN 'expired' ELSE status END
$$;

-- Stored status is what an admin set; an active licence past valid_until reads as expired
-- (computed on read) and is stored as expired once a new licence replaces it.
CREATE TABLE licence (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    number          text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'suspended', 'expired', 'revoked')),
    valid_from      date NOT NULL,
    valid_until     date NOT NULL,
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    CHECK (valid_until >= valid_from)
);
-- At most one non-final licence per organisation, enforced by the database as well.
CREATE UNIQUE INDEX licence_one_open_idx ON licence (organisation_id)
    WHERE status IN ('pending', 'active', 'suspended');
CREATE INDEX licence_org_idx ON licence (organisation_id, created_at, id);

-- Every status a licence has had and from when, so later rules can ask how it stood on a date.
CREATE TABLE licence_status_history (
    id          bigserial PRIMARY KEY,
    licence_id  uuid NOT NULL REFERENCES licence (id),
    status      text NOT NULL,
    valid_from  date NOT NULL,
    valid_until date NOT NULL,
    reason      text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  uuid
);
CREATE INDEX licence_status_history_idx ON licence_status_history (licence_id, changed_at);

CREATE TABLE app_user (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'org_admin', 'org_staff')),
    organisation_id uuid REFERENCES organisation (id),
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    CHECK ((role = 'admin') = (organisation_id IS NULL))
);
CREATE UNIQUE INDEX app_user_email_idx ON app_user (lower(email));
CREATE INDEX app_user_org_idx ON app_user (organisation_id);

-- Refresh tokens: stored only as SHA-256, single use; a family is one sign-in's chain.
CREATE TABLE refresh_token (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES app_user (id),
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_token_family_idx ON refresh_token (family_id);
CREATE INDEX refresh_token_user_idx ON refresh_token (user_id);

-- Failed sign-ins, per lower-cased email, for throttling; old rows are pruned on insert.
CREATE TABLE login_failure (
    email_key text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failure_idx ON login_failure (email_key, at);
CREATE INDEX login_failure_at_idx ON login_failure (at);

CREATE TABLE audit_event (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      uuid,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    before        jsonb,
    after         jsonb,
    request_id    text
);
CREATE INDEX audit_event_resource_idx ON audit_event (resource_type, resource_id, id);
