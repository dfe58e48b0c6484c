-- 0012: sign-in throttling by account and client address, and per-principal token epochs.
--
-- login_attempt replaces login_failure (0001), which is no longer read or written; it stays so
-- that an instance of the previous release still running against this database keeps working.
-- A row is one password check: in flight while failed_at is NULL, a failure once it is set; a
-- success deletes its own row and the failures of its account and address.
CREATE TABLE login_attempt (
    id         bigserial PRIMARY KEY,
    email_key  text NOT NULL,        -- the lower-cased email, known or not
    address    text NOT NULL,        -- the client address the router computed
    started_at timestamptz NOT NULL DEFAULT now(),
    failed_at  timestamptz
);
CREATE INDEX login_attempt_key_idx ON login_attempt (email_key, address, started_at);
CREATE INDEX login_attempt_started_idx ON login_attempt (started_at);

-- The token epoch of a principal (a user or an API client). Access tokens carry the epoch their
-- principal had when they were issued (claim "ep", 0 when there is no row); a token whose epoch is
-- older than the principal's is refused. xid is the transaction that last moved the epoch, so a
-- server can read only what changed since its last look (see auth.c).
CREATE TABLE principal_epoch (
    principal_id uuid PRIMARY KEY,
    epoch        bigint NOT NULL,
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    changed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX principal_epoch_xid_idx ON principal_epoch (xid);

CREATE FUNCTION principal_epoch_bump(principal uuid) RETURNS void LANGUAGE sql AS $$
    INSERT INTO principal_epoch AS e (principal_id, epoch) VALUES (principal, 1)
    ON CONFLICT (principal_id) DO UPDATE
        SET epoch = e.epoch + 1, xid = pg_current_xact_id(), changed_at = now()
$$;

-- A user disabled, or given another role or organisation: their access tokens end.
CREATE FUNCTION app_user_epoch_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.disabled AND NOT OLD.disabled) OR NEW.role IS DISTINCT FROM OLD.role
       OR NEW.organisation_id IS DISTINCT FROM OLD.organisation_id THEN
        PERFORM principal_epoch_bump(NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER app_user_epoch AFTER UPDATE OF disabled, role, organisation_id ON app_user
    FOR EACH ROW EXECUTE FUNCTION app_user_epoch_trigger();

-- An API client revoked (DELETE /v1/clients/{id}): its access tokens end.
CREATE FUNCTION api_client_epoch_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        PERFORM principal_epoch_bump(NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER api_client_epoch AFTER UPDATE OF revoked_at ON api_client
    FOR EACH ROW EXECUTE FUNCTION api_client_epoch_trigger();

-- A licence that stops being active (suspended, revoked, expired by a replacement): the access
-- tokens of its organisation's API clients end.
CREATE FUNCTION licence_epoch_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'active' AND NEW.status <> 'active' THEN
        PERFORM principal_epoch_bump(c.id) FROM api_client c
         WHERE c.organisation_id = NEW.organisation_id AND c.revoked_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER licence_epoch AFTER UPDATE OF status ON licence
    FOR EACH ROW EXECUTE FUNCTION licence_epoch_trigger();

-- An organisation archived: its API clients get no tokens (cli_auth) and theirs end.
CREATE FUNCTION organisation_epoch_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.archived_at IS NOT NULL AND OLD.archived_at IS NULL THEN
        PERFORM principal_epoch_bump(c.id) FROM api_client c
         WHERE c.organisation_id = NEW.id AND c.revoked_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisation_epoch AFTER UPDATE OF archived_at ON organisation
    FOR EACH ROW EXECUTE FUNCTION organisation_epoch_trigger();
