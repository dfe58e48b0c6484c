-- 0009: employment requests, and licence history on effective dates.
--
-- An organisation no longer takes on a registered facilitator by itself: it asks
-- (POST /v1/facilitators/{id}/employment-requests) and the licensing body approves or declines.
-- At most one pending request per facilitator and organisation.
CREATE TABLE facilitator_employment_request (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    facilitator_id  uuid NOT NULL REFERENCES facilitator (id),
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    starts_on       date NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'declined')),
    reason          text CHECK (reason IS NULL OR char_length(reason) BETWEEN 1 AND 500),
    requested_by    uuid,
    decided_by      uuid,
    decided_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX facilitator_employment_request_pending_idx
    ON facilitator_employment_request (facilitator_id, organisation_id) WHERE status = 'pending';
CREATE INDEX facilitator_employment_request_fac_idx
    ON facilitator_employment_request (facilitator_id, created_at, id);

-- Licence history carries the day a change takes effect (UK calendar), not only when it was
-- recorded. Rows recorded so far took effect the day they were recorded; a row written without
-- effective_on takes effect the day it is recorded (changed_at), and keeps following changed_at
-- when that is corrected, unless it was given a day of its own.
ALTER TABLE licence_status_history ADD COLUMN effective_on date;
UPDATE licence_status_history SET effective_on = (changed_at AT TIME ZONE 'Europe/London')::date;
ALTER TABLE licence_status_history ALTER COLUMN effective_on SET NOT NULL;

CREATE FUNCTION licence_status_history_effective() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.effective_on := coalesce(NEW.effective_on,
                                     (NEW.changed_at AT TIME ZONE 'Europe/London')::date);
    ELSIF NEW.changed_at IS DISTINCT FROM OLD.changed_at
          AND NEW.effective_on = OLD.effective_on
          AND OLD.effective_on = (OLD.changed_at AT TIME ZONE 'Europe/London')::date THEN
        NEW.effective_on := (NEW.changed_at AT TIME ZONE 'Europe/London')::date;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER licence_status_history_effective_trg
    BEFORE INSERT OR UPDATE ON licence_status_history
    FOR EACH ROW EXECUTE FUNCTION licence_status_history_effective();
CREATE INDEX licence_status_history_effective_idx
    ON licence_status_history (licence_id, effective_on, id);

-- A licence's status on a date: its latest change in effect by that day, read through expiry.
CREATE OR REPLACE FUNCTION licence_status_on(licence_id uuid, on_date date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT licence_effective_status(h.status, h.valid_until, on_date)
    FROM licence_status_history h
    WHERE h.licence_id = $1 AND h.effective_on <= on_date
    ORDER BY h.effective_on DESC, h.id DESC
    LIMIT 1
$$;

-- 1 when the organisation held a licence that was active on the date (and covered it).
CREATE OR REPLACE FUNCTION organisation_licensed_on(org uuid, on_date date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1
        FROM licence l
        JOIN LATERAL (
            SELECT h.status, h.valid_from, h.valid_until
            FROM licence_status_history h
            WHERE h.licence_id = l.id AND h.effective_on <= on_date
            ORDER BY h.effective_on DESC, h.id DESC
            LIMIT 1
        ) s ON true
        WHERE l.organisation_id = org
          AND licence_effective_status(s.status, s.valid_until, on_date) = 'active'
          AND on_date BETWEEN s.valid_from AND s.valid_until
    )
$$;

-- A grant of accreditation (in training -> accredited) takes effect on accredited_on, however
-- late it is recorded (a course outcome entered days after the course ended): never before the
-- facilitator's previous change took effect. Other changes take effect on the effective_on given
-- (default: the day they are recorded).
CREATE FUNCTION facilitator_status_history_grant() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev record;
BEGIN
    IF NEW.status <> 'accredited' OR NEW.accredited_on IS NULL
       OR NEW.accredited_on >= NEW.effective_on THEN
        RETURN NEW;
    END IF;
    SELECT h.status, h.effective_on INTO prev
    FROM facilitator_status_history h
    WHERE h.facilitator_id = NEW.facilitator_id
    ORDER BY h.effective_on DESC, h.id DESC
    LIMIT 1;
    IF FOUND AND prev.status = 'in_training' THEN
        NEW.effective_on := greatest(NEW.accredited_on, prev.effective_on);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER facilitator_status_history_grant_trg
    BEFORE INSERT ON facilitator_status_history
    FOR EACH ROW EXECUTE FUNCTION facilitator_status_history_grant();

-- Grants recorded so far: effective on accredited_on in the same way (a facilitator whose
-- accreditation was recorded after the day it was granted read as not accredited in between).
UPDATE facilitator_status_history h
SET effective_on = greatest(h.accredited_on, p.effective_on)
FROM facilitator_status_history p
WHERE h.status = 'accredited' AND h.accredited_on IS NOT NULL
  AND h.accredited_on < h.effective_on
  AND p.id = (SELECT x.id FROM facilitator_status_history x
              WHERE x.facilitator_id = h.facilitator_id
                AND (x.effective_on, x.id) < (h.effective_on, h.id)
              ORDER BY x.effective_on DESC, x.id DESC LIMIT 1)
  AND p.status = 'in_training';

-- A change dated in the future is scheduled: its history row is written now (so a verdict for a
-- later date already reads it) with `scheduled`, and the facilitator's or licence's own row
-- takes it on the day it takes effect (registry_apply_scheduled, run by the daily job and before
-- every change to the same row). A later change replaces a change still scheduled.
ALTER TABLE facilitator_status_history ADD COLUMN scheduled boolean NOT NULL DEFAULT false;
ALTER TABLE licence_status_history ADD COLUMN scheduled boolean NOT NULL DEFAULT false;
CREATE INDEX facilitator_status_history_scheduled_idx
    ON facilitator_status_history (effective_on) WHERE scheduled;
CREATE INDEX licence_status_history_scheduled_idx
    ON licence_status_history (effective_on) WHERE scheduled;

-- Applies every scheduled change due by today (for one facilitator or licence when `one` is
-- given, else all): the row takes the latest due change's values. Returns how many rows changed.
CREATE FUNCTION registry_apply_scheduled(one uuid DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    m integer;
BEGIN
    WITH due AS (
        SELECT DISTINCT ON (h.facilitator_id) h.facilitator_id, h.status, h.accredited_on,
               h.accredited_until, h.reason
        FROM facilitator_status_history h
        WHERE h.scheduled AND h.effective_on <= registry_today()
          AND (one IS NULL OR h.facilitator_id = one)
        ORDER BY h.facilitator_id, h.effective_on DESC, h.id DESC
    ), u AS (
        UPDATE facilitator f SET status = due.status,
            accredited_on = coalesce(due.accredited_on, f.accredited_on),
            accredited_until = coalesce(due.accredited_until, f.accredited_until),
            reason = due.reason, updated_at = now(), version = f.version + 1
        FROM due WHERE f.id = due.facilitator_id
        RETURNING f.id
    ), d AS (
        UPDATE facilitator_status_history h SET scheduled = false
        FROM u WHERE h.facilitator_id = u.id AND h.scheduled
          AND h.effective_on <= registry_today()
    )
    SELECT count(*) INTO n FROM u;
    WITH due AS (
        SELECT DISTINCT ON (h.licence_id) h.licence_id, h.status, h.valid_from, h.valid_until,
               h.reason
        FROM licence_status_history h
        WHERE h.scheduled AND h.effective_on <= registry_today()
          AND (one IS NULL OR h.licence_id = one)
        ORDER BY h.licence_id, h.effective_on DESC, h.id DESC
    ), u AS (
        UPDATE licence l SET status = due.status, valid_from = due.valid_from,
            valid_until = due.valid_until, reason = due.reason, updated_at = now(),
            version = l.version + 1
        FROM due WHERE l.id = due.licence_id
        RETURNING l.id
    ), d AS (
        UPDATE licence_status_history h SET scheduled = false
        FROM u WHERE h.licence_id = u.id AND h.scheduled AND h.effective_on <= registry_today()
    )
    SELECT count(*) INTO m FROM u;
    RETURN n + m;
END
$$;
