-- Our own short-lived pane sessions (JWT `sid`): logout revokes the row, so a stolen token dies with it.
CREATE TABLE sessions (
    id          UUID PRIMARY KEY,
    mailbox_id  UUID NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX sessions_mailbox ON sessions (mailbox_id);
