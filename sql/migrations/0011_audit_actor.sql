-- 0011: the audit trail names its actor as they were when they acted. actor_type says who acted
-- (a signed-in user, an API client, the command line, or the service itself); actor_email and
-- actor_role are copied at write time, so a later change of email or role does not rewrite the
-- trail. Rows written before this migration leave all three NULL. Two indexes serve the new
-- newest-first listing filtered by actor and by time.
ALTER TABLE audit_event
    ADD COLUMN actor_type text
        CHECK (actor_type IN ('user', 'api_client', 'command_line', 'system')),
    ADD COLUMN actor_email text,
    ADD COLUMN actor_role text;
CREATE INDEX audit_event_actor_idx ON audit_event (actor_id, id);
CREATE INDEX audit_event_at_idx ON audit_event (at);
