-- Identities that signed in through the add-in, their pairing with one CRM user, encrypted secrets,
-- preferences, the audit trail and the leased job queue shared by all server replicas.

CREATE TABLE mailboxes (
    id            UUID PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, object_id)
);

-- One mailbox is paired with one CRM user at a time (the guide: unpair before changing the account).
CREATE TABLE pairings (
    id              UUID PRIMARY KEY,
    mailbox_id      UUID NOT NULL UNIQUE REFERENCES mailboxes(id) ON DELETE CASCADE,
    crm_address     TEXT NOT NULL,
    crm_username    TEXT NOT NULL,
    crm_user_id     TEXT NOT NULL,
    calendar_id     TEXT NOT NULL,
    calendar_name   TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Secrets are AEAD-encrypted; `key_id` names the key that sealed them so keys can rotate.
CREATE TABLE secrets (
    mailbox_id  UUID NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    nonce       BYTEA NOT NULL,
    ciphertext  BYTEA NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox_id, kind)
);

CREATE TABLE preferences (
    mailbox_id  UUID PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    settings    JSONB NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Who changed what, when. Never holds secrets.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    mailbox_id  UUID,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      JSONB NOT NULL DEFAULT '{}'::jsonb,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_mailbox ON audit_log (mailbox_id, at);

-- Leased jobs: workers claim due rows with FOR UPDATE SKIP LOCKED and hold them until `locked_until`;
-- a crashed worker's lease simply expires. One row per (pairing, kind) so a pairing never runs twice at once.
CREATE TABLE jobs (
    id            BIGSERIAL PRIMARY KEY,
    pairing_id    UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    run_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until  TIMESTAMPTZ,
    locked_by     TEXT,
    attempts      INT NOT NULL DEFAULT 0,
    last_error    TEXT,
    UNIQUE (pairing_id, kind)
);
CREATE INDEX jobs_due ON jobs (run_at);

CREATE TABLE login_throttle (
    mailbox_id      UUID PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    failures        INT NOT NULL DEFAULT 0,
    cooldown_until  TIMESTAMPTZ
);
