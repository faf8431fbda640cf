-- What the user chose in the item pane for an Outlook entry that is not in the CRM yet: applied when
-- the sync creates its activity.
CREATE TABLE item_choices (
    pairing_id  UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    outlook_id  TEXT NOT NULL,
    status      TEXT,
    relations   JSONB NOT NULL DEFAULT '{}'::jsonb,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, outlook_id)
);
