-- 0036: e-mail reminders (server/reminders.c).
--
-- An organisation receives reminders at its contact address (organisation.email) unless it turns
-- them off (reminders_enabled); the licensing body's copy goes to REGISTRY_LICENSING_BODY_EMAIL
-- whatever the organisation chose.
ALTER TABLE organisation ADD COLUMN reminders_enabled boolean NOT NULL DEFAULT true;

-- One row per reminder and recipient. The unique key (event, object_id, threshold, audience) makes
-- each reminder once: the daily job and the enrolment trigger insert with ON CONFLICT DO NOTHING,
-- and a row stays after it is sent (status sent), so a restart or a second run of the day queues
-- nothing again. `threshold` says which reminder of the object it is: for a licence or an
-- accreditation the days before the end and the end date ('90:2027-03-31', so a renewed licence
-- gets its own), for a run at risk the facilitator and its status, for a training place the
-- enrolment's version. `data` holds the template's values as they were when queued. The recipient
-- is looked up when it is sent (the organisation's contact, its preference) and kept in
-- `recipient`. Pending rows are retried with backoff; after 7 days they are failed.
CREATE TABLE reminder_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event           text NOT NULL CHECK (event IN ('licence_ending', 'accreditation_ending',
                                                   'run_at_risk', 'training_confirmed',
                                                   'training_withdrawn')),
    object_id       uuid NOT NULL,
    threshold       text NOT NULL CHECK (char_length(threshold) BETWEEN 1 AND 100),
    audience        text NOT NULL CHECK (audience IN ('organisation', 'licensing_body')),
    organisation_id uuid REFERENCES organisation (id) ON DELETE CASCADE,
    day             date NOT NULL,
    data            jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text CHECK (length(last_error) <= 200),
    recipient       text CHECK (length(recipient) <= 254),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (event, object_id, threshold, audience),
    CHECK (audience = 'licensing_body' OR organisation_id IS NOT NULL)
);
CREATE INDEX reminder_outbox_due_idx ON reminder_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX reminder_outbox_org_idx ON reminder_outbox (organisation_id);

-- A training place confirmed (an enrolment made, or made again after a withdrawal) or withdrawn
-- is queued in the transaction of the change, for the nominating organisation (the nominating
-- user's, else the facilitator's current employer) and the licensing body.
CREATE FUNCTION reminder_enrolment_trg() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org uuid;
    d jsonb;
BEGIN
    IF NEW.status NOT IN ('enrolled', 'withdrawn')
       OR (TG_OP = 'UPDATE' AND NEW.status = OLD.status) THEN
        RETURN NULL;
    END IF;
    org := coalesce((SELECT u.organisation_id FROM app_user u WHERE u.id = NEW.nominated_by),
                    (SELECT m.organisation_id FROM facilitator_employment m
                     WHERE m.facilitator_id = NEW.facilitator_id AND m.ended_on IS NULL));
    SELECT jsonb_build_object(
               'organisation_name', coalesce(o.name, 'no organisation'),
               'facilitator_name', f.given_name || ' ' || f.family_name,
               'registration_number', f.registration_number,
               'course_title', c.title,
               'starts_on', to_char(s.starts_on, 'FMDD FMMonth YYYY'),
               'ends_on', to_char(s.ends_on, 'FMDD FMMonth YYYY'),
               'venue', coalesce(s.venue, l.name || ', ' || l.town, ''))
      INTO d
      FROM training_session s
      JOIN course c ON c.id = s.course_id
      JOIN facilitator f ON f.id = NEW.facilitator_id
      LEFT JOIN location l ON l.id = s.location_id
      LEFT JOIN organisation o ON o.id = org
     WHERE s.id = NEW.session_id;
    INSERT INTO reminder_outbox (event, object_id, threshold, audience, organisation_id, day, data)
    SELECT CASE NEW.status WHEN 'enrolled' THEN 'training_confirmed' ELSE 'training_withdrawn' END,
           NEW.id, 'v' || NEW.version, a.audience, org, registry_today(), d
      FROM (VALUES ('organisation'), ('licensing_body')) a (audience)
     WHERE a.audience = 'licensing_body' OR org IS NOT NULL
    ON CONFLICT (event, object_id, threshold, audience) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER reminder_enrolment AFTER INSERT OR UPDATE OF status ON enrolment
    FOR EACH ROW EXECUTE FUNCTION reminder_enrolment_trg();
