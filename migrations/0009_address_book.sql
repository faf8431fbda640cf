-- CRM contacts copied into the mailbox's "CRM" contact folder ("Lisää liitetyt CRM kontaktit Outlookin
-- osoitekirjaan"), with a hash of what was written so unchanged contacts cost nothing.
CREATE TABLE address_book (
    pairing_id      UUID NOT NULL REFERENCES pairings(id) ON DELETE CASCADE,
    crm_contact_id  TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pairing_id, crm_contact_id)
);
