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
