-- Email sync: attachments uploaded with a saved email (so saving again uploads nothing twice), the
-- mail-folder delta cursors of automatic email tracking, and its create intents.

-- One row per attachment already in the CRM; the key is the attachment's name and size.
CREATE TABLE saved_email_files (
    pairing_id           UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    internet_message_id  TEXT NOT NULL,
    attachment_key       TEXT NOT NULL,
    crm_file_id          TEXT NOT NULL,
    uploaded_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, internet_message_id, attachment_key)
);

-- How an email reached the CRM: saved by hand or tracked automatically.
ALTER TABLE saved_emails ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';

-- Graph's deltaLink per tracked folder (`inbox`, `sentitems`). `since` is the receivedDateTime the
-- round started from; `synced_at` is the start of the last complete round (a 410 restarts from a
-- little before it, so nothing between is missed). Deleted when tracking is switched off.
CREATE TABLE mail_cursors (
    pairing_id  UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    folder      TEXT NOT NULL,
    delta_link  TEXT,
    since       TIMESTAMPTZ NOT NULL,
    synced_at   TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, folder)
);

-- Written before a tracked email is POSTed to the CRM and removed with the status record; a run that
-- finds one looks the email up by its internetMessageId before creating it again.
CREATE TABLE mail_intents (
    pairing_id           UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    internet_message_id  TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, internet_message_id)
);
