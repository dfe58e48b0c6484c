-- 0006: API clients (OAuth 2.0 client credentials) of licensed organisations, and their secrets.
-- A secret is 32 random bytes shown once; only its SHA-256 is kept (it is not a password: a fast
-- hash of a high-entropy secret cannot be guessed back). A client has one current secret
-- (expires_at NULL) and, after a rotation, the previous one until its overlap ends.

CREATE TABLE api_client (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    client_id       text NOT NULL UNIQUE CHECK (client_id ~ '^mpc_[A-Za-z0-9_-]{22}$'),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    scopes          jsonb NOT NULL
                    CHECK (jsonb_typeof(scopes) = 'array' AND jsonb_array_length(scopes) >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX api_client_org_idx ON api_client (organisation_id, created_at, id);
CREATE INDEX api_client_list_idx ON api_client (created_at, id);

CREATE TABLE api_client_secret (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id   uuid NOT NULL REFERENCES api_client (id),
    secret_hash bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz, -- NULL while current; the end of the overlap once superseded
    revoked_at  timestamptz
);
CREATE INDEX api_client_secret_client_idx ON api_client_secret (client_id);
