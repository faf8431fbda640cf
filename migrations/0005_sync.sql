-- The sync engine's persistent state per pairing.

-- The status table (sync-core's `StatusRow`, one per linked pair). Each side's id is unique within a
-- pairing, so a pair can never be linked twice.
CREATE TABLE sync_rows (
    pairing_id  UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    crm_id      TEXT NOT NULL,
    outlook_id  TEXT NOT NULL,
    row         JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, crm_id),
    UNIQUE (pairing_id, outlook_id)
);

-- Cursors: Graph's opaque deltaLink (bound to the window it was started with) and the CRM watermark.
CREATE TABLE sync_cursors (
    pairing_id          UUID PRIMARY KEY REFERENCES pairings(id) ON DELETE CASCADE,
    delta_link          TEXT,
    delta_window_start  TIMESTAMPTZ,
    delta_window_end    TIMESTAMPTZ,
    crm_watermark       TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- CRM has no idempotency keys: a create intent is written before the POST, and a retry looks the
-- activity up by the intent's key before creating again.
CREATE TABLE crm_create_intents (
    pairing_id       UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    outlook_id       TEXT NOT NULL,
    crm_id           TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, idempotency_key)
);

-- What each run did, for the pane's status view and for metrics.
CREATE TABLE sync_runs (
    id              BIGSERIAL PRIMARY KEY,
    pairing_id      UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    direction       TEXT NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    outcome         TEXT NOT NULL DEFAULT 'running',
    counts          JSONB NOT NULL DEFAULT '{}'::jsonb,
    errors          JSONB NOT NULL DEFAULT '[]'::jsonb,
    progress_done   INT NOT NULL DEFAULT 0,
    progress_total  INT NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_recent ON sync_runs (pairing_id, started_at DESC);

-- Per-item state the pane shows ("synced / pending / excluded and why").
CREATE TABLE sync_item_states (
    pairing_id  UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    outlook_id  TEXT NOT NULL,
    crm_id      TEXT,
    state       TEXT NOT NULL,
    reasons     JSONB NOT NULL DEFAULT '[]'::jsonb,
    conflicts   JSONB NOT NULL DEFAULT '[]'::jsonb,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, outlook_id)
);

-- Graph change-notification subscriptions; `client_state` is a random secret per subscription
-- (stored hashed: verifying needs only equality).
CREATE TABLE graph_subscriptions (
    id                 TEXT PRIMARY KEY,
    pairing_id         UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    client_state_hash  BYTEA NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX graph_subscriptions_expiry ON graph_subscriptions (expires_at);

-- Emails saved to the CRM, deduplicated by internetMessageId.
CREATE TABLE saved_emails (
    pairing_id           UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    internet_message_id  TEXT NOT NULL,
    crm_email_id         TEXT NOT NULL,
    saved_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, internet_message_id)
);
