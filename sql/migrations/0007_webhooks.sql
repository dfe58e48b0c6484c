-- 0007: webhooks (server/webhooks.c). A licensee subscribes a URL to events of its organisation;
-- a change writes one outbox row per matching subscription in the change's own transaction, and
-- a background worker delivers the rows, signed as Standard Webhooks says, recording every
-- attempt.

CREATE TABLE webhook_subscription (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events          text[] NOT NULL CHECK (cardinality(events) >= 1),
    -- "whsec_" + base64 of 32 random bytes; needed in clear to sign, never sent after creation.
    secret          text NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'failing')),
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscription_org_idx ON webhook_subscription (organisation_id, status);
CREATE INDEX webhook_subscription_list_idx ON webhook_subscription (created_at, id);

-- One message to one subscription. `body` is the exact JSON sent on every attempt (so the
-- signature covers the same bytes each time); the row id is the stable webhook-id.
CREATE TABLE webhook_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id uuid NOT NULL REFERENCES webhook_subscription (id) ON DELETE CASCADE,
    event           text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_subscription_idx ON webhook_outbox (subscription_id);

-- Every delivery attempt: the HTTP status, or the transport error, and how long it took.
CREATE TABLE webhook_delivery (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    outbox_id       uuid NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    subscription_id uuid NOT NULL REFERENCES webhook_subscription (id) ON DELETE CASCADE,
    attempt         integer NOT NULL,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    status_code     integer,
    error           text,
    duration_ms     integer NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead'))
);
CREATE INDEX webhook_delivery_list_idx
    ON webhook_delivery (subscription_id, attempted_at DESC, id DESC);

-- The daily expiry job's memory: one row per subject, days ahead and end date, so the job run
-- twice on one day (a restart, a second instance) enqueues nothing twice.
CREATE TABLE webhook_expiry_sent (
    kind       text NOT NULL CHECK (kind IN ('facilitator', 'licence')),
    subject_id uuid NOT NULL,
    days_ahead integer NOT NULL,
    ends_on    date NOT NULL,
    sent_on    date NOT NULL DEFAULT registry_today(),
    PRIMARY KEY (kind, subject_id, days_ahead, ends_on)
);
