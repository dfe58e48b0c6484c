-- 0025: the licensing body's central contact, and "Ask about a place" (server/enquiries.c).

-- The licensing body's central contact (its family counsellors), edited at
-- /v1/settings/central-contact, shown on / and returned as central_contact by
-- /v1/public/providers. One row; nothing is shown until a name is set. feedback_email is where
-- the beta banner of the public pages sends feedback.
CREATE TABLE central_contact_setting (
    id             integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name           text CHECK (length(name) BETWEEN 1 AND 200),
    phone          text CHECK (length(phone) BETWEEN 1 AND 40),
    email          text CHECK (length(email) BETWEEN 3 AND 254),
    web_chat_url   text CHECK (length(web_chat_url) BETWEEN 8 AND 2000),
    opening_hours  text CHECK (length(opening_hours) BETWEEN 1 AND 300),
    feedback_email text CHECK (length(feedback_email) BETWEEN 3 AND 254),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1
);
INSERT INTO central_contact_setting DEFAULT VALUES;

-- An organisation takes enquiries from families when it turns them on; they go to its enquiry
-- address by e-mail, or to its webhook subscribed to enquiry.received.
ALTER TABLE organisation
    ADD COLUMN enquiries_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN enquiry_email text CHECK (length(enquiry_email) BETWEEN 3 AND 254);

-- Relayed, not kept: each enquiry waits here only until it is delivered (then the row is
-- deleted), at most 7 days (then it is deleted and counted as failed). `sealed` is the whole
-- enquiry encrypted with AES-256-GCM (12-byte nonce, ciphertext, 16-byte tag; the organisation's
-- id is the additional data) under the key of REGISTRY_ENQUIRY_KEY_FILE: nothing a family wrote
-- is stored in the clear. last_error holds a transport error only, never any content.
CREATE TABLE enquiry_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    who             text NOT NULL CHECK (who IN ('self', 'family_member', 'professional')),
    sealed          bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text CHECK (length(last_error) <= 200)
);
CREATE INDEX enquiry_outbox_due_idx ON enquiry_outbox (next_attempt_at);
CREATE INDEX enquiry_outbox_created_idx ON enquiry_outbox (created_at);

-- What stays: how many enquiries an organisation received in a month (UK calendar, the month
-- the enquiry was sent), by who sent them and whether they were delivered.
CREATE TABLE enquiry_count (
    organisation_id uuid NOT NULL REFERENCES organisation (id),
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    who             text NOT NULL CHECK (who IN ('self', 'family_member', 'professional')),
    result          text NOT NULL CHECK (result IN ('delivered', 'failed')),
    n               integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (organisation_id, month, who, result)
);
