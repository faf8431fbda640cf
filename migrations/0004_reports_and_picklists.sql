-- Error reports the user agreed to send (scrubbed before storage), and the CRM picklists cached per
-- pairing (refreshed by sync runs, so new activity types appear without re-saving the settings).
CREATE TABLE error_reports (
    id          BIGSERIAL PRIMARY KEY,
    mailbox_id  UUID REFERENCES mailboxes(id) ON DELETE SET NULL,
    message     TEXT NOT NULL,
    context     TEXT,
    client_version TEXT,
    host        TEXT,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE picklist_cache (
    pairing_id  UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    entries     JSONB NOT NULL,
    fetched_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, name)
);
